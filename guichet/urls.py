"""URL map of Guichet CLACT."""

from django.contrib import admin
from django.urls import include, path

from guichet.accounts.views import admin_login
from guichet.core import views as core_views

# The admin's login page is the site's login: rate-limited, with MFA (issue 11 point 2).
admin.site.login = admin_login

urlpatterns = [
    path("", core_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("comptes/", include("allauth.urls")),
    path("etablissements/", include("guichet.establishments.urls")),
    path("appels/", include("guichet.calls.urls")),
    path("appels/", include("guichet.reporting.urls_public")),
    path("dossiers/", include("guichet.dossiers.urls")),
    path("instruction/", include("guichet.instruction.urls")),
    path("messagerie/", include("guichet.messaging.urls")),
    path("avis/", include("guichet.experts.urls")),
    path("commission/", include("guichet.commission.urls")),
    path("subventions/", include("guichet.funding.urls")),
    path("api/v1/", include("guichet.api.urls")),
    path("paiements/", include("guichet.funding.urls_ars")),
    path("suivi/", include("guichet.reporting.urls")),
]

# 404 and 403 are Django's handlers with templates/404.html and 403.html; a server error needs a reference.
handler500 = "guichet.core.errors.server_error"
