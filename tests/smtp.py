"""A real SMTP server on loopback for tests, and Django's SMTP backend pointed at it.

Usage in a test module (until the fixtures are registered in tests/conftest.py)::

    from tests.smtp import smtp_email_backend, smtp_server  # noqa: F401

    def test_something(smtp_email_backend):
        ...  # code that sends e-mail through Django
        message = smtp_email_backend.last_to("someone@example.org")
        assert "Bonjour" in smtp_email_backend.body(message)

``smtp_server`` only starts the server (aiosmtpd ``Controller`` on 127.0.0.1, free port);
``smtp_email_backend`` also switches Django to ``django.core.mail.backends.smtp.EmailBackend``
on that host and port for the duration of the test. Both return a :class:`SmtpMailbox`.
"""

from __future__ import annotations

import email
import re
import socket
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

LINK_RE = re.compile(r"https?://[^\s<>\"']+")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpMailbox:
    """Receives the messages of the SMTP server (aiosmtpd handler) and helps reading them."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.host = "127.0.0.1"
        self.port = 0
        self._lock = threading.Lock()

    # aiosmtpd handler hook: called for each message accepted by the server.
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages were received, and return them all."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} message(s) received by the SMTP server, {count} expected")
            time.sleep(0.02)
        return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope recipients include ``address``."""
        return [m for m, (_, rcpts) in zip(self.messages, self.envelopes, strict=True) if address in rcpts]

    def last_to(self, address: str, timeout: float = 5.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while not self.to(address):
            if time.monotonic() > deadline:
                raise AssertionError(f"no message for {address}; received: {[m['To'] for m in self.messages]}")
            time.sleep(0.02)
        return self.to(address)[-1]

    @staticmethod
    def body(message: EmailMessage) -> str:
        """The plain-text body (or the HTML one when there is no plain text)."""
        part = message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    @classmethod
    def links(cls, message: EmailMessage) -> list[str]:
        return LINK_RE.findall(cls.body(message))

    def clear(self):
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) listening on 127.0.0.1 on a free port; yields its mailbox."""
    mailbox = SmtpMailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port, ready_timeout=5)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_email_backend(smtp_server, settings):
    """Django sends e-mail over SMTP to :func:`smtp_server` during the test; yields its mailbox."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return smtp_server
