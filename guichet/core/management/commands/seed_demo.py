"""Load the demo data: directory slice, seed templates and open demo calls, one account per role.

Idempotent: running it again updates everything in place and resets the demo passwords.
"""

from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from guichet.accounts.mfa import activate_totp
from guichet.accounts.models import Role, User
from guichet.accounts.services import create_or_update_ars_user
from guichet.calls.templates_loader import load_seed_templates, shift_template_for_demo
from guichet.establishments import claims
from guichet.establishments.directory import import_sae
from guichet.establishments.models import (
    Establishment,
    EstablishmentAccess,
    GrantedVia,
    LegalEntity,
    MembershipRole,
    Region,
    Source,
)

DIRECTORY_SLICE = Path(__file__).resolve().parents[3] / "establishments" / "data" / "sae_id_2023_extrait.csv"
DEMO_PASSWORD = "demo-clact-2026"
# The demo accounts that must use MFA share this authenticator app key (base32), printed on the console: one
# entry in an authenticator app (or `oathtool --totp -b KEY`) gives the code for all of them.
DEMO_TOTP_SECRET = "GUICHETCLACTDEMOGUICHETCLACTDEMO"
DOMAIN = "guichet-clact.localhost"

# The directory extract covers Île-de-France, Normandie, overseas and Corsica; the seed calls are in
# Hauts-de-France and Grand Est, so the demo applicant gets demonstration establishments there.
# Their FINESS numbers are valid (Luhn key) but fictitious, and their names say so.
DEMO_ESTABLISHMENTS = [
    # finess ET, finess EJ, name, sector, legal status, department, region code
    ("590000006", "590000014", "Centre hospitalier de démonstration (Lille)", "sanitaire", "public", "59", "32"),
    ("670000009", "670000017", "Clinique de démonstration (Strasbourg)", "sanitaire", "espic", "67", "44"),
    ("680000007", "680000015", "EHPAD de démonstration (Colmar)", "medico_social", "public", "68", "44"),
    ("540000007", "570000000", "Centre hospitalier de démonstration (Nancy)", "sanitaire", "public", "54", "44"),
]
# Nobody manages this one: a newcomer's first claim on it waits in the queue of the ARS Hauts-de-France.
UNMANAGED_DEMO_ESTABLISHMENT = ("800000002", "800000010", "EHPAD de démonstration (Amiens)", "medico_social",
                                "public", "80", "32")
COMMISSION_TEMPLATE = "modele-grand-est-2025-2026-candidature"


class Command(BaseCommand):
    help = "Charge les données de démonstration (annuaire, appels, comptes) et affiche les comptes."

    def handle(self, *args, **options):
        with transaction.atomic():
            report = import_sae(str(DIRECTORY_SLICE))
            establishments = self._demo_establishments()
            templates = load_seed_templates()
            now = timezone.now()
            demo_calls = [shift_template_for_demo(t, now) for t in templates]
            accounts = self._accounts(establishments)
            commission_call = self._commission(templates, establishments)
            if commission_call is not None:  # its ARS published its figures: the public page has something to show
                type(commission_call).objects.filter(pk=commission_call.pk).update(public_statistics=True)
            grants = self._grants(establishments)
        self.stdout.write(f"Annuaire : {report.imported} établissements importés, {report.updated} mis à jour.")
        self.stdout.write("Appels à projets de démonstration (ouverts aujourd'hui) :")
        for call in demo_calls:
            self.stdout.write(f"  - {call.title} — dépôt possible {call.deadline.until} — /appels/{call.slug}/")
        if commission_call is not None:
            self.stdout.write(f"Commission de démonstration (dépôts clos, 3 dossiers en instruction) : "
                              f"/instruction/appels/{commission_call.slug}/ puis « Séances de commission »")
        self.stdout.write(f"Subventions antérieures (justificatifs de réalisation) : {', '.join(grants)}")
        self.stdout.write(self.style.SUCCESS(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :"))
        for label, email in accounts:
            self.stdout.write(f"  - {label:<38} {email}")
        self.stdout.write(self.style.SUCCESS(
            "Double authentification (obligatoire pour tous ces comptes sauf le déposant) : ajoutez la clé "
            f"{DEMO_TOTP_SECRET} dans une application d'authentification (FreeOTP, Aegis, Google Authenticator…), "
            "une seule entrée sert à tous les comptes ; ou obtenez le code du moment avec "
            f"`oathtool --totp -b {DEMO_TOTP_SECRET}`. Saisissez-le après le mot de passe."))
        if not settings.DEBUG:
            self.stdout.write(self.style.WARNING(
                "Attention : ces comptes ont un mot de passe et une clé de double authentification connus de tous."))

    def _demo_establishments(self, rows=DEMO_ESTABLISHMENTS):
        result = []
        for finess, ej_finess, name, sector, status, department, region_code in rows:
            region = Region.objects.get(code=region_code)
            ej, _ = LegalEntity.objects.update_or_create(
                finess=ej_finess, defaults={"name": name, "legal_status": status, "source": Source.MANUAL})
            establishment, _ = Establishment.objects.update_or_create(
                finess=finess, defaults={"name": name, "legal_entity": ej, "sector": sector, "legal_status": status,
                                         "department": department, "region": region, "source": Source.MANUAL})
            result.append(establishment)
        return result

    def _accounts(self, establishments):
        accounts = []
        applicant = self._user(f"deposant@{DOMAIN}", role=Role.APPLICANT)
        for establishment in establishments:
            EstablishmentAccess.objects.get_or_create(user=applicant, establishment=establishment, defaults={
                "role": MembershipRole.REFERENT, "granted_via": GrantedVia.ADMIN})
        accounts.append(("Déposant (référent des établissements de démonstration)", applicant.email))
        # One claim for the demo applicant to decide as referent, one first claim for the ARS to confirm.
        colleague = self._user(f"collegue@{DOMAIN}", role=Role.APPLICANT)
        claims.claim(colleague, establishments[0], function="Responsable des ressources humaines",
                     message="Je reprends le suivi des dossiers CLACT de l'établissement.")
        accounts.append((f"Collègue (demande à {establishments[0].name})", colleague.email))
        newcomer = self._user(f"nouveau.deposant@{DOMAIN}", role=Role.APPLICANT)
        unmanaged = self._demo_establishments([UNMANAGED_DEMO_ESTABLISHMENT])[0]
        claims.claim(newcomer, unmanaged, function="Directeur de l'établissement")
        accounts.append(("Déposant (première demande, à confirmer par l'ARS)", newcomer.email))
        for role, label in ((Role.INSTRUCTOR, "Gestionnaire instructeur"), (Role.ADMIN, "Administrateur ARS")):
            for code, slug in (("32", "hdf"), ("44", "grand-est")):
                region = Region.objects.get(code=code)
                email = f"{'instructeur' if role == Role.INSTRUCTOR else 'admin'}.{slug}@{DOMAIN}"
                create_or_update_ars_user(email, role, region, password=DEMO_PASSWORD)
                accounts.append((f"{label} — {region.name}", email))
        member = self._user(f"membre.commission@{DOMAIN}", role=Role.APPLICANT, first_name="Camille",
                            last_name="Membre")
        accounts.append(("Membre de la commission (Grand Est)", member.email))
        national = self._user(f"ministere@{DOMAIN}", role=Role.NATIONAL)
        accounts.append(("Lecteur national (ministère) : statistiques", national.email))
        superuser = self._user(f"superadmin@{DOMAIN}", role=Role.APPLICANT, is_superuser=True, is_staff=True)
        accounts.append(("Superutilisateur de la plateforme", superuser.email))
        # Every account but the applicant's must use MFA (the commission member once seated, below): all get
        # the known key, so that a person trying the demo needs one entry in an authenticator app.
        for _, email in accounts[1:]:
            activate_totp(User.objects.get(email=email), DEMO_TOTP_SECRET)
        return accounts

    def _commission(self, templates, establishments):
        from guichet.commission import demo

        template = next((t for t in templates if t.slug == COMMISSION_TEMPLATE), None)
        if template is None:
            return None
        grand_est = [e for e in establishments if e.region.code == "44"]
        applicant = User.objects.get(email=f"deposant@{DOMAIN}")
        instructor = User.objects.get(email=f"instructeur.grand-est@{DOMAIN}")
        member = User.objects.get(email=f"membre.commission@{DOMAIN}")
        return demo.seed(template, grand_est, applicant, instructor, member)

    def _grants(self, establishments):
        from guichet.funding import demo

        lille = next(e for e in establishments if e.finess == "590000006")
        return [g.convention_reference for g in demo.seed(lille)]

    def _user(self, email, **fields):
        user, _ = User.objects.update_or_create(email=email, defaults=fields)
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        return user
