"""Exchange rates: global reference data (not tenant-owned), used wherever an amount is shown or compared in
the tenant's reporting currency. Refund rules need it below finance, so it lives in the core."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.money import RATE_DECIMAL_PLACES, RATE_MAX_DIGITS, validate_currency_code


class ExchangeRate(models.Model):
    """`rate` units of `quote` for one unit of `base` on `rate_date`, as published by `source`."""

    base = models.CharField(_("from"), max_length=3, validators=[validate_currency_code])
    quote = models.CharField(_("to"), max_length=3, validators=[validate_currency_code])
    rate_date = models.DateField(_("date"))
    rate = models.DecimalField(_("rate"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES)
    source = models.CharField(_("source"), max_length=40)
    created_at = models.DateTimeField(_("loaded"), default=timezone.now)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(fields=["base", "quote", "rate_date", "source"], name="fx_rate_unique"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_positive"),
        ]
        indexes = [models.Index(fields=["base", "quote", "-rate_date"], name="fx_rate_latest")]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate} {self.quote} ({self.rate_date})"
