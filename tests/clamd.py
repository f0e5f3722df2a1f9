"""A real ClamAV daemon for the tests, with a signature database of its own.

No signatures can be downloaded here (nor in CI), and clamd refuses to start with an empty database:
``start_clamd`` writes one test signature — the EICAR test string — into a temporary directory with a
``clamd.conf`` listening on a UNIX socket there, runs ``clamd`` in the foreground, and waits for PONG.
It starts in well under a second. ``make test`` installs it (Debian ``clamav-daemon``); a machine without it
fails these tests with the command that fixes it, never skips them, unless ``GUICHET_SKIP_CLAMAV_TESTS=1``.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE_NAME = "Eicar-Test-Signature"
START_TIMEOUT = 60


# The explicit opt-out for a quick run: without it, a missing clamd fails these tests with the fix.
SKIP_VARIABLE = "GUICHET_SKIP_CLAMAV_TESTS"


def clamd_binary() -> str:
    if os.environ.get(SKIP_VARIABLE, "") not in ("", "0"):
        pytest.skip(f"{SKIP_VARIABLE} est défini : tests de l'antivirus ignorés")
    # GUICHET_CLAMD names the binary (the suite's own test of a missing clamd points it nowhere).
    found = os.environ.get("GUICHET_CLAMD") or shutil.which("clamd") or "/usr/sbin/clamd"
    if not os.path.exists(found):
        pytest.fail("clamd est introuvable (/usr/sbin/clamd) : `make test` l'installe (scripts/system-packages test), "
                    "ou en root `apt-get install -y --no-install-recommends clamav clamav-daemon`. Pour une exécution "
                    f"rapide sans antivirus, {SKIP_VARIABLE}=1.", pytrace=False)
    return found


def _pong(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(path)
            sock.sendall(b"zPING\0")
            return sock.recv(16).rstrip(b"\0") == b"PONG"
    except OSError:
        return False


@contextlib.contextmanager
def start_clamd(stream_max_length: str = "210M"):
    """Run a clamd of our own; yields the path of its UNIX socket. Stopped (and cleaned) on exit."""
    binary = clamd_binary()
    directory = Path(tempfile.mkdtemp(prefix="clamd-"))  # short: a socket path must fit in 108 bytes
    hex_string = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE".hex()
    (directory / "test.ndb").write_text(f"{SIGNATURE_NAME}:0:*:{hex_string}\n")
    sock = directory / "clamd.sock"
    log = directory / "clamd.log"
    conf = directory / "clamd.conf"
    conf.write_text("\n".join([
        f"LocalSocket {sock}",
        f"DatabaseDirectory {directory}",
        f"LogFile {log}",
        f"PidFile {directory / 'clamd.pid'}",
        f"TemporaryDirectory {directory}",
        "Foreground yes",
        *(["User root"] if os.geteuid() == 0 else []),  # as root, clamd would switch to the clamav user
        f"StreamMaxLength {stream_max_length}",
        "MaxFileSize 210M",
        "MaxScanSize 210M",
        "",
    ]))
    output = open(directory / "clamd.out", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen([binary, f"--config-file={conf}"], stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _pong(str(sock)):
            if process.poll() is not None or time.monotonic() > deadline:
                output.flush()
                details = (directory / "clamd.out").read_text(errors="replace")
                if log.exists():
                    details += log.read_text(errors="replace")
                pytest.fail(f"clamd n'a pas démarré ({'arrêté' if process.poll() is not None else 'délai dépassé'}) :\n"
                            f"{details[-3000:]}", pytrace=False)
            time.sleep(0.05)
        yield str(sock)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session", name="clamd_socket")
def clamd_socket_fixture():
    """The socket of a clamd that knows one signature: the EICAR test string."""
    with start_clamd() as path:
        yield path


@pytest.fixture(name="clamav")
def clamav_fixture(settings, clamd_socket):
    """The application configured to scan with the test clamd."""
    settings.CLAMAV_SOCKET = clamd_socket
    settings.CLAMAV_HOST = ""
    settings.CLAMAV_TIMEOUT = 30
    return clamd_socket
