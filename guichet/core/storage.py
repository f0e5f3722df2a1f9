"""Reading, writing and listing stored files in bounded memory, whatever the storage behind them.

The Django storage API is enough for a private directory; on S3, django-storages' ``open()``
downloads a whole object into a temporary file before the first byte can be read, so this module
reads S3 objects as a stream of chunks instead. Everything that moves file bytes (downloads, the
ZIP of a dossier, backup, restore, verification) goes through ``read_chunks``; nothing here ever
holds a whole file in memory.
"""

import hashlib
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.core.files.storage import Storage, storages
from django.utils.functional import LazyObject, empty

CHUNK_SIZE = 1024 * 1024


def resolve(storage) -> Storage:
    """The real storage object behind ``default_storage`` (a lazy object) or a field's storage."""
    if isinstance(storage, LazyObject):
        if storage._wrapped is empty:
            storage._setup()
        return storage._wrapped
    return storage


def is_s3(storage) -> bool:
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a requirement
        return False
    return isinstance(resolve(storage), S3Storage)


def alias_of(storage) -> str:
    """The name under ``settings.STORAGES`` of a storage, for manifests (``default`` for uploads)."""
    real = resolve(storage)
    for alias in ["default", *settings.STORAGES]:
        if storages[alias] is real:
            return alias
    return "default"


def s3_key(storage, name: str) -> str:
    """The object key of ``name`` (the bucket location prefix applied, path tricks refused)."""
    from storages.utils import clean_name

    return resolve(storage)._normalize_name(clean_name(name))


def s3_body(storage, name: str):
    """The streaming body of an S3 object and its length. Raises ``FileNotFoundError`` if it is missing."""
    from botocore.exceptions import ClientError

    storage = resolve(storage)
    try:
        answer = storage.connection.meta.client.get_object(Bucket=storage.bucket_name, Key=s3_key(storage, name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(name) from exc
        raise
    return answer["Body"], answer["ContentLength"]


def iter_body(body, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def read_chunks(storage, name: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The bytes of a stored file, chunk by chunk. Raises ``FileNotFoundError`` if it is missing
    (when the first chunk is asked for)."""
    if is_s3(storage):
        body, _ = s3_body(storage, name)
        yield from iter_body(body, chunk_size)
        return
    with resolve(storage).open(name, "rb") as handle:
        while chunk := handle.read(chunk_size):
            yield chunk


@dataclass
class Digest:
    sha256: str
    size: int


def digest(storage, name: str) -> Digest:
    """SHA-256 and size of a stored file, read as a stream."""
    hasher, size = hashlib.sha256(), 0
    for chunk in read_chunks(storage, name):
        hasher.update(chunk)
        size += len(chunk)
    return Digest(hasher.hexdigest(), size)


@dataclass
class Listed:
    name: str
    modified: datetime


def walk(storage, prefix: str) -> Iterator[Listed]:
    """Every file stored under ``prefix`` (a folder such as ``dossiers/``), with its modification time."""
    storage = resolve(storage)
    prefix = prefix.strip("/")
    if is_s3(storage):
        location = storage.location.strip("/")
        root = s3_key(storage, prefix) if prefix else location
        paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=f"{root}/" if root else ""):
            for entry in page.get("Contents", ()):
                key = entry["Key"]
                name = posixpath.relpath(key, location) if location else key
                yield Listed(name, entry["LastModified"])
        return
    if not storage.exists(prefix):
        return
    stack = [prefix]
    while stack:
        folder = stack.pop()
        directories, files = storage.listdir(folder)
        for directory in sorted(directories, reverse=True):
            stack.append(posixpath.join(folder, directory) if folder else directory)
        for file_name in sorted(files):
            name = posixpath.join(folder, file_name) if folder else file_name
            yield Listed(name, storage.get_modified_time(name))


def stored_file_models():
    """Every concrete model holding stored files (subclasses of ``core.StoredFile``)."""
    from guichet.core.models import StoredFile

    return [model for model in apps.get_models() if issubclass(model, StoredFile) and not model._meta.abstract]


def referenced_names() -> set[str]:
    """The storage names of every file a ``StoredFile`` row refers to."""
    names: set[str] = set()
    for model in stored_file_models():
        names.update(model._base_manager.exclude(file="").values_list("file", flat=True).iterator())
    return names
