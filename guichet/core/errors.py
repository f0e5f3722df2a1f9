"""The site's error pages that need more than a template: a server error with a reference the user can quote
(the same reference is logged with the exception), and a CSRF failure explained in French.

The 404 and 403 pages are Django's own handlers with templates/404.html and templates/403.html.
"""

import logging
import secrets
import sys

from django.http import HttpResponseForbidden, HttpResponseServerError
from django.shortcuts import render
from django.utils.html import escape

logger = logging.getLogger("guichet.errors")

# Shown when the site's layout itself cannot render (the database may be what failed): no tag, no query.
PLAIN_PAGE = """<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Erreur du serveur — Guichet CLACT</title><link rel="stylesheet" href="/static/guichet/error.css"></head>
<body class="guichet-error-page">
  <p>République française — Guichet CLACT</p>
  <h1>Une erreur est survenue de notre côté</h1>
  <p>La page n'a pas pu être affichée. L'équipe technique en est informée. Ce que vous aviez enregistré n'est pas
  perdu.</p>
  <p>Référence de l'erreur : <strong>{reference}</strong></p>
  <p>Réessayez dans quelques minutes ; si l'erreur persiste, écrivez à l'ARS de votre région en donnant cette
  référence.</p>
  <p><a href="/">Revenir à l'accueil</a></p>
</body>
</html>
"""


def new_reference() -> str:
    """Short enough to read over the phone, random enough not to repeat between two errors of a day."""
    return "E-" + secrets.token_hex(4).upper()


def server_error(request):
    """handler500: log the exception under a fresh reference, then show the reference on a DSFR page."""
    reference = new_reference()
    logger.error("Erreur serveur %s sur %s", reference, request.path, exc_info=sys.exc_info())
    try:
        response = render(request, "500.html", {"reference": reference, "page_title": "Erreur du serveur"})
    except Exception:  # the layout needs the database and the session: the plain page needs nothing
        logger.exception("Erreur serveur %s : la page d'erreur du site n'a pas pu être affichée", reference)
        return HttpResponseServerError(PLAIN_PAGE.format(reference=escape(reference)))
    response.status_code = 500
    return response


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: most often a form left open past its session, or cookies refused by the browser."""
    logger.warning("CSRF refusé sur %s : %s", request.path, reason)
    try:
        response = render(request, "403_csrf.html", {"page_title": "Formulaire expiré"})
    except Exception:
        logger.exception("La page d'échec CSRF n'a pas pu être affichée")
        return HttpResponseForbidden("Le formulaire a expiré. Revenez à la page précédente et rechargez-la.")
    response.status_code = 403
    return response
