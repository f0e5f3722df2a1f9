"""Background tasks of the exports: writing a job's file, and the e-mail saying it is ready."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django_tasks import task


@task(queue_name="default")
def build_export(job_pk: int) -> str:
    from . import jobs

    return jobs.run(job_pk)


@task(queue_name="emails")
def export_ready(job_pk: int) -> None:
    from .models import ExportJob, ExportState

    job = ExportJob.objects.select_related("author", "call").filter(pk=job_pk, state=ExportState.READY).first()
    if job is None:
        return
    context = {"job": job, "url": settings.SITE_URL + reverse("reporting:job", args=[job.pk]),
               "mine_url": settings.SITE_URL + reverse("reporting:mine")}
    send_mail(f"Votre export est prêt — {job.get_kind_display()}",
              render_to_string("reporting/emails/export_ready.txt", context), None, [job.author.email])


@task(queue_name="default")
def refresh_statistics(key: str) -> None:
    """Recompute one statistics scope's snapshot (``snapshots.refresh``)."""
    from . import snapshots

    snapshots.refresh(key)
