"""Reference rates so a fresh install converts without a network: EUR-based, as of 2026-01-02 (rounded ECB
reference rates). Later rates (loaded by finance) take precedence by date."""

from datetime import date
from decimal import Decimal

from django.db import migrations

SOURCE = "acorn-reference"
RATE_DATE = date(2026, 1, 2)
EUR_RATES = {
    "USD": "1.1700", "GBP": "0.8700", "JPY": "182.00", "CNY": "8.2500", "CAD": "1.6100", "MXN": "21.200",
    "AUD": "1.7600", "SEK": "10.900", "PLN": "4.2200", "CHF": "0.9300", "HKD": "9.1000", "SGD": "1.5100",
    "NZD": "2.0200", "BRL": "6.4000", "INR": "105.00", "AED": "4.3000", "SAR": "4.3900", "TRY": "50.000",
    "DKK": "7.4700", "NOK": "11.800", "CZK": "24.300", "HUF": "385.00", "KRW": "1690.0",
}  # fmt: skip


def load(apps, schema_editor):
    ExchangeRate = apps.get_model("fx", "ExchangeRate")
    for quote, rate in EUR_RATES.items():
        ExchangeRate.objects.get_or_create(
            base="EUR", quote=quote, rate_date=RATE_DATE, source=SOURCE, defaults={"rate": Decimal(rate)}
        )


def unload(apps, schema_editor):
    apps.get_model("fx", "ExchangeRate").objects.filter(source=SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [("fx", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
