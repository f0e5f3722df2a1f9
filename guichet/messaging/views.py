"""Pages of the messagerie: a dossier's thread with its form, deleting a message, downloading a file.

Every view reaches the dossier through ``Dossier.objects.visible_to``: anyone else gets a 404.
"""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from guichet.core import downloads
from guichet.dossiers.models import Dossier

from . import services, unread
from .forms import MessageForm
from .models import AwaitedDocument, Message, MessageAttachment


def _dossier(request, pk) -> Dossier:
    return get_object_or_404(
        services.threads_visible_to(request.user).select_related("call__region", "establishment"), pk=pk)


def _author_label(message: Message, user, dossier: Dossier) -> str:
    if message.author_id and message.author_id == user.pk:
        return "Vous"
    if message.from_ars:
        return dossier.call.region.ars_name
    return dossier.establishment.name


@login_required
def thread(request, pk):
    dossier = _dossier(request, pk)
    member = services.is_member(request.user, dossier)
    can_post = services.can_post(request.user, dossier)
    awaited = AwaitedDocument.objects.filter(dossier=dossier).awaited()
    form_kwargs = {"awaited_documents": awaited if member and awaited.exists() else None}
    if request.method == "POST":
        if not can_post:
            raise PermissionDenied(services.closed_reason(dossier) or "Vous ne pouvez pas écrire sur ce dossier.")
        request.FILES  # noqa: B018  (parse the upload: the handler leaves its refusals on the request)
        upload_error = getattr(request, "upload_errors", {}).get("attachment")
        form = MessageForm(request.POST, request.FILES, upload_error=upload_error, **form_kwargs)
        if form.is_valid():
            services.post_message(dossier, request.user, form.cleaned_data["body"],
                                  upload=form.cleaned_data.get("attachment"),
                                  awaited=form.cleaned_data.get("awaited"), request=request)
            flash.success(request, "Votre message a été envoyé.")
            return redirect("messaging:thread", pk=dossier.pk)
        if request.FILES.get("attachment") or upload_error:
            form.add_error(None, "Le fichier n'a pas été conservé : sélectionnez-le à nouveau.")
        status = 200
    else:
        form = MessageForm(**form_kwargs)
        status = 200
    now = timezone.now()
    thread_messages = list(Message.objects.filter(dossier=dossier).select_related("author")
                           .prefetch_related("attachments", "received_documents"))
    unread.mark_read(request.user, dossier, now)  # what this page shows is read from now on
    items = [{"message": m, "author": _author_label(m, request.user, dossier),
              "can_delete": m.can_delete(request.user, now)} for m in thread_messages]
    return render(request, "messaging/thread.html", {
        "dossier": dossier, "items": items, "form": form if can_post else None, "is_member": member,
        "closed": services.closed_reason(dossier), "awaited": awaited,
        "received": AwaitedDocument.objects.filter(dossier=dossier, received_at__isnull=False),
        "nav": "dossiers", "page_title": f"Messagerie — dossier {dossier}",
    }, status=status)


@login_required
@require_POST
def delete(request, pk, message_id):
    dossier = _dossier(request, pk)
    message = get_object_or_404(Message, pk=message_id, dossier=dossier)
    try:
        services.delete_message(message, request.user, request=request)
    except PermissionDenied:
        flash.error(request, "Ce message ne peut plus être supprimé.")
    else:
        flash.success(request, "Le message a été supprimé.")
    return redirect("messaging:thread", pk=dossier.pk)


@login_required
def attachment(request, pk, attachment_id):
    dossier = _dossier(request, pk)
    item = get_object_or_404(MessageAttachment.objects.select_related("message"), pk=attachment_id,
                             message__dossier=dossier, message__deleted_at__isnull=True)
    return downloads.serve_checked(request, item, dossier, obj=item, message=item.message_id,
                                   name=item.original_name)
