"""URL patterns, included by guichet/instruction/urls.py."""

urlpatterns: list = []
