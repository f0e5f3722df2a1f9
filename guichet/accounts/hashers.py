"""Password hashing: Argon2id with parameters chosen for a login that does not starve other requests.

Django's PBKDF2 (1 000 000 iterations in Django 5.2) costs ≈ 0.23 s of CPU per login on the production kind
of machine; 200 applicants logging in before a deadline queued every other request behind it. Argon2id at
OWASP's first recommended setting (m = 19 MiB, t = 2, p = 1) costs ≈ 17 ms of CPU there, and its memory
hardness is what resists GPU cracking, not CPU time. Measures and reasoning: docs/performance.md
(« Hachage des mots de passe »). Django's own Argon2 defaults (m = 100 MiB, t = 2, p = 8) cost as much CPU as
PBKDF2 here and would use 8 threads of a 2-core machine.

Same algorithm name as Django's (``argon2``): existing PBKDF2 hashes still verify (``settings.PASSWORD_HASHERS``
keeps PBKDF2 after this one) and are rehashed with these parameters at the user's next login, as are Argon2
hashes made with other parameters (Django's ``must_update``).
"""

from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2PasswordHasher


class Argon2PasswordHasher(DjangoArgon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB: 19 MiB
    parallelism = 1
