"""The audit trail: every action on a dossier recorded — who, when, what, from where.

``record(actor, action, dossier=None, request=None, **details)`` is the single entry point used by
views, services, the API and commands. (Chained, tamper-evident storage: see AuditRecord.)
"""


def record(actor, action: str, dossier=None, request=None, **details) -> None:
    """Record one action. Placeholder until the audit trail storage lands: it records nothing."""
    return None
