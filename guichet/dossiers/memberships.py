"""Dossier members follow the establishment: who stops acting for an establishment leaves the dossiers it carries.

A dossier's members are the people who file it; they became members by starting it for an establishment they
act for, or by a colleague's invitation. When someone no longer acts for the establishment (removed by a
referent, gone of their own accord, removed by the platform's staff: ``establishments.claims.membership_ended``),
they no longer reach the dossiers that establishment carries (*établissement porteur*): its answers, messages,
grant and payments. A dossier is never left without anyone to answer the ARS: when the leaver was its only
member, the establishment's referents take it over (or the referent who removed them, from the legal entity).
Dossiers where the establishment is only a party (*partie prenante*) are not touched: their porteur vouches
for their members.
"""

from django.dispatch import receiver

from guichet.core import audit
from guichet.establishments import claims

from .models import Dossier


@receiver(claims.membership_ended, dispatch_uid="dossiers.leave_the_establishments_dossiers")
def leave_the_establishments_dossiers(sender, establishment, user, by=None, request=None, **kwargs):
    dossiers = list(Dossier.objects.filter(establishment=establishment, members=user).select_for_update()
                    .order_by("pk"))
    if not dossiers:
        return
    takers = list(claims.referents(establishment).exclude(pk=user.pk))
    if not takers and by is not None and by.pk != user.pk:
        takers = [by]
    for dossier in dossiers:
        others = dossier.members.exclude(pk=user.pk).exists()
        if not others and not takers:
            continue  # nobody else could answer the ARS: the dossier keeps them (the ARS sees who it is)
        dossier.members.remove(user)
        if not others:
            dossier.members.add(*takers)
        audit.record(by or user, "dossier:member_left", dossier=dossier, request=request, user=user.pk,
                     taken_over_by=[] if others else [t.pk for t in takers])
