"""The commission: a scoring grid per call, and the scores the ARS gives each dossier.

A criterion has a weight and a scale (0 to ``scale_max``); each scorer gives each criterion a
value. A dossier's score is, for each scorer, the weighted mean of its values brought to /20, then
the mean over its scorers; the spread between scorers shows where they disagree.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Criterion(models.Model):
    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="criteria",
                             verbose_name="appel à projets")
    label = models.CharField("critère", max_length=200)
    help = models.CharField("précision", max_length=500, blank=True)
    weight = models.DecimalField("coefficient", max_digits=5, decimal_places=2, default=Decimal("1"),
                                 validators=[MinValueValidator(Decimal("0.01"))])
    scale_max = models.PositiveSmallIntegerField("note maximale", default=5,
                                                 validators=[MinValueValidator(1), MaxValueValidator(100)])
    order = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        ordering = ["call", "order", "pk"]
        verbose_name = "critère de notation"
        verbose_name_plural = "critères de notation"

    def __str__(self):
        return f"{self.label} (×{self.weight}, sur {self.scale_max})"


class Score(models.Model):
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="scores")
    scorer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    value = models.PositiveSmallIntegerField("note")
    comment = models.CharField("commentaire", max_length=1000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dossier", "criterion", "scorer"], name="one_score_each")]
