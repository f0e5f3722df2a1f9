"""ProConnect, the French State's identity federation for public agents and professionals, as an allauth
OpenID Connect provider (provider id ``proconnect``), configured from the environment (settings.py).

allauth's generic ``openid_connect`` provider reads the userinfo answer as JSON, but ProConnect answers a
signed JWT (``application/jwt``), requires a ``nonce`` that allauth does not send, and names the family name
``usual_name``: this package is that provider with those three differences (``views.py`` for the protocol,
``provider.py`` for the claims). Who the person is inside Guichet CLACT (role, region) never comes from
ProConnect: an account is matched by its verified e-mail, a new person is a plain applicant.
"""
