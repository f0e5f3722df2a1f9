"""Background tasks of the core: the antivirus scan of a stored file."""

from django.apps import apps
from django_tasks import task


@task(queue_name="default")
def scan_stored_file(model_label: str, pk: int) -> str:
    """Scan one stored file with clamd and record the result on it; returns the state recorded
    (``missing`` when the file was deleted before its scan)."""
    from .antivirus import scan_instance

    instance = apps.get_model(model_label).objects.filter(pk=pk).first()
    if instance is None:
        return "missing"
    return scan_instance(instance)
