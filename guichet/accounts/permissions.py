"""Small permission checks on users and regions, shared by views, the admin, the API and commands.

A user is an applicant (*déposant*) unless given an ARS role; ARS staff are attached to one region
and act only there; a platform superuser acts everywhere.
"""

from __future__ import annotations

from guichet.accounts.models import Role


def _region_id(region) -> int | None:
    if region is None:
        return None
    return region if isinstance(region, int) else region.pk


def is_applicant(user) -> bool:
    """True for an authenticated applicant (an establishment's *déposant*), not ARS staff."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and not user.is_superuser
        and user.role == Role.APPLICANT
    )


def is_ars_staff(user) -> bool:
    """True for an active instructor or ARS administrator of a region, or a superuser."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_ars_staff)


def is_ars_of(user, region) -> bool:
    """True for ARS staff (instructor or administrator) of ``region`` (a Region or its primary key), or a
    superuser; False for anyone else, an anonymous visitor included. The one check behind every « the
    region's ARS only » rule (instruction, commission, payments)."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or (user.is_ars_staff and user.region_id == _region_id(region))


def can_manage_region(user, region) -> bool:
    """True when ``user`` administers ``region`` (a Region or its primary key).

    ARS administrators administer their own region only; superusers administer every region.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    region_id = _region_id(region)
    return user.role == Role.ADMIN and user.region_id is not None and user.region_id == region_id


def can_manage_user(manager, target) -> bool:
    """True when ``manager`` may see and edit the account ``target`` in the admin site.

    An ARS administrator manages the ARS staff (instructors and administrators) of their own
    region, never a superuser nor an applicant; a superuser manages everyone.
    """
    if manager is None or not manager.is_authenticated or not manager.is_active:
        return False
    if manager.is_superuser:
        return True
    return (
        not target.is_superuser
        and target.role in (Role.INSTRUCTOR, Role.ADMIN)
        and can_manage_region(manager, target.region_id)
    )


def is_national_reader(user) -> bool:
    """True for an active national reader (the ministry): aggregated figures of every region, nothing else."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_national_reader)


def can_see_national_statistics(user) -> bool:
    """The national statistics: the national reader and platform superusers."""
    return bool(user is not None and user.is_authenticated and user.is_active
                and (user.is_superuser or user.is_national_reader))


def sits_on_a_commission(user) -> bool:
    """Does ``user`` sit on any commission session? Asked by the MFA middleware and the navigation of every
    page: one query per request, its answer kept on the user object of that request (a new one each time)."""
    if user is None or not user.is_authenticated:
        return False
    cached = getattr(user, "_sits_on_a_commission", None)
    if cached is None:
        cached = user._sits_on_a_commission = user.commission_seats.exists()
    return cached
