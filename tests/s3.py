"""A real S3 endpoint on loopback for the tests: ``moto_server`` run as a subprocess.

``s3_server`` (one per test session and worker) starts it on a free port and waits until it answers;
``s3_storage`` gives a test its own new bucket and switches ``STORAGES["default"]`` to django-storages'
S3Storage on it, with the options the production settings use (private ACL, signed URLs, no overwrite).
Django resets its storages when ``STORAGES`` changes, and ``FileField``s use the lazy ``default_storage``,
so uploads, downloads and commands of that test all go to the bucket.

A test module uses them with ``from tests import s3`` and ``s3_server, s3_storage = s3.s3_server, s3.s3_storage``.
"""

import socket
import subprocess
import sys
import time
import uuid

import pytest

ACCESS = {"access_key": "testing", "secret_key": "testing", "region_name": "eu-west-3"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def s3_client(endpoint_url: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, aws_access_key_id=ACCESS["access_key"],
                        aws_secret_access_key=ACCESS["secret_key"], region_name=ACCESS["region_name"])


@pytest.fixture(scope="session")
def s3_server():
    """The endpoint URL of a moto S3 server running for the whole session."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                s3_client(endpoint).list_buckets()
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def s3_options(endpoint: str, bucket: str, presigned_seconds: int = 60) -> dict:
    return {
        "bucket_name": bucket, "endpoint_url": endpoint, "addressing_style": "path", "signature_version": "s3v4",
        "default_acl": "private", "querystring_auth": True, "querystring_expire": max(presigned_seconds, 1),
        "file_overwrite": False, **ACCESS,
    }


@pytest.fixture
def s3_storage(settings, s3_server):
    """Switch this test's file storage to a new, empty bucket; yields the bucket's name."""
    bucket = f"guichet-{uuid.uuid4().hex[:16]}"
    s3_client(s3_server).create_bucket(Bucket=bucket,
                                       CreateBucketConfiguration={"LocationConstraint": ACCESS["region_name"]})
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage",
                                                          "OPTIONS": s3_options(s3_server, bucket)}}
    yield bucket
