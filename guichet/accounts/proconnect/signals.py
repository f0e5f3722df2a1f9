"""Audit records of ProConnect identities: who was linked to which account, with what organisation (SIRET).

An existing account found by its e-mail (``account:proconnect_linked``, ``new_account`` false) is the event
that matters most: from then on that ProConnect identity opens that account."""

from guichet.core import audit

from .views import PROVIDER_ID


def _record(request, sociallogin, new_account: bool) -> None:
    account = sociallogin.account
    if account.provider != PROVIDER_ID:
        return
    userinfo = account.extra_data.get("userinfo") or {}
    audit.record(sociallogin.user, "account:proconnect_linked", request=request, obj=account,
                 new_account=new_account, siret=account.extra_data.get("siret", ""),
                 idp_id=str(userinfo.get("idp_id") or ""), email=str(userinfo.get("email") or ""))


def linked_to_existing_account(sender, request, sociallogin, **kwargs):
    _record(request, sociallogin, new_account=False)


def signed_up(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is not None:
        _record(request, sociallogin, new_account=True)
