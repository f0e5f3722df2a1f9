"""Unread messages: what a user has not seen yet in the threads they take part in.

A message is unread by a user when it comes from the other side (the ARS for an applicant, the applicant for
ARS staff), was not written by them, is not deleted, and was posted after they last viewed that dossier's
thread (``ThreadRead``, set by the messagerie page). Counts are single queries, whatever the number of
dossiers, so that lists and the home page can show them.
"""

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from guichet.accounts.permissions import is_ars_staff

from .models import Message, ThreadRead
from .services import threads_visible_to


def mark_read(user, dossier, when=None) -> None:
    """Record that ``user`` has seen the thread of ``dossier`` as it was at ``when`` (now by default)."""
    ThreadRead.objects.update_or_create(user=user, dossier=dossier,
                                        defaults={"last_read_at": when or timezone.now()})


def unread_for(user):
    """The messages unread by ``user`` in the threads they may read (callers narrow them to the dossiers in
    view)."""
    if not user.is_authenticated:
        return Message.objects.none()
    seen = ThreadRead.objects.filter(user=user, dossier_id=OuterRef("dossier_id"),
                                     last_read_at__gte=OuterRef("created_at"))
    return (Message.objects.visible().filter(from_ars=not is_ars_staff(user),
                                             dossier__in=threads_visible_to(user).values("pk"))
            .exclude(author_id=user.pk).exclude(Exists(seen)))


def unread_counts(user, dossier_ids) -> dict[int, int]:
    """Unread messages per dossier among ``dossier_ids`` (dossiers without any are left out); one query."""
    dossier_ids = list(dossier_ids)
    if not dossier_ids:
        return {}
    rows = (unread_for(user).filter(dossier_id__in=dossier_ids).order_by()
            .values("dossier_id").annotate(n=Count("pk")).values_list("dossier_id", "n"))
    return dict(rows)

