"""Instructor groups of a call: routing a dossier to a group when it is filed, reassigning it by hand.

- ``route(dossier)``: the group whose departments include the porteur establishment's department,
  else the call's default group, else none. Called once, when the dossier is filed (``on_filed``, a
  ``post_save`` listener on the ``filed`` history row, in the filing transaction): a dossier filed again
  after corrections keeps the group it has.
- ``assign(dossier, group, user)``: an instructor moves the dossier to another group of its call (or to
  none), recorded in the audit trail.
- ``group_members(dossier)``: the active ARS staff of the call's region in the dossier's group, the ones
  told of the dossier when nobody follows it (see ``preferences.staff_recipients``).

Groups do not restrict access: every instructor of the region sees every dossier of the call.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from guichet.accounts.models import Role, User
from guichet.core import audit
from guichet.dossiers.models import Dossier, DossierEvent, EventKind

from .models import DossierGroup, InstructorGroup


def normalize_department(code) -> str:
    """« 2a » → « 2A », « 7 » → « 07 »; a department code as the establishment stores it."""
    code = str(code or "").strip().upper()
    return code.zfill(2) if code.isdigit() and len(code) < 2 else code


def route_group(dossier: Dossier, groups=None) -> InstructorGroup | None:
    """The group a dossier of this establishment should go to (no write); ``groups``: the call's, if read."""
    department = normalize_department(dossier.establishment.department)
    default = None
    if groups is None:
        groups = InstructorGroup.objects.filter(call_id=dossier.call_id).order_by("name", "pk")
    for group in groups:
        if department and department in {normalize_department(d) for d in group.departments or []}:
            return group
        if group.is_default and default is None:
            default = group
    return default


def group_of(dossier: Dossier) -> InstructorGroup | None:
    link = DossierGroup.objects.select_related("group").filter(dossier_id=dossier.pk).first()
    return link.group if link else None


def route(dossier: Dossier) -> InstructorGroup | None:
    """Assign a dossier that has no group yet to its routed group; returns its group."""
    groups = list(InstructorGroup.objects.filter(call_id=dossier.call_id).order_by("name", "pk"))
    if not groups:  # a dossier's link is always to a group of its call (``assign``): no link to keep or make
        return None
    current = group_of(dossier)
    if current is not None:
        return current
    group = route_group(dossier, groups)
    if group is not None:
        DossierGroup.objects.get_or_create(dossier_id=dossier.pk, defaults={"group": group})
    return group


@transaction.atomic
def assign(dossier: Dossier, group: InstructorGroup | None, user, request=None) -> bool:
    """Move the dossier to ``group`` (None: no group). True when something changed."""
    if group is not None and group.call_id != dossier.call_id:
        raise ValidationError("Ce groupe instructeur n'appartient pas à l'appel à projets du dossier.")
    link = DossierGroup.objects.select_for_update().filter(dossier_id=dossier.pk).first()
    previous = link.group if link else None
    if previous == group:
        return False
    if group is None:
        link.delete()
    elif link is None:
        DossierGroup.objects.create(dossier=dossier, group=group)
    else:
        link.group = group
        link.save(update_fields=["group", "assigned_at"])
    audit.record(user, "assignment", dossier=dossier, request=request,
                 group=group.name if group else "", group_id=group.pk if group else None,
                 previous=previous.name if previous else "")
    return True


def staff_of_call(call_or_region_id):
    """Active ARS staff (instructors and administrators) of a region: who may be group members."""
    return User.objects.filter(role__in=(Role.INSTRUCTOR, Role.ADMIN), region_id=call_or_region_id,
                               is_active=True)


def group_members(dossier: Dossier):
    """The active region staff in the dossier's group (an empty queryset without a group)."""
    return staff_of_call(dossier.call.region_id).filter(
        instructor_groups__dossier_links__dossier_id=dossier.pk).distinct()


@receiver(post_save, sender=DossierEvent, dispatch_uid="instruction.route_on_filing")
def on_filed(sender, instance, created, raw=False, **kwargs):
    if created and not raw and instance.kind == EventKind.FILED:
        route(instance.dossier)
