"""The header's main navigation, computed from the user's roles in one place.

Each role sees the pages it works on: an applicant its dossiers, establishments and grants; ARS staff the
instruction, the establishment claims, the grants and payments, their own exports and their region's statistics
(never the applicant's pages, which would be empty for them); the national reader (ministry) the national
statistics only; whoever sits on a commission its sessions; whoever the admin site lets in
(ARS staff, superusers) the administration. Experts answer through a secret link and have no account
pages. Every item is a (key, label, URL name): the key matches the ``nav`` a view puts in its context, to
mark the current page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.urls import reverse

from guichet.accounts.permissions import is_applicant, is_ars_staff, is_national_reader, sits_on_a_commission


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url: str


def _item(key: str, label: str, url_name: str) -> NavItem:
    return NavItem(key, label, reverse(url_name))


def nav_items(user) -> list[NavItem]:
    """The main navigation of ``user`` (anonymous included), in display order."""
    items = [_item("calls", "Appels à projets", "calls:list")]
    if user is None or not user.is_authenticated:
        return items
    if is_ars_staff(user):
        items += [_item("instruction", "Espace instructeur", "instruction:calls"),
                  _item("claims", "Rattachements", "establishments:ars_claims"),
                  _item("funding", "Subventions et paiements", "funding:list"),
                  _item("statistics", "Statistiques", "reporting:region_statistics"),
                  _item("exports", "Mes exports", "reporting:mine")]
        if user.is_superuser:
            items.append(_item("national", "Statistiques nationales", "reporting:national_statistics"))
    elif is_national_reader(user):
        return items + [_item("national", "Statistiques nationales", "reporting:national_statistics")]
    elif is_applicant(user):
        items += [_item("dossiers", "Mes dossiers", "dossiers:mine"),
                  _item("establishments", "Mes établissements", "establishments:mine"),
                  _item("funding", "Mes subventions", "funding:mine")]
    if sits_on_a_commission(user):
        items.append(_item("commission", "Mes séances", "commission:my_sessions"))
    if user.is_staff and user.is_active:
        items.append(NavItem("admin", "Administration", reverse("admin:index")))
    return items


def main_navigation(request) -> dict:
    """Context processor: ``nav_items``, computed only when a template reads it (one query at most)."""
    return {"nav_items": partial(nav_items, getattr(request, "user", None))}
