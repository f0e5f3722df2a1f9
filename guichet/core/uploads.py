"""Receiving uploads: streamed to a temporary file on disk, never held in memory, with their
SHA-256 computed as the bytes arrive and a hard size limit enforced while they stream in.

Installed for every request by ``FILE_UPLOAD_HANDLERS``. A file that goes past
``GUICHET_MAX_UPLOAD_MB`` is dropped at once (its partial data deleted, the rest of the request
body read and discarded so that the other fields of the form are still saved), and the reason is
left in ``request.upload_errors`` for the view to show at the field.
"""

import hashlib

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


def too_large_message(name: str, limit_mb: int) -> str:
    return f"Le fichier « {name} » dépasse la taille maximale de {limit_mb} Mo : il n'a pas été enregistré."


class LimitedHashingUploadHandler(FileUploadHandler):
    # Larger than Django's 64 KiB: fewer Python round trips per megabyte, memory still bounded.
    chunk_size = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.limit_mb = settings.GUICHET_MAX_UPLOAD_MB
        self.limit = self.limit_mb * 1024 * 1024
        if request is not None and not hasattr(request, "upload_errors"):
            request.upload_errors = {}

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        # Django closes ``self.file`` when a file is skipped: it must always be a file object.
        self.file = TemporaryUploadedFile(self.file_name, self.content_type, 0, self.charset,
                                          self.content_type_extra)
        self.digest = hashlib.sha256()
        self.received = 0
        self.refused = False
        if content_length is not None and content_length > self.limit:
            self._refuse()

    def _refuse(self):
        self.refused = True
        self.file.close()  # a temporary file: closing it deletes the partial data
        if self.request is not None:
            self.request.upload_errors[self.field_name] = too_large_message(self.file_name, self.limit_mb)
        raise SkipFile()

    def receive_data_chunk(self, raw_data, start):
        if self.refused:
            return None
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse()
        self.digest.update(raw_data)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size):
        if self.refused:
            return None
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self.digest.hexdigest()
        return self.file

    def upload_interrupted(self):
        self.file.close()
