"""Per-instructor notification preferences, and who among the ARS staff is e-mailed about a dossier.

``staff_recipients(dossier, kind)`` is what the e-mail tasks call (dossiers and messaging notifications):

- ``"filed"`` (a dossier was filed): the instructors of the region who asked for every filing of the call,
  plus the members of the dossier's group who kept the default (filings of my groups);
- ``"message"`` (the applicant wrote): the followers of the dossier; nobody follows it → the members of its
  group; no group → every instructor of the region; then those who turned messages off are left out;
- ``"corrections"`` (the applicant filed corrections): the followers; nobody follows it → the members of
  its group; those who turned corrections off are left out.

Without a saved preference a user has the defaults of ``NotificationPreference`` (filings of my groups,
messages and corrections on). Digest subscribers get ``send_digests`` instead of one e-mail per filing.
"""

from django.db.models import Q

from guichet.accounts.models import Role, User
from guichet.dossiers.models import Dossier

from .groups import group_members, staff_of_call
from .models import NewDossierNotice, NotificationPreference

KINDS = ("filed", "message", "corrections")


def preference(user, call) -> NotificationPreference:
    """The user's preference for the call (an unsaved one holding the defaults if none is stored)."""
    found = NotificationPreference.objects.filter(user_id=user.pk, call_id=call.pk).first()
    return found or NotificationPreference(user=user, call=call)


def _opted_out(call, kind):
    """Q on users excluded by their saved preference for this call."""
    prefs = NotificationPreference.objects.filter(call_id=call.pk)
    if kind == "message":
        return Q(pk__in=prefs.filter(on_message=False).values("user_id"))
    return Q(pk__in=prefs.filter(on_corrections=False).values("user_id"))


def staff_recipients(dossier: Dossier, kind: str) -> list[str]:
    """Sorted e-mail addresses of the ARS staff to tell (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(kind)
    call = dossier.call
    if kind == "filed":
        prefs = NotificationPreference.objects.filter(call_id=call.pk)
        every = Q(pk__in=prefs.filter(on_new_dossier=NewDossierNotice.EACH).values("user_id"))
        chose_other = prefs.exclude(on_new_dossier=NewDossierNotice.GROUP).values("user_id")
        members = Q(pk__in=group_members(dossier).exclude(pk__in=chose_other).values("pk"))
        users = staff_of_call(call.region_id).filter(every | members)
    else:
        users = dossier.followers.filter(is_active=True)
        if not users.exists():
            users = group_members(dossier)
            if kind == "message" and not users.exists():
                users = User.objects.filter(role=Role.INSTRUCTOR, region_id=call.region_id, is_active=True)
        users = users.exclude(_opted_out(call, kind))
    return sorted(set(users.values_list("email", flat=True)))


def digest_subscribers(call):
    """Active region staff who chose the daily digest for this call."""
    return staff_of_call(call.region_id).filter(
        notification_preferences__call_id=call.pk,
        notification_preferences__on_new_dossier=NewDossierNotice.DIGEST)
