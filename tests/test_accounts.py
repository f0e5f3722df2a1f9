"""Accounts: roles and permissions, the admin restricted to an ARS administrator's region,
the create_ars_user command, and the account pages in DSFR markup and in French."""

import re
from html.parser import HTMLParser

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command

from guichet.accounts.models import Role, User
from guichet.accounts.permissions import can_manage_region, can_manage_user, is_applicant, is_ars_of, is_ars_staff
from tests.factories import PASSWORD, ArsAdminFactory, InstructorFactory, UserFactory, region

pytestmark = pytest.mark.django_db

USERS_URL = "/admin/accounts/user/"


@pytest.fixture
def hdf_admin():
    """An ARS administrator of Hauts-de-France (region 32)."""
    return ArsAdminFactory(email="admin.hdf@ars.sante.fr")


@pytest.fixture
def hdf_instructor():
    return InstructorFactory(email="instructeur.hdf@ars.sante.fr")


@pytest.fixture
def ge_instructor():
    """An instructor of Grand Est (region 44)."""
    return InstructorFactory(email="instructeur.ge@ars.sante.fr", region=region("44"))


def add_user_data(**overrides):
    data = {
        "email": "nouvel.agent@ars.sante.fr",
        "role": Role.INSTRUCTOR,
        "region": region("32").pk,
        "usable_password": "true",
        "password1": "un-mot-de-passe-solide-42",
        "password2": "un-mot-de-passe-solide-42",
        "_save": "Enregistrer",
    }
    data.update(overrides)
    return data


# --- Roles and permission functions ----------------------------------------------------------


def test_ars_roles_are_staff_and_applicants_are_not(hdf_admin, hdf_instructor):
    applicant = UserFactory()
    assert hdf_admin.is_staff and hdf_instructor.is_staff
    assert not applicant.is_staff
    assert is_applicant(applicant)
    assert not is_applicant(hdf_instructor)
    assert not is_applicant(User.objects.create_superuser("root@exemple.fr", PASSWORD))


def test_an_ars_admin_manages_only_their_own_region(hdf_admin, hdf_instructor, ge_instructor):
    assert can_manage_region(hdf_admin, region("32"))
    assert can_manage_region(hdf_admin, region("32").pk)
    assert not can_manage_region(hdf_admin, region("44"))
    assert not can_manage_region(hdf_instructor, region("32")), "an instructor administers nothing"
    assert can_manage_user(hdf_admin, hdf_instructor)
    assert not can_manage_user(hdf_admin, ge_instructor)
    assert not can_manage_user(hdf_admin, UserFactory()), "applicants are not managed by the ARS"


def test_a_superuser_manages_every_region(ge_instructor):
    root = User.objects.create_superuser("root@exemple.fr", PASSWORD)
    assert can_manage_region(root, region("44")) and can_manage_user(root, ge_instructor)


def test_an_inactive_admin_manages_nothing(hdf_admin, hdf_instructor):
    hdf_admin.is_active = False
    hdf_admin.save()
    assert not can_manage_region(hdf_admin, region("32"))
    assert not can_manage_user(hdf_admin, hdf_instructor)


# Who is who, and who acts on region 32 (Hauts-de-France): the rule every page, the API, the admin and the
# commands rely on. Each column is one permission check; each row one kind of person.
PEOPLE = {
    # person:                       is_applicant  is_ars_staff  is_ars_of(32)  can_manage_region(32)
    "nobody":                       (False,       False,        False,         False),
    "anonymous":                    (False,       False,        False,         False),
    "applicant":                    (True,        False,        False,         False),
    "applicant_inactive":           (False,       False,        False,         False),
    "applicant_with_region_32":     (True,        False,        False,         False),
    "instructor_32":                (False,       True,         True,          False),
    "instructor_32_inactive":       (False,       False,        True,          False),
    "admin_32":                     (False,       True,         True,          True),
    "admin_32_inactive":            (False,       False,        True,          False),
    "instructor_44":                (False,       True,         False,         False),
    "admin_44":                     (False,       True,         False,         False),
    "admin_without_region":         (False,       False,        False,         False),
    "superuser":                    (False,       True,         True,          True),
    "superuser_inactive":           (False,       False,        True,          False),
}


def person(kind):
    """One person of PEOPLE (``is_ars_of`` trusts authentication to keep inactive accounts out)."""
    if kind == "nobody":
        return None
    if kind == "anonymous":
        return AnonymousUser()
    if kind.startswith("superuser"):
        user = User.objects.create_superuser(f"{kind}@exemple.fr", PASSWORD)
    else:
        factory = {"applicant": UserFactory, "instructor": InstructorFactory, "admin": ArsAdminFactory}[
            kind.split("_")[0]]
        extra = {"region": None} if kind.endswith("without_region") else {}
        if kind.endswith("_44"):
            extra["region"] = region("44")
        if kind.endswith("with_region_32"):
            extra["region"] = region("32")
        user = factory(email=f"{kind}@exemple.fr", **extra)
    if kind.endswith("inactive"):
        user.is_active = False
        user.save()
    return user


@pytest.mark.parametrize("kind", PEOPLE)
def test_who_is_ars_staff_and_who_acts_on_a_region(kind):
    user = person(kind)
    applicant, staff, ars_of_32, manages_32 = PEOPLE[kind]
    assert is_applicant(user) is applicant
    assert is_ars_staff(user) is staff
    # a region or its primary key, alike
    assert is_ars_of(user, region("32")) is is_ars_of(user, region("32").pk) is ars_of_32
    assert can_manage_region(user, region("32")) is can_manage_region(user, region("32").pk) is manages_32
    superuser = kind.startswith("superuser")
    assert is_ars_of(user, region("44")) is (superuser or kind in ("instructor_44", "admin_44"))
    assert can_manage_region(user, region("44")) is (kind in ("superuser", "admin_44"))
    # a call without a region (a template) is the superuser's only
    assert is_ars_of(user, None) is superuser
    assert can_manage_region(user, None) is (kind == "superuser")


@pytest.mark.parametrize("kind", PEOPLE)
def test_whose_account_an_ars_admin_manages(kind):
    """An ARS administrator manages the ARS staff of their own region: never a superuser (even one attached to
    the region), an applicant (even one whose account names the region), nor the staff of another region."""
    target = person(kind)
    if target is None or not target.is_authenticated:
        return
    admin = ArsAdminFactory(email="gestion.comptes@ars.sante.fr")
    root = User.objects.create_superuser("racine@exemple.fr", PASSWORD)
    if kind.startswith("superuser"):
        target.region = region("32")
        target.save()
    manages = kind in ("instructor_32", "instructor_32_inactive", "admin_32", "admin_32_inactive")
    assert can_manage_user(admin, target) is manages
    assert can_manage_user(root, target) is True
    gone_root = User.objects.create_superuser("racine.partie@exemple.fr", PASSWORD, is_active=False)
    for manager in (None, AnonymousUser(), ArsAdminFactory(email="parti@ars.sante.fr", is_active=False), gone_root,
                    InstructorFactory(email="i@ars.sante.fr")):
        assert can_manage_user(manager, target) is False


# --- Admin site restricted to the region --------------------------------------------------------


def test_ars_admin_lists_only_the_staff_of_their_region(client, hdf_admin, hdf_instructor, ge_instructor):
    applicant = UserFactory(email="deposant@clinique.fr")
    client.force_login(hdf_admin)
    response = client.get(USERS_URL)
    assert response.status_code == 200
    listed = {user.email for user in response.context["cl"].result_list}
    assert listed == {hdf_admin.email, hdf_instructor.email}
    assert ge_instructor.email not in listed and applicant.email not in listed


def test_ars_admin_cannot_open_or_edit_a_user_of_another_region(client, hdf_admin, ge_instructor):
    client.force_login(hdf_admin)
    change_url = f"{USERS_URL}{ge_instructor.pk}/change/"
    assert client.get(change_url).status_code == 302  # "does not exist" for them: back to the index
    client.post(change_url, {"email": "pirate@exemple.fr", "role": Role.ADMIN, "region": region("32").pk})
    ge_instructor.refresh_from_db()
    assert ge_instructor.email == "instructeur.ge@ars.sante.fr" and ge_instructor.region.code == "44"
    assert client.get(f"{USERS_URL}{ge_instructor.pk}/password/").status_code in (302, 403, 404)


def test_ars_admin_edits_an_instructor_of_their_region_but_not_into_another(client, hdf_admin, hdf_instructor):
    client.force_login(hdf_admin)
    change_url = f"{USERS_URL}{hdf_instructor.pk}/change/"
    page = client.get(change_url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "is_superuser" not in form.fields and "user_permissions" not in form.fields
    assert list(form.fields["region"].queryset) == [region("32")]
    assert {value for value, _ in form.fields["role"].choices} == {Role.INSTRUCTOR, Role.ADMIN}

    data = {"email": hdf_instructor.email, "first_name": "Camille", "last_name": "Martin",
            "role": Role.ADMIN, "region": region("32").pk, "is_active": "on", "_save": "Enregistrer"}
    response = client.post(change_url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    hdf_instructor.refresh_from_db()
    assert hdf_instructor.role == Role.ADMIN and hdf_instructor.first_name == "Camille"

    response = client.post(change_url, {**data, "region": region("44").pk, "is_superuser": "on"})
    assert response.status_code == 200 and "region" in response.context["adminform"].form.errors
    hdf_instructor.refresh_from_db()
    assert hdf_instructor.region.code == "32" and not hdf_instructor.is_superuser


def test_ars_admin_creates_an_instructor_of_their_region(client, hdf_admin):
    client.force_login(hdf_admin)
    response = client.post(f"{USERS_URL}add/", add_user_data())
    assert response.status_code == 302
    created = User.objects.get(email="nouvel.agent@ars.sante.fr")
    assert created.role == Role.INSTRUCTOR and created.region.code == "32"
    assert created.is_staff and not created.is_superuser


def test_ars_admin_cannot_create_a_superuser(client, hdf_admin):
    client.force_login(hdf_admin)
    client.post(f"{USERS_URL}add/", add_user_data(is_superuser="on", is_staff="on"))
    created = User.objects.get(email="nouvel.agent@ars.sante.fr")
    assert not created.is_superuser
    assert not User.objects.filter(is_superuser=True).exists()


def test_ars_admin_cannot_create_a_user_in_another_region_or_an_applicant(client, hdf_admin):
    client.force_login(hdf_admin)
    response = client.post(f"{USERS_URL}add/", add_user_data(region=region("44").pk))
    assert response.status_code == 200 and "region" in response.context["adminform"].form.errors
    response = client.post(f"{USERS_URL}add/", add_user_data(role=Role.APPLICANT))
    assert response.status_code == 200 and "role" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="nouvel.agent@ars.sante.fr").exists()


def test_ars_admin_cannot_delete_accounts(client, hdf_admin, hdf_instructor):
    client.force_login(hdf_admin)
    client.post(f"{USERS_URL}{hdf_instructor.pk}/delete/", {"post": "yes"})
    assert User.objects.filter(pk=hdf_instructor.pk).exists()


def test_an_instructor_has_no_access_to_accounts_in_the_admin(client, hdf_instructor, ge_instructor):
    client.force_login(hdf_instructor)
    assert client.get(USERS_URL).status_code == 403


def test_a_superuser_sees_every_account_and_region(client, hdf_admin, ge_instructor):
    applicant = UserFactory()
    root = User.objects.create_superuser("root@exemple.fr", PASSWORD)
    client.force_login(root)
    listed = {user.email for user in client.get(USERS_URL).context["cl"].result_list}
    assert {hdf_admin.email, ge_instructor.email, applicant.email, root.email} <= listed
    response = client.post(f"{USERS_URL}add/", add_user_data(region=region("44").pk, role=Role.ADMIN))
    assert response.status_code == 302
    assert User.objects.get(email="nouvel.agent@ars.sante.fr").region.code == "44"


def test_an_ars_role_needs_a_region(client):
    root = User.objects.create_superuser("root@exemple.fr", PASSWORD)
    client.force_login(root)
    response = client.post(f"{USERS_URL}add/", add_user_data(region=""))
    assert response.status_code == 200 and "region" in response.context["adminform"].form.errors


def test_admin_search_by_email_and_filter_by_role(client, hdf_admin, hdf_instructor):
    client.force_login(hdf_admin)
    found = client.get(USERS_URL, {"q": "instructeur.hdf"}).context["cl"].result_list
    assert [user.email for user in found] == [hdf_instructor.email]
    found = client.get(USERS_URL, {"role__exact": Role.ADMIN}).context["cl"].result_list
    assert [user.email for user in found] == [hdf_admin.email]


# --- create_ars_user command ----------------------------------------------------------------------


def test_create_ars_user_creates_an_instructor_who_can_sign_in(client, capsys):
    call_command("create_ars_user", "Agent.Nord@ARS.sante.fr", "--role", "instructor", "--region", "32",
                 "--password", "un-mot-de-passe-solide-42")
    out = capsys.readouterr().out
    assert "Compte créé : agent.nord@ars.sante.fr — Gestionnaire instructeur — Hauts-de-France (32)." in out
    assert "Mot de passe défini." in out
    user = User.objects.get(email="agent.nord@ars.sante.fr")
    assert user.role == Role.INSTRUCTOR and user.region.code == "32" and user.is_staff
    assert EmailAddress.objects.get(user=user).verified
    response = client.post("/comptes/login/", {"login": "agent.nord@ars.sante.fr",
                                               "password": "un-mot-de-passe-solide-42"})
    assert response.status_code == 302
    # Signed in, and sent first to set up the double authentification that ARS staff must use.
    home = client.get("/")
    assert home.status_code == 302 and home.url == "/comptes/2fa/totp/activate/"
    assert client.get(home.url).context["user"] == user


def test_create_ars_user_without_password_and_update(capsys):
    call_command("create_ars_user", "agent@ars.sante.fr", "--role", "admin", "--region", "44")
    out = capsys.readouterr().out
    assert "Compte créé" in out and "Mot de passe oublié" in out
    user = User.objects.get(email="agent@ars.sante.fr")
    assert not user.has_usable_password() and user.role == Role.ADMIN

    call_command("create_ars_user", "agent@ars.sante.fr", "--role", "instructor", "--region", "32")
    assert "Compte mis à jour : agent@ars.sante.fr — Gestionnaire instructeur — Hauts-de-France (32)." in (
        capsys.readouterr().out
    )
    user.refresh_from_db()
    assert user.role == Role.INSTRUCTOR and user.region.code == "32"
    assert User.objects.filter(email="agent@ars.sante.fr").count() == 1


def test_create_ars_user_rejects_an_unknown_region_or_role():
    with pytest.raises(CommandError, match="Région inconnue : 99"):
        call_command("create_ars_user", "agent@ars.sante.fr", "--role", "admin", "--region", "99")
    with pytest.raises(CommandError):
        call_command("create_ars_user", "agent@ars.sante.fr", "--role", "applicant", "--region", "32")
    assert not User.objects.filter(email="agent@ars.sante.fr").exists()


# --- Account pages: DSFR markup, labels, errors, French -------------------------------------------


class FormAudit(HTMLParser):
    """Collects the form controls of a page and the targets of its labels."""

    def __init__(self):
        super().__init__()
        self.controls = []
        self.label_targets = set()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "label" and attrs.get("for"):
            self.label_targets.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.controls.append(attrs)


def audit(html):
    parser = FormAudit()
    parser.feed(html)
    return parser


@pytest.mark.parametrize(
    "url, title",
    [
        ("/comptes/login/", "Se connecter"),
        ("/comptes/signup/", "Créer un compte"),
        ("/comptes/password/reset/", "Réinitialisation du mot de passe"),
    ],
)
def test_account_pages_are_dsfr_forms_with_a_label_for_every_field(client, url, title):
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    page_title = " ".join(re.search(r"<title>(.*?)</title>", html, re.S).group(1).split())
    assert page_title == f"{title} — Guichet CLACT"
    assert 'class="fr-input' in html and 'class="fr-btn' in html and 'class="fr-label"' in html
    page = audit(html)
    assert page.controls
    for control in page.controls:
        assert control.get("id") in page.label_targets or control.get("aria-label"), control


def test_field_errors_are_announced_and_linked_to_their_field(client):
    response = client.post("/comptes/signup/", {"email": "pas-une-adresse", "password1": "123", "password2": "4"})
    html = response.content.decode()
    assert 'role="alert"' in html and "Le formulaire contient des erreurs" in html
    assert 'aria-describedby="id_email-messages"' in html and 'aria-invalid="true"' in html
    assert 'id="id_email-messages"' in html and "fr-input-group--error" in html
    assert "Saisissez une adresse de courriel valide." in html


def test_wrong_password_is_announced_in_french(client):
    UserFactory(email="deposant@clinique.fr")
    response = client.post("/comptes/login/", {"login": "deposant@clinique.fr", "password": "mauvais"})
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "L’adresse email ou le mot de passe sont incorrects." in html or "incorrect" in html


def test_email_management_page_for_a_signed_in_user(client):
    user = UserFactory(email="deposant@clinique.fr")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    client.force_login(user)
    response = client.get("/comptes/email/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "deposant@clinique.fr" in html and "fr-badge" in html and 'class="fr-radio-group"' in html
    page = audit(html)
    for control in page.controls:
        assert control.get("id") in page.label_targets or control.get("aria-label"), control


def test_logout_page_is_in_french(client):
    client.force_login(UserFactory())
    html = client.get("/comptes/logout/").content.decode()
    assert "Se déconnecter" in html or "Déconnexion" in html
    assert 'class="fr-btn' in html
