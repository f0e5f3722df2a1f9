"""Every page of every role over a full CLACT dossier — the gap that let an expert's link crash.

A realistic dossier on the HdF 2024 seed template: every part answered through the form engine, every
file field holding an uploaded file (the « devis » of each of three actions in the repeatable block
too), a partie prenante, messages with attachments both ways, an expert's opinion requested with a file,
private annotations, a commission session with the dossier on its agenda. In several states, each role
GETs every page the URL map has for a dossier and gets 200 (with the files' names where they are
shown) — or the 403/404 of someone who must not see it.

The URLs come from the resolver: every pattern with an argument is either covered here (``PAGES``, with
how to fill its arguments) or listed in ``NOT_COVERED`` with the reason; a new page fails the test
until it is classified. The pages without an argument (lists, account pages, the API's documentation) are
visited by every role too.

Every HTML answer, whatever its status, carries the Content-Security-Policy and the Permissions-Policy and
holds no code the policy would block: no inline ``<script>`` (a ``<script src>`` or a JSON data block is fine),
no ``<style>`` element, no ``style="…"`` attribute, no ``on…=`` handler, no ``javascript:`` link.
"""

import datetime as dt
import html
import io
import zipfile
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import MultipleChoiceField
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from guichet.accounts.models import User
from guichet.calls.models import FormKind, FormVersion
from guichet.calls.templates_loader import copy_call, load_seed_templates
from guichet.commission import arbitration
from guichet.dossiers import services, workflow
from guichet.dossiers.models import Dossier, Invitation, State
from guichet.establishments.models import EstablishmentAccess
from guichet.experts import services as experts
from guichet.experts.models import ExpertFile
from guichet.formschema.forms import FormContext, SchemaFileField, build_section_form
from guichet.messaging import services as messaging
from guichet.messaging.models import MessageAttachment
from tests.factories import ArsAdminFactory, EstablishmentFactory, InstructorFactory, UserFactory, region

# --- the URL map ---------------------------------------------------------------------------------------

# URL name → which objects of the dossier fill its arguments: each entry yields (args, label of a file the
# page or download is about, or None). ``d`` is the World below.
# The decision page of the « Instruire » menu, one event the dossier's state offers.
DECISION_OF_STATE = {"en_construction": "passer_en_instruction", "en_instruction": "refuser", "accepte": "archiver"}

STATS_FILES = (("etats", "csv"), ("themes", "xlsx"), ("semaines", "svg"))
PAGES = {
    "dossiers:summary": lambda d: [([d.dossier.pk], None)],
    "dossiers:section": lambda d: [([d.dossier.pk, s.key], None) for s in d.schema.sections],
    "dossiers:file": lambda d: [([d.dossier.pk], None)],
    "dossiers:partners": lambda d: [([d.dossier.pk], None)],
    "dossiers:duplicate": lambda d: [([d.dossier.pk], None)],
    "dossiers:attachment": lambda d: [([d.dossier.pk, a.pk], a.original_name) for a in d.attachments],
    "dossiers:zip": lambda d: [([d.dossier.pk], None)],
    "instruction:dossier": lambda d: [([d.dossier.pk], None)],
    "instruction:decide": lambda d: [([d.dossier.pk, DECISION_OF_STATE.get(d.dossier.state, "archiver")], None)],
    "messaging:thread": lambda d: [([d.dossier.pk], None)],
    "messaging:attachment": lambda d: [([d.dossier.pk, a.pk], a.original_name) for a in d.message_files],
    "experts:dossier": lambda d: [([d.dossier.pk], None)],
    "experts:ars_file": lambda d: [([d.dossier.pk, f.pk], f.original_name) for f in d.all_expert_files],
    "experts:answer": lambda d: [([d.expert.token], None)],
    "experts:file": lambda d: [([d.expert.token, a.pk], a.original_name) for a in d.attachments],
    "experts:question_file": lambda d: [([d.expert.token, f.pk], f.original_name) for f in d.expert_files],
    "commission:grid": lambda d: [([d.dossier.pk], None)],
    "commission:member_dossier": lambda d: [([d.dossier.pk], None)],
    "commission:session": lambda d: [([d.session.pk], None)],
    "commission:agenda": lambda d: [([d.session.pk], None)],
    "commission:session_xlsx": lambda d: [([d.session.pk], None)],
    "commission:sessions": lambda d: [([d.call.slug], None)],
    "commission:ranking": lambda d: [([d.call.slug], None)],
    "instruction:workspace": lambda d: [([d.call.slug], None)],
    "reporting:workspace_export": lambda d: [([d.call.slug, ext], None) for ext in ("csv", "xlsx", "ods")],
    "reporting:call_statistics": lambda d: [([d.call.slug], None)],
    "reporting:call_statistics_download": lambda d: [([d.call.slug, key, ext], None) for key, ext in STATS_FILES],
    "reporting:call_bilan": lambda d: [([d.call.slug], None)],
    "figures:call": lambda d: [([d.call.slug], None)],
    "reporting:region_statistics_of": lambda d: [([d.call.region.slug], None)],
    "reporting:region_statistics_download": lambda d: [([d.call.region.slug, key, ext], None)
                                                       for key, ext in STATS_FILES],
    "reporting:national_statistics_download": lambda d: [([key, ext], None) for key, ext in STATS_FILES],
    "reporting:templates": lambda d: [([d.call.slug], None)],
    "reporting:template_create": lambda d: [([d.call.slug], None)],
    "reporting:template_edit": lambda d: [([d.call.slug, _export_template(d).pk], None)],
    "reporting:template_delete": lambda d: [([d.call.slug, _export_template(d).pk], None)],
    "reporting:template_export": lambda d: [([d.call.slug, _export_template(d).pk, ext], None)
                                            for ext in ("csv", "xlsx", "ods")],
    "reporting:workspace_zip": lambda d: [([d.call.slug], None)],
    "reporting:dossier_pdf": lambda d: [([d.dossier.pk], None)],
    "calls:detail": lambda d: [([d.call.slug], None)],
}

NOT_COVERED = {
    # Actions (POST only): not pages; their guards are tested where they are defined.
    **dict.fromkeys(["dossiers:invite", "instruction:transition", "instruction:follow", "instruction:assign_group",
                     "instruction:file_corrections", "instruction:set_labels", "instruction:toggle_follow",
                     "messaging:delete", "experts:revoke", "experts:score", "commission:member_add",
                     "commission:member_remove", "commission:apply", "commission:agenda_remove",
                     "commission:decision", "commission:line_amounts", "establishments:detach",
                     "funding:invoice_add", "funding:invoice_delete", "funding:progress", "funding:bordereau_upload",
                     "payments:validate_line", "payments:create_order", "payments:close",
                     "instruction:annotations", "commission:minutes_draft", "funding:invoice_file",
                     "payments:set_total", "reporting:selection_export",
                     "reporting:selection_zip", "reporting:call_public_toggle"],
                    "POST only (an action, not a page)"),
    # Who acts for an establishment: claims, members, the ARS queue (tests/test_establishment_claims.py).
    **dict.fromkeys(["establishments:members", "establishments:request_accept", "establishments:request_refuse",
                     "establishments:request_withdraw", "establishments:member_remove",
                     "establishments:member_promote"],
                    "an establishment's members and claims (tests/test_establishment_claims.py)"),
    "dossiers:start": "starts a new dossier on a call (tests/test_dossier_filling.py, tests/test_eligibility.py)",
    "dossiers:accept_invitation": "an invitation's token, not the dossier (tests/test_dossier_filling.py)",
    "dossiers:delete": "a draft's deletion; this dossier is filed (tests/test_drafts.py)",
    "commission:envelope": "the call's envelope, no dossier (tests/test_arbitration.py)",
    "commission:item_actions": "an htmx fragment of commission:session (without JavaScript, a redirect to it with "
                               "?ouvrir=); its guards in tests/test_commission_sessions.py",
    "commission:minutes": "a generated PDF of a session, after the minutes task (tests/test_commission_sessions.py)",
    "commission:document": "a generated decision PDF, after the commission applies (tests/test_decision_documents.py)",
    "commission:grant": "a grant's signed convention, after the decision (tests/test_decision_documents.py)",
    "reporting:grants_export": "the region's grants, no dossier (tests/test_reporting_grants.py)",
    **dict.fromkeys(["reporting:job", "reporting:job_status", "reporting:job_file"],
                    "a background export, its author's only (tests/test_reporting_jobs.py)"),
    # Proofs dossiers (a proofs call, a grant): tests/test_proofs_pages.py and tests/test_payment_pages.py.
    **dict.fromkeys(["funding:invoices", "funding:bordereau", "payments:validation", "payments:call",
                     "payments:order", "payments:order_xlsx", "payments:order_csv", "payments:ledger"],
                    "pages of a proofs dossier or of a grant (tests/test_proofs_pages.py, test_payment_pages.py)"),
}



def _export_template(d):
    """An export template of the call (« modèles d'export »), made the first time a page asks for it."""
    from guichet.reporting.models import ExportTemplate

    return ExportTemplate.objects.get_or_create(call=d.call, name="Suivi de l'appel", defaults={
        "columns": [{"key": "dossier.numero", "header": "N°"}, {"key": "dossier.etat", "header": "État"}]})[0]


SKIPPED_PREFIXES = ("admin/", "comptes/", "api/")  # Django's admin, allauth, the API (tests/test_api*.py)


def patterns_with_arguments(resolver=None, prefix="", space=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            route = prefix + str(pattern.pattern)
            if not prefix and route.startswith(SKIPPED_PREFIXES):
                continue
            yield from patterns_with_arguments(pattern, route, f"{space}{pattern.namespace}:" if pattern.namespace
                                               else space)
        elif isinstance(pattern, URLPattern) and pattern.pattern.regex.groups:
            yield space + pattern.name


def test_every_page_with_an_argument_is_covered_or_said_why_not():
    names = set(patterns_with_arguments())
    assert "experts:file" in names and "dossiers:summary" in names
    unclassified = names - set(PAGES) - set(NOT_COVERED)
    assert not unclassified, f"pages to add to PAGES (or to NOT_COVERED, with the reason): {sorted(unclassified)}"
    assert not (set(PAGES) | set(NOT_COVERED)) - names, "names that no longer exist"
    assert not set(PAGES) & set(NOT_COVERED)


# --- the headers and the code a Content-Security-Policy would block ----------------------------------------

# What every HTML page's policy must say (guichet/settings.py); a page that loosens it fails.
REQUIRED_DIRECTIVES = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "object-src": "'none'", "base-uri": "'self'", "frame-ancestors": "'none'",
}
DENIED_FEATURES = ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()")
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}  # data blocks: never executed


class InlineCodeFinder(HTMLParser):
    """Collects what a strict Content-Security-Policy blocks in a page: one line per offending tag."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        line = f"line {self.getpos()[0]}: <{tag}"
        if tag == "script":
            kind = (attributes.get("type") or "").strip().lower()
            if not attributes.get("src") and kind not in DATA_SCRIPT_TYPES:
                self.found.append(f"{line}> inline script")
                self._in_inline_script = True
        if tag == "style":
            self.found.append(f"{line}> element")
        for name, value in attrs:
            if name == "style":
                self.found.append(f'{line} style="{value}">')
            elif name.startswith("on"):
                self.found.append(f'{line} {name}="{value}">')
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f'{line} {name}="{value}">')

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


def policy_problems(response) -> list[str]:
    """Why an HTML answer breaks the policy: a header missing or loosened, or code the browser would block."""
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    problems = []
    csp = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: " ".join(part.split()[1:]) for part in csp.split(";") if part.strip()}
    for name, value in REQUIRED_DIRECTIVES.items():
        if directives.get(name) != value:
            problems.append(f"Content-Security-Policy {name}: {directives.get(name)!r}, expected {value!r}")
    if "'self'" not in directives.get("form-action", "").split():
        problems.append(f"Content-Security-Policy form-action: {directives.get('form-action')!r}")
    if "unsafe" in csp:
        problems.append(f"Content-Security-Policy loosened: {csp}")
    permissions = response.get("Permissions-Policy", "")
    problems += [f"Permissions-Policy without {feature}: {permissions!r}" for feature in DENIED_FEATURES
                 if feature not in permissions]
    if not getattr(response, "streaming", False):
        finder = InlineCodeFinder()
        finder.feed(response.content.decode(response.charset or "utf-8", errors="replace"))
        problems += finder.found
    return problems


def test_the_inline_code_finder_sees_what_a_policy_blocks():
    finder = InlineCodeFinder()
    finder.feed('<script src="/static/a.js"></script><script type="application/json">{"a": 1}</script>'
                '<p class="x">ok</p>')
    assert finder.found == []
    finder.feed('<script>alert(1)</script><style>p{}</style><p style="color:red" onclick="f()">'
                '<a href="javascript:f()">x</a><script type="module">f()</script>')
    assert [f.split(": ", 1)[1] for f in finder.found] == [
        "<script> inline script", "<style> element", '<p style="color:red">', '<p onclick="f()">',
        '<a href="javascript:f()">', "<script> inline script"]


# --- the dossier ---------------------------------------------------------------------------------------

ROWS = 3


def _choice(field):
    for value, label in field.choices:
        if isinstance(label, (list, tuple)):  # a group
            return label[0][0]
        if value not in ("", None):
            return value
    raise AssertionError(field)


def answer_everything(schema, section, rows=ROWS):
    """POST data and files for one part: every field answered, every file field holding a file."""
    form = build_section_form(schema, section, {}, {}, FormContext(establishments=[], rate=50),
                              data={f"{f.key}__rows": str(rows) for f in section.fields if f.type == "repeat"})
    data = {f"{f.key}__rows": str(rows) for f in section.fields if f.type == "repeat"}
    files = {}
    for name, field in form.fields.items():
        path = name.split("__")
        f = schema.field(path[0]) if len(path) == 1 else schema.field(path[0]).child(path[2])
        if f.type == "file":
            assert isinstance(field, SchemaFileField)
            files[name] = SimpleUploadedFile(f"{name.replace('__', '-')}.pdf", b"%PDF-1.4 " + name.encode(),
                                             content_type="application/pdf")
        elif f.type == "yesno":
            data[name] = "oui" if "oui" in dict(field.choices) else _choice(field)
        elif isinstance(field, MultipleChoiceField):
            data[name] = [value for value, _ in field.choices][:2]
        elif f.type in ("choice", "qvct_theme"):
            data[name] = _choice(field)
        elif f.type in ("amount", "decimal"):
            data[name] = "1000"
        elif f.type in ("integer", "percentage"):
            data[name] = "10"
        elif f.type == "email":
            data[name] = "referent@ch-exemple.fr"
        elif f.type == "phone":
            data[name] = "03 20 00 00 00"
        elif f.type == "finess":
            data[name] = "590780193"
        elif f.type == "siret":
            data[name] = "26140091500011"
        elif getattr(field, "max_length", None) and field.max_length <= 10:  # a postcode
            data[name] = "59000"
        else:
            data[name] = f"Réponse « {f.label} »" + (f" n° {int(path[1]) + 1}" if len(path) == 3 else "")
    post = QueryDict(mutable=True)
    for name, value in data.items():
        post.setlist(name, value if isinstance(value, list) else [value])
    return post, files


class World:
    """The call, the full dossier, its files and the people around it."""


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    w = World()
    template = next(c for c in load_seed_templates() if c.slug == "modele-hdf-2024-candidature")
    now = timezone.now()
    w.call = copy_call(template, region="32", title="CLACT-QVCT 2024", slug="clact-2024",
                       opens_at=now - dt.timedelta(days=10), closes_at=now + dt.timedelta(days=30))
    w.call.public_statistics = True  # its ARS published its figures: the public page is open
    w.call.save(update_fields=["public_statistics"])
    FormVersion.objects.create(call=w.call, kind=FormKind.ANNOTATIONS, number=1, schema={"sections": [
        {"key": "suivi", "title": "Suivi", "fields": [{"key": "avis_instructeur", "type": "textarea",
                                                       "label": "Avis de l'instructeur"}]}]})
    w.schema = w.call.current_form.parsed()
    porteur = EstablishmentFactory(finess="590780193", name="CH DE TEST", region=region("32"))
    partner = EstablishmentFactory(finess="590000022", name="CH PARTENAIRE DE TEST", siret="", region=region("32"))
    w.owner, w.coeditor = UserFactory(), UserFactory()
    for user in (w.owner, w.coeditor):
        for e in (porteur, partner):
            EstablishmentAccess.objects.create(user=user, establishment=e)
    w.dossier = services.start_dossier(w.call, porteur, w.owner, partners=[partner])
    for section in w.schema.sections:
        data, files = answer_everything(w.schema, section)
        result = services.save_section(w.dossier, section.key, data, files, w.owner)
        assert not result.form.errors, (section.key, result.form.errors)
    w.dossier.refresh_from_db()
    assert services.missing_items(w.dossier) == []
    assert len(w.dossier.answers["actions"]) == ROWS
    invitation = Invitation.objects.create(dossier=w.dossier, email=w.coeditor.email, invited_by=w.owner)
    services.accept_invitation(invitation, w.coeditor)
    with django_capture_on_commit_callbacks(execute=True):
        services.file_dossier(w.dossier, w.owner)
    w.dossier.refresh_from_db()
    w.attachments = list(w.dossier.attachments.all())
    file_fields = [f for f in w.schema.top_fields() if f.type == "file"]
    assert len(w.attachments) == len(file_fields) + ROWS  # every file field, and the devis of each action
    w.instructor, w.admin = InstructorFactory(), ArsAdminFactory()
    w.superuser = User.objects.create_superuser(email="racine@exemple.fr", password="motdepasse-de-test-2024")
    with django_capture_on_commit_callbacks(execute=True):
        messaging.post_message(w.dossier, w.instructor, "Merci d'envoyer le devis signé.",
                               upload=SimpleUploadedFile("demande-ars.pdf", b"%PDF-1.4 ars"))
        messaging.post_message(w.dossier, w.owner, "Voici le devis signé.",
                               upload=SimpleUploadedFile("devis-signe.pdf", b"%PDF-1.4 signe"))
        w.expert = experts.ask(w.dossier, w.instructor, email="experte@exemple.fr",
                               question="Le diagnostic est-il solide ?",
                               upload=SimpleUploadedFile("note-de-cadrage.pdf", b"%PDF-1.4 note"))
        other = experts.ask(w.dossier, w.instructor, email="expert2@exemple.fr", question="Les coûts ?")
        experts.answer(other, text="Coûts cohérents avec le marché.",
                       upload=SimpleUploadedFile("avis-expert.pdf", b"%PDF-1.4 avis"))
    w.message_files = list(MessageAttachment.objects.filter(message__dossier=w.dossier))
    w.expert_files = list(ExpertFile.objects.filter(request=w.expert))  # what the link opens
    w.all_expert_files = list(ExpertFile.objects.filter(request__dossier=w.dossier))  # what the ARS opens
    assert len(w.message_files) == 2 and len(w.expert_files) == 1 and len(w.all_expert_files) == 2
    w.dossier.annotations = {"avis_instructeur": "Projet solide, diagnostic partagé."}
    w.dossier.save(update_fields=["annotations"])
    w.member = UserFactory(email="membre.commission@exemple.fr")
    w.session = arbitration.create_session(w.call, w.instructor, title="Commission du 12 mars",
                                           held_on=now + dt.timedelta(days=40), place="Lille",
                                           convention_starts_on=dt.date(2025, 4, 1),
                                           convention_ends_on=dt.date(2026, 12, 31))
    arbitration.add_member(w.session, w.instructor, w.member, "membre")
    workflow.apply(w.dossier, "passer_en_instruction", w.instructor)
    added, refused = arbitration.add_to_agenda(w.session, [Dossier.objects.get(pk=w.dossier.pk)], w.instructor)
    assert added, refused
    w.other_instructor = InstructorFactory(region=region("44"))
    w.stranger = UserFactory()
    return w


# --- who sees what -------------------------------------------------------------------------------------

# The expert's pages open with the secret link alone (no account): whoever holds it is the expert; the
# others have no such link, and a link never opens another dossier's file (tests/test_experts.py).
BY_LINK = {"experts:answer", "experts:file", "experts:question_file"}
ROLES = ("owner", "coeditor", "instructor", "admin", "superuser", "expert", "member", "other_instructor", "stranger")
ARS = ("instructor", "admin", "superuser")
APPLICANTS = ("owner", "coeditor")
# URL name → the roles that get the page (200); everyone else gets 403 or 404 (or a redirect to log in).
SEEN_BY = {
    "dossiers:summary": APPLICANTS + ARS,
    "dossiers:section": APPLICANTS,
    "dossiers:file": APPLICANTS,
    "dossiers:partners": APPLICANTS,
    "dossiers:duplicate": APPLICANTS,
    "dossiers:attachment": APPLICANTS + ARS + ("member",),  # a member reads the dossiers on their agenda
    "dossiers:zip": APPLICANTS + ARS,
    "instruction:dossier": ARS,
    "instruction:decide": ARS,
    "messaging:thread": APPLICANTS + ARS,
    "messaging:attachment": APPLICANTS + ARS,
    "experts:dossier": ARS,
    "experts:ars_file": ARS,
    "experts:answer": ("expert",),
    "experts:file": ("expert",),
    "experts:question_file": ("expert",),
    "commission:grid": ARS + ("member",),
    "commission:member_dossier": ARS + ("member",),
    "commission:session": ARS + ("member",),
    "commission:agenda": ARS,
    "commission:session_xlsx": ARS + ("member",),
    "commission:sessions": ARS,
    "commission:ranking": ARS,
    "instruction:workspace": ARS,
    "reporting:workspace_export": ARS,
    "reporting:call_statistics": ARS,
    "reporting:call_statistics_download": ARS,
    "reporting:call_bilan": ARS,
    "figures:call": ROLES,  # the call's ARS published its figures (tests/test_bilan.py: closed when it has not)
    "reporting:region_statistics_of": ARS,
    "reporting:region_statistics_download": ARS,
    "reporting:national_statistics_download": ("superuser",),  # and the national reader (tests/test_statistics.py)
    **dict.fromkeys(["reporting:templates", "reporting:template_create", "reporting:template_edit",
                     "reporting:template_delete", "reporting:template_export"], ARS),
    "reporting:workspace_zip": ARS,
    "reporting:dossier_pdf": APPLICANTS + ARS,
    "calls:detail": ROLES,  # a published call is public
}
# A page that lists or shows the dossier's files names each of them.
SHOWS_FILES = {"dossiers:summary", "instruction:dossier", "experts:answer", "commission:member_dossier"}


def user_of(w, role):
    return None if role == "expert" else getattr(w, role)


def test_seen_by_covers_every_page():
    assert set(SEEN_BY) == set(PAGES)


def _text(response) -> str:
    if response.get("Content-Type", "").startswith("text/html"):
        return html.unescape(response.content.decode())
    return ""


@pytest.mark.parametrize("state", [State.EN_CONSTRUCTION, State.EN_INSTRUCTION, State.ACCEPTE])
def test_every_role_gets_every_page_of_a_full_dossier(client, world, state):
    w = world
    client.raise_request_exception = False  # a server error is one more line of the report, not the end
    Dossier.objects.filter(pk=w.dossier.pk).update(state=state)
    w.dossier.refresh_from_db()
    failures = []
    for role in ROLES:
        client.logout()
        user = user_of(w, role)
        if user is not None:
            client.force_login(user)
        for name, fill in PAGES.items():
            if (name in BY_LINK) != (role == "expert") and name in BY_LINK:
                continue
            for args, file_name in fill(w):
                url = reverse(name, args=args)
                response = client.get(url)
                if role in SEEN_BY[name]:
                    if name == "dossiers:file" and not w.dossier.is_editable:
                        expected = (200, 302)  # nothing left to file: the page may send back to the summary
                    else:
                        expected = (200,)
                else:
                    expected = (302, 403, 404) if user is None else (403, 404)
                failures += [f"{state} {role} {url}: {p}" for p in policy_problems(response)]
                if response.status_code not in expected:
                    failures.append(f"{state} {role} {url} ({name}): {response.status_code}, expected {expected}")
                    continue
                if response.status_code != 200:
                    continue
                if file_name and file_name not in unquote(response.get("Content-Disposition", "")):
                    failures.append(f"{state} {role} {url}: not the file {file_name}: "
                                    f"{response.get('Content-Disposition')!r}")
                if name in SHOWS_FILES:
                    page = _text(response)
                    missing = [a.original_name for a in w.attachments if a.original_name not in page]
                    if missing:
                        failures.append(f"{state} {role} {url}: files not named: {missing}")
                if name == "dossiers:section":
                    shown = [a.original_name for a in w.attachments
                             if w.schema.field(a.field_path.split(".")[0]) in w.schema.section(args[1]).fields]
                    page = _text(response)
                    missing = [n for n in shown if n not in page]
                    if missing:
                        failures.append(f"{state} {role} {url}: files not named: {missing}")
                if name == "dossiers:zip":
                    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
                        entries = archive.namelist()
                    missing = [a.original_name for a in w.attachments
                               if not any(e.endswith(a.original_name) for e in entries)]
                    if missing:
                        failures.append(f"{state} {role} {url}: files not in the ZIP: {missing}")
                if name == "instruction:dossier" and "Projet solide, diagnostic partagé." not in _text(response):
                    failures.append(f"{state} {role} {url}: the private annotations are not shown")
                if name == "experts:dossier":
                    page = _text(response)
                    missing = [f.original_name for f in w.all_expert_files if f.original_name not in page]
                    if missing or "Coûts cohérents avec le marché." not in page:
                        failures.append(f"{state} {role} {url}: the opinions or their files are not shown: {missing}")
                if name == "messaging:thread":
                    page = _text(response)
                    missing = [a.original_name for a in w.message_files if a.original_name not in page]
                    if missing:
                        failures.append(f"{state} {role} {url}: message files not named: {missing}")
    assert not failures, "\n".join(failures)


# --- the pages without an argument ---------------------------------------------------------------------

NO_ARGUMENT_SKIPPED = ("admin/",)  # the admin's pages are listed from its registry (``admin_pages``)
API_PAGES = ("api:openapi-view",)  # the API's documentation is HTML (Swagger UI from ninja's static files)


def patterns_without_arguments(resolver=None, prefix="", space=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            route = prefix + str(pattern.pattern)
            if route.startswith(NO_ARGUMENT_SKIPPED):
                continue
            yield from patterns_without_arguments(pattern, route, f"{space}{pattern.namespace}:"
                                                  if pattern.namespace else space)
        elif isinstance(pattern, URLPattern) and not pattern.pattern.regex.groups and pattern.name:
            name = space + pattern.name
            if not (prefix.startswith("api/") and name not in API_PAGES):
                yield name


def admin_pages(w) -> list[str]:
    """The administration's pages: its index, each model's list, addition and first object, and ours (previews)."""
    pages = [reverse("admin:index"), reverse("admin:calls_call_preview", args=[w.call.pk])]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages += [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse(f"{prefix}_change", args=[first.pk]))
    return pages


def test_every_role_gets_every_page_without_an_argument_under_the_policy(client, world):
    w = world
    client.raise_request_exception = False
    names = sorted(set(patterns_without_arguments()))
    assert {"home", "account_login", "calls:list", "dossiers:mine", "api:openapi-view"} <= set(names)
    pages = [reverse(name) for name in names]
    failures, html_pages = [], 0
    for role in (None, "owner", "instructor", "admin", "superuser", "member"):
        client.logout()
        if role:
            client.force_login(getattr(w, role))
        for url in pages + (admin_pages(w) if role in ("admin", "superuser") else []):
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"{role} {url}: {response.status_code}")
            html_pages += response.get("Content-Type", "").startswith("text/html")
            failures += [f"{role} {url}: {p}" for p in policy_problems(response)]
    assert html_pages > 50
    assert not failures, "\n".join(failures)
