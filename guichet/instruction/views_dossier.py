"""The instructor's dossier page: answers, history, following, private annotations, the « Instruire » menu
leading to one page per decision, and the way back to the workspace list it was opened from (its querystring
travels along: « Retour à la liste », previous / next dossier); batch operations on dossiers checked in a list;
the applicant's « Déposer les corrections ».

Every change of state goes through ``guichet.dossiers.workflow.apply``; dossiers are fetched
through ``Dossier.objects.visible_to`` and then ``workflow.can_instruct`` (others get a 404).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from guichet.core import audit
from guichet.core.ids import parse_id
from guichet.dossiers import display, services, workflow
from guichet.dossiers.models import Dossier, State
from guichet.formschema.forms import FormContext, build_section_form, merge_section

from . import batch, groups, workspace
from .annotations import annotations_version
from .forms import BatchForm, TransitionForm, motivation_label, takes_file
from .models import InstructorGroup
from .views_workspace import list_query, list_state


def instructed_or_404(request, pk, lock=False) -> Dossier:
    """A dossier the user instructs (ARS staff of its call's region, or superuser); 404 for anyone else."""
    queryset = Dossier.objects.visible_to(request.user).select_related("call__region", "establishment",
                                                                       "form_version")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    dossier = get_object_or_404(queryset, pk=pk)
    if not workflow.can_instruct(request.user, dossier):
        raise Http404
    return dossier


def _annotation_forms(dossier, bound=None):
    """``[(section, form)]`` of the call's annotations schema; ``bound`` = (section key, posted form)."""
    version = annotations_version(dossier.call)
    if version is None:
        return None, []
    schema = version.parsed()
    forms = []
    for section in schema.sections:
        if bound and bound[0] == section.key:
            form = bound[1]
        else:
            form = build_section_form(schema, section, dossier.annotations or {}, {}, FormContext())
            form.is_valid()
        forms.append({"section": section, "form": form, "entries": form.layout()})
    return schema, forms


def _buttons(dossier, user) -> list[workflow.Transition]:
    """The events available now, plus the decisions of this state held back by a guard (mandatory
    annotations…): shown with their reason, so the instructor knows what is missing."""
    available = workflow.available(dossier, user)
    if dossier.archived:
        return available
    return [t for t in workflow.TRANSITIONS.values() if t in available or (
        t.actor == workflow.INSTRUCTOR and dossier.state in t.sources and t.event != "desarchiver")]


def _suffix(request) -> str:
    """The workspace list the instructor came from, as a querystring to carry on ("" if none)."""
    query = list_query(request.GET)
    return f"?{query}" if query else ""


def _list_navigation(request, dossier) -> dict:
    """« Retour à la liste » and the previous / next dossier of that list (same tab, filters, search, sort)."""
    suffix = _suffix(request)
    tab, sort, _form, filters, _labels = list_state(request.GET, dossier.call)
    previous, following = workspace.neighbours(dossier.call, request.user, dossier.pk, tab, filters, sort)

    def link(pk):
        return reverse("instruction:dossier", args=[pk]) + suffix if pk else None

    return {"list_url": reverse("instruction:workspace", args=[dossier.call.slug]) + suffix,
            "previous_url": link(previous), "next_url": link(following), "list_suffix": suffix}


def _page(request, dossier, annotation_bound=None, status=200):
    schema = dossier.form_version.parsed()
    user = request.user
    forms = [{"transition": t, "blocked": workflow.why_not(t, dossier, user)} for t in _buttons(dossier, user)]
    annotations_schema, annotation_forms = _annotation_forms(dossier, annotation_bound)
    return render(request, "instruction/dossier.html", {
        "dossier": dossier, "sections": display.answer_sections(schema, dossier.answers),
        "events": dossier.events.select_related("actor"), "transitions": forms,
        "following": dossier.followers.filter(pk=user.pk).exists(),
        "followers": dossier.followers.order_by("email"),
        "annotations_schema": annotations_schema, "annotation_forms": annotation_forms,
        "is_member": False, "editable": True, "nav": "instruction",
        "page_title": f"Instruction du dossier {dossier}",
        **_assignment_context(dossier), **_list_navigation(request, dossier),
    }, status=status)


def _decision_page(request, dossier, t, form, status=200):
    """One decision: its motivation (mandatory or not), an optional document, and the confirmation."""
    return render(request, "instruction/decision.html", {
        "dossier": dossier, "transition": t, "form": form, "label": motivation_label(t),
        "takes_file": takes_file(t), "target_label": dict(State.choices).get(t.target, ""),
        "motivation_shown": t.motivation_required or takes_file(t),
        "blocked": workflow.why_not(t, dossier, request.user), "list_suffix": _suffix(request),
        "nav": "instruction", "page_title": f"{t.label} — dossier {dossier}",
    }, status=status)


def _instructor_event(event) -> workflow.Transition:
    t = workflow.TRANSITIONS.get(event)
    if t is None or t.actor != workflow.INSTRUCTOR:
        raise Http404
    return t


@login_required
def decide(request, pk, event):
    """The page of one entry of the « Instruire » menu (works without JavaScript: a plain link)."""
    found = instructed_or_404(request, pk)
    t = _instructor_event(event)
    if t not in _buttons(found, request.user):
        messages.error(request, workflow.why_not(t, found, request.user) or "Cette action n'est pas possible.")
        return redirect(reverse("instruction:dossier", args=[pk]) + _suffix(request))
    return _decision_page(request, found, t, TransitionForm(transition=t, prefix=t.event))


@login_required
def dossier(request, pk):
    found = instructed_or_404(request, pk)
    audit.record(request.user, "view", dossier=found, request=request)
    return _page(request, found)


@login_required
@require_POST
def transition(request, pk, event):
    found = instructed_or_404(request, pk)
    t = _instructor_event(event)
    form = TransitionForm(request.POST, request.FILES, transition=t, prefix=t.event)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        messages.error(request, f"« {t.label} » n'a pas été fait : {first}")
        return _decision_page(request, found, t, form, status=400)
    try:
        workflow.apply(found, t.event, request.user, motivation=form.cleaned_data["motivation"],
                       upload=form.cleaned_data.get("file") if takes_file(t) else None)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "Vous ne pouvez pas faire cette action.")
    except ValidationError as exc:
        messages.error(request, f"« {t.label} » n'a pas été fait : {exc.messages[0]}")
        if t.motivation_required:  # keep the text typed, the reason shown at the field
            form.add_error("motivation", exc.messages[0])
            return _decision_page(request, instructed_or_404(request, pk), t, form, status=400)
    else:
        messages.success(request, t.done)
    return redirect(reverse("instruction:dossier", args=[pk]) + _suffix(request))


@login_required
@require_POST
def follow(request, pk):
    found = instructed_or_404(request, pk)
    if found.followers.filter(pk=request.user.pk).exists():
        found.followers.remove(request.user)
        audit.record(request.user, "unfollow", dossier=found, request=request)
        messages.success(request, "Vous ne suivez plus ce dossier.")
    else:
        found.followers.add(request.user)
        audit.record(request.user, "follow", dossier=found, request=request)
        messages.success(request, "Vous suivez ce dossier : vous serez prévenu quand le déposant dépose des "
                                  "corrections.")
    return redirect(reverse("instruction:dossier", args=[pk]) + _suffix(request))


def _assignment_context(dossier) -> dict:
    """The call's instructor groups and the dossier's, for the « Groupe instructeur » form."""
    return {"instructor_groups": list(InstructorGroup.objects.filter(call_id=dossier.call_id)),
            "current_group": groups.group_of(dossier)}


@login_required
@require_POST
def assign_group(request, pk):
    """An instructor of the region moves the dossier to another group of its call (or to none)."""
    found = instructed_or_404(request, pk)
    raw = request.POST.get("groupe", "")
    group = None
    if raw:
        if parse_id(raw) is None:
            raise Http404
        group = get_object_or_404(InstructorGroup, pk=parse_id(raw), call_id=found.call_id)
    if groups.assign(found, group, request.user, request=request):
        messages.success(request, f"Le dossier est confié au groupe « {group.name} »." if group
                         else "Le dossier n'est plus confié à aucun groupe.")
    else:
        messages.info(request, "Le groupe instructeur du dossier n'a pas changé.")
    return redirect(reverse("instruction:dossier", args=[pk]) + _suffix(request) + "#groupe-instructeur")


@login_required
@require_POST
def annotations(request, pk, section):
    """Save one section of the private annotations: valid values are stored; invalid ones are not,
    and the page comes back with them kept in their fields and their errors shown."""
    with transaction.atomic():
        found = instructed_or_404(request, pk, lock=True)
        version = annotations_version(found.call)
        schema = version.parsed() if version else None
        current = schema.section(section) if schema else None
        if current is None:
            raise Http404
        stored = found.annotations or {}
        form = build_section_form(schema, current, stored, {}, FormContext(), data=request.POST)
        form.is_valid()
        values, _pending, _uploads = form.extract()
        merged, _ = merge_section(current, stored, {}, values, {}, form.row_counts)
        changed = sorted(k for k in set(merged) | set(stored) if merged.get(k) != stored.get(k))
        if changed:
            found.annotations = merged
            found.save(update_fields=["annotations", "updated_at"])
            audit.record(request.user, "annotations", dossier=found, request=request, section=section,
                         fields=changed)
    if form.errors:
        messages.warning(request, "Certaines annotations sont à corriger : elles n'ont pas été enregistrées et sont "
                                  "signalées ci-dessous.")
        return _page(request, found, annotation_bound=(section, form), status=400)
    messages.success(request, "Les annotations privées ont été enregistrées.")
    return redirect(reverse("instruction:dossier", args=[pk]) + _suffix(request) + "#annotations")


@login_required
@require_POST
def batch_action(request):
    if not request.user.is_ars_staff:
        raise Http404
    form = BatchForm(request.POST)
    ids = request.POST.getlist("dossier")
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = ""
    context = {"back": back, "nav": "instruction", "page_title": "Action sur plusieurs dossiers", "form": form}
    if not ids:
        context["error"] = "Sélectionnez au moins un dossier."
        return render(request, "instruction/batch_result.html", context, status=400)
    if not form.is_valid():
        context["error"] = " ".join(e for errors in form.errors.values() for e in errors)
        return render(request, "instruction/batch_result.html", context, status=400)
    action = form.cleaned_data["action"]
    try:
        result = batch.run(ids, action, request.user, motivation=form.cleaned_data["motivation"])
    except ValidationError as exc:
        context["error"] = exc.messages[0]
        return render(request, "instruction/batch_result.html", context, status=400)
    context.update(result=result, action_label=dict(batch.choices())[action])
    return render(request, "instruction/batch_result.html", context)


@login_required
@require_POST
def file_corrections(request, pk):
    """The applicant files the corrections the ARS asked for (the dossier stays « en construction »)."""
    found = get_object_or_404(Dossier.objects.visible_to(request.user), pk=pk)
    try:
        workflow.apply(found, "deposer_corrections", request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        missing = services.missing_items(found)
        messages.success(request, "Vos corrections ont été déposées : l'ARS en est informée."
                         + (" Attention : des éléments obligatoires manquent encore." if missing else ""))
    return redirect("dossiers:summary", pk=pk)
