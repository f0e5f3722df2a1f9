#!/usr/bin/env python
"""Cost of one password check on this machine: Django's PBKDF2, Django's Argon2 defaults, and OWASP's argon2id
settings (the measure behind the parameters of guichet/accounts/hashers.py; docs/performance.md).

    .venv/bin/python benchmarks/hashing.py [--repeat 7]

For each setting: the median wall time and CPU time (user + system of this process) of hashing and of
verifying one password, after one warm-up call. Prints a Markdown table and the load average.
"""

import argparse
import os
import resource
import statistics
import time
from hashlib import pbkdf2_hmac

from argon2 import PasswordHasher, Type

PASSWORD = "Deadline-rush-2026!"
# (label, time_cost, memory_cost KiB, parallelism)
ARGON2 = [
    ("Django's Argon2 defaults", 2, 102400, 8),
    ("OWASP argon2id", 1, 47104, 1),
    ("**OWASP argon2id, chosen**", 2, 19456, 1),
    ("OWASP argon2id", 3, 12288, 1),
    ("OWASP argon2id", 5, 7168, 1),
]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(fn, repeat: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``fn()``."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        c, t = cpu(), time.perf_counter()
        fn()
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((cpu() - c) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("| Setting | verify: wall (ms) | verify: CPU (ms) | memory per check |")
    print("|---|---:|---:|---:|")
    wall, used = measure(lambda: pbkdf2_hmac("sha256", PASSWORD.encode(), b"0123456789abcdef", 1_000_000),
                         max(3, args.repeat // 2))
    print(f"| Django 5.2 PBKDF2-SHA256, 1 000 000 iterations | {wall:.0f} | {used:.0f} | — |")
    for label, t, m, p in ARGON2:
        hasher = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p, type=Type.ID)
        encoded = hasher.hash(PASSWORD)
        wall, used = measure(lambda hasher=hasher, encoded=encoded: hasher.verify(encoded, PASSWORD), args.repeat)
        print(f"| {label} (t = {t}, m = {m} KiB, p = {p}) | {wall:.0f} | {used:.0f} | {m / 1024:.0f} MiB |")
    print("\nLoad average (1, 5, 15 min): " + " / ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
