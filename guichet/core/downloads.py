"""Serving a stored file to someone who may see it, and checking a stored file against its checksum.

``serve`` is called by views *after* their permission and antivirus checks; it never decides who
may download. Files from a private directory are streamed by ``FileResponse``; files in S3 are
either streamed through the view or, when ``GUICHET_S3_PRESIGNED_SECONDS`` > 0, handed over as a
redirect to a URL signed for that many seconds, which makes S3 send the original name.
"""

import base64
import logging

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header

from . import storage as stored

DOWNLOAD_CHUNK_SIZE = 256 * 1024
logger = logging.getLogger(__name__)


def _content_type(stored_file) -> str:
    return stored_file.content_type or "application/octet-stream"


def _protect(response, stored_file):
    """Headers for a private, user-supplied file: never cached by a proxy, never sniffed or rendered;
    its SHA-256 recorded at upload (RFC 9530 ``Repr-Digest``) lets the receiver verify it."""
    if stored_file.sha256:
        digest = base64.b64encode(bytes.fromhex(stored_file.sha256)).decode()
        response["Repr-Digest"] = f"sha-256=:{digest}:"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _missing(stored_file) -> Http404:
    logger.error("Stored file missing from storage: %s (%s #%s)", stored_file.file.name,
                 stored_file._meta.label, stored_file.pk)
    return Http404("Ce fichier est introuvable.")


def serve(request, stored_file):
    """The response that hands ``stored_file`` to an already authorised user, as an attachment
    under its original name (accents kept: RFC 5987 ``filename*``)."""
    storage = stored_file.file.storage
    name = stored_file.file.name
    disposition = content_disposition_header(True, stored_file.original_name)
    if stored.is_s3(storage):
        seconds = int(getattr(settings, "GUICHET_S3_PRESIGNED_SECONDS", 0) or 0)
        if seconds > 0:
            url = stored.resolve(storage).url(name, expire=seconds, parameters={
                "ResponseContentDisposition": disposition,
                "ResponseContentType": _content_type(stored_file),
            })
            response = HttpResponseRedirect(url)
            response["Cache-Control"] = "private, no-store"
            return response
        try:
            body, length = stored.s3_body(storage, name)
        except FileNotFoundError:
            raise _missing(stored_file) from None
        response = StreamingHttpResponse(stored.iter_body(body, DOWNLOAD_CHUNK_SIZE),
                                         content_type=_content_type(stored_file))
        response["Content-Length"] = str(length)
        response["Content-Disposition"] = disposition
        return _protect(response, stored_file)
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        raise _missing(stored_file) from None
    response = FileResponse(handle, as_attachment=True, filename=stored_file.original_name,
                            content_type=_content_type(stored_file))
    response.block_size = DOWNLOAD_CHUNK_SIZE
    return _protect(response, stored_file)


def serve_checked(request, stored_file, dossier, **audit_details):
    """After the caller's permission check: a file not servable (scan pending, infected, failed) gets the
    « fichier indisponible » page (403); a servable one is recorded in the audit trail and served."""
    from django.shortcuts import render

    from . import audit

    if not stored_file.is_servable:
        return render(request, "dossiers/file_unavailable.html", {"item": stored_file, "dossier": dossier},
                      status=403)
    audit.record(request.user if request.user.is_authenticated else None, "file:download", dossier=dossier,
                 request=request, **audit_details)
    return serve(request, stored_file)


def verify_checksum(stored_file) -> bool:
    """Whether the stored bytes still have the size and SHA-256 recorded at upload.
    False when the file is missing from storage."""
    try:
        found = stored.digest(stored_file.file.storage, stored_file.file.name)
    except FileNotFoundError:
        return False
    return found.size == stored_file.size and (not stored_file.sha256 or found.sha256 == stored_file.sha256)
