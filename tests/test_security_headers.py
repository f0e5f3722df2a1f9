"""The Content-Security-Policy's edges that the page crawler (tests/test_every_page.py) does not reach: the
server error page, rendered without context, and the ProConnect login, whose redirect to the provider the
policy's form-action must allow."""

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from guichet.settings import oidc_origins
from tests.test_every_page import InlineCodeFinder


def test_the_server_error_pages_are_styled_from_static_files():
    """The DSFR 500 page, and the plain page shown when the layout itself fails: no inline code either."""
    from guichet.core.errors import PLAIN_PAGE

    for page in (render_to_string("500.html", {"reference": "E-0000ABCD"}), PLAIN_PAGE):
        finder = InlineCodeFinder()
        finder.feed(page)
        assert finder.found == []
    assert '<link rel="stylesheet" href="/static/guichet/error.css">' in PLAIN_PAGE
    assert finders.find("guichet/error.css")


def test_form_action_allows_the_configured_openid_connect_providers():
    providers = {"proconnect": {"EMAIL_AUTHENTICATION": True, "APPS": [{
        "name": "ProConnect", "client_id": "id", "secret": "secret",
        "settings": {"server_url": "https://auth.agentconnect.gouv.fr/api/v2/.well-known/openid-configuration"}}]},
        "local": {"APPS": [{"settings": {"server_url": "http://127.0.0.1:9090/.well-known/openid-configuration"}}]}}
    assert oidc_origins(providers) == ["http://127.0.0.1:9090", "https://auth.agentconnect.gouv.fr"]
    assert oidc_origins({}) == oidc_origins(None) == []
    assert oidc_origins({"broken": {"APPS": [{"settings": {"server_url": "not a url"}}]}}) == []


def test_an_api_answer_carries_the_headers_too(client):
    response = client.get("/api/v1/openapi.json")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]
