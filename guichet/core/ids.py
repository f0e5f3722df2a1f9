"""Numbers typed into a request (an id in a form or a query string) before they reach the database.

``str.isdigit`` is true for « ² » or « ٣ », which ``int`` refuses or reads; a number beyond a bigint makes
SQLite raise OverflowError on a foreign-key lookup (Django guards only plain integer fields). Both were
server errors: ``parse_id`` gives None for them, and the caller answers with its French message.
"""

MAX_ID = 2**63 - 1  # PostgreSQL bigint, SQLite INTEGER


def is_ascii_number(text) -> bool:
    """Only the digits 0 to 9 (at least one)."""
    return isinstance(text, str) and text.isascii() and text.isdigit()


def parse_id(raw) -> int | None:
    """A database id (0 to MAX_ID) from what a request carried; None for anything else."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not is_ascii_number(text) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_ID else None
