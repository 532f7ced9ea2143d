"""Money: Decimal amounts with an ISO 4217 currency, quantised to the currency's minor unit.

Floats never enter: constructing Money from a float raises. Adding or comparing amounts in different
currencies raises. Conversion goes through an explicit rate that is kept with the result.

`quantize_amount` is the one place an amount is rounded to a currency's minor unit (two decimals for USD,
none for JPY, three for KWD, half-up); `unit_share` splits an amount over units so that shares taken one
request at a time always add up to the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

from babel import UnknownLocaleError
from babel.core import get_global
from babel.numbers import format_decimal, get_currency_precision, get_territory_currencies, list_currencies
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

AMOUNT_MAX_DIGITS = 20
AMOUNT_DECIMAL_PLACES = 4
RATE_MAX_DIGITS = 20
RATE_DECIMAL_PLACES = 10


def amount_field(verbose_name: Any, **extra: Any) -> models.DecimalField:
    """A model field for an amount (its currency is another field of the row); 0 unless said otherwise."""
    extra.setdefault("default", 0)
    return models.DecimalField(
        verbose_name, max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **extra
    )


class CurrencyMismatchError(ValueError):
    """Raised when amounts in two different currencies are combined."""


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def validate_currency_code(value: str) -> None:
    """Validator for model and form fields: an upper-case ISO 4217 code that Babel knows."""
    if not isinstance(value, str) or len(value) != 3 or not value.isupper() or value not in _known_currencies():
        raise ValidationError(_("%(value)s is not an ISO 4217 currency code."), params={"value": value})


@cache
def currencies_in_use(on: date) -> frozenset[str]:
    """ISO 4217 codes legal tender somewhere on the day `on`, from Babel's (CLDR's) territory currency data with
    its validity dates: withdrawn codes (ADP, AFA, ALK, DEM ...) and funds or metals (XAU, XDR) are not in it."""
    in_use: set[str] = set()
    for territory in get_global("territory_currencies"):
        in_use.update(get_territory_currencies(territory, on, tender=True, non_tender=False))
    return frozenset(in_use & _known_currencies())


def currency_in_use(code: str) -> bool:
    """True if `code` is a currency in current use (today, as `currencies_in_use` says)."""
    return code in currencies_in_use(timezone.now().date())


COMMON_CURRENCIES = ("CNY", "USD", "EUR", "GBP", "JPY", "CAD", "MXN", "AUD", "HKD", "SGD")


def currency_choices() -> list[tuple[str, str]]:
    """Currencies offered in forms, only those in current use: the ones cross-border sellers deal in first, then
    the rest. Stored rows may keep an older code (validate_currency_code stays permissive); forms do not offer it."""
    in_use = currencies_in_use(timezone.now().date())
    common = [code for code in COMMON_CURRENCIES if code in in_use]
    rest = sorted(in_use - set(common))
    return [(code, code) for code in [*common, *rest]]


@cache  # a handful of currencies, read for every amount stored
def minor_unit_exponent(currency: str) -> Decimal:
    """The quantum of a currency's minor unit: Decimal('0.01') for USD, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def quantize_amount(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit: the one rounding of money anywhere in ACORN."""
    return to_decimal(amount).quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP)


def format_number(value: Decimal, *, digits: int, optional_digits: int = 0) -> str:
    """`value` written the way the reader's language (the active Django language) writes numbers, digits grouped
    ("22,412.88" in English and Chinese, "22.412,88" in German), with `digits` decimals always shown and up to
    `optional_digits` more where the value has them. Display only: records and exports keep plain decimals."""
    pattern = "#,##0"
    if digits > 0 or optional_digits > 0:
        pattern += "." + "0" * digits + "#" * optional_digits
    try:
        return format_decimal(value, format=pattern, locale=to_locale(get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        return format_decimal(value, format=pattern, locale="en")


def format_amount(amount: Decimal | int | str, currency: str) -> str:
    """An amount for a person: quantised to the currency's minor unit and grouped per the reader's language
    ("22,412.88" for CNY, "1,990" for JPY, "1,234.500" for KWD). The one formatting of money shown to people (the
    console's `money` filter)."""
    exact = quantize_amount(amount, currency)
    exponent = exact.as_tuple().exponent
    return format_number(exact, digits=-exponent if isinstance(exponent, int) and exponent < 0 else 0)


def unit_share(total: Decimal, *, currency: str, units: int, done: int, taking: int, already: Decimal) -> Decimal:
    """What `taking` more of `units` units carry of `total` (a line's principal, tax, ...), quantised.

    `done` units were taken before and carried `already` of the total. A request that takes the last units
    gets what is left, `total - already`, so every request together gives back the total exactly. Earlier
    requests get their share of the running total quantised, `q(total * (done + taking) / units) -
    q(total * done / units)`: rounding never drifts (nine one-cent-half units do not take nine cents of a
    five-cent line), and no share exceeds what is left or goes below nothing.
    """
    if units <= 0 or taking <= 0:
        return quantize_amount(0, currency)
    if total < 0:
        return -unit_share(-total, currency=currency, units=units, done=done, taking=taking, already=-already)
    left = max(total - already, Decimal(0))
    if done + taking >= units:
        return quantize_amount(left, currency)
    share = quantize_amount(total * (done + taking) / units, currency) - quantize_amount(total * done / units, currency)
    return quantize_amount(min(max(share, Decimal(0)), left), currency)


def allocate(total: Decimal, weights: Sequence[Decimal | int], currency: str) -> list[Decimal]:
    """`total` split over parts in proportion to `weights`, each share quantised, the shares adding up to the
    quantised total exactly: share i is q(total x weights up to i / all) - q(total x weights before i / all),
    so rounding never drifts. Equal parts when every weight is zero; [] for no parts."""
    if not weights:
        return []
    whole = quantize_amount(total, currency)
    values = [to_decimal(weight) for weight in weights]
    if any(value < 0 for value in values):
        raise ValueError("Weights to allocate by cannot be negative.")
    if not any(values):
        values = [Decimal(1)] * len(values)
    all_weight = sum(values, Decimal(0))
    shares, before, running = [], Decimal(0), Decimal(0)
    for value in values:
        running += value
        upto = quantize_amount(whole * running / all_weight, currency)
        shares.append(upto - before)
        before = upto
    return shares


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Parse an amount as vendors send it (string or int). Floats are refused; so is garbage."""
    if isinstance(value, (bool, float)):
        raise TypeError("Money amounts must not be floats; pass a string or Decimal.")
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as error:
            raise ValueError(f"{value!r} is not a decimal amount.") from error
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite amount.")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency. Arithmetic keeps full precision; `quantized()` rounds for records."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        validate_currency_code(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"Cannot combine Money with {type(other).__name__}.")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"Cannot combine {self.currency} with {other.currency}.")
        return other

    def __add__(self, other: object) -> Money:
        return Money(self.amount + self._check(other).amount, self.currency)

    def __sub__(self, other: object) -> Money:
        return Money(self.amount - self._check(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("Money cannot be multiplied by a float.")
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: object) -> bool:
        return self.amount < self._check(other).amount

    def __le__(self, other: object) -> bool:
        return self.amount <= self._check(other).amount

    def __gt__(self, other: object) -> bool:
        return self.amount > self._check(other).amount

    def __ge__(self, other: object) -> bool:
        return self.amount >= self._check(other).amount

    def quantized(self) -> Money:
        """Round half-up to the currency's minor unit, as a ledger, refund or payout record needs."""
        return Money(quantize_amount(self.amount, self.currency), self.currency)

    def __str__(self) -> str:
        """Plain and exact to the minor unit ("84918.37 CNY"): for logs, code and files."""
        return f"{self.quantized().amount} {self.currency}"


@dataclass(frozen=True, slots=True)
class Converted:
    """An amount converted at a known rate; the rate, its date and source travel with it."""

    original: Money
    result: Money
    rate: Decimal
    rate_date: date
    source: str


def convert(money: Money, *, to_currency: str, rate: Decimal, rate_date: date, source: str) -> Converted:
    """Convert with an explicit rate (units of `to_currency` per unit of `money.currency`)."""
    if isinstance(rate, float):
        raise TypeError("Exchange rates must be Decimal.")
    if rate <= 0:
        raise ValueError("An exchange rate must be positive.")
    result = Money(money.amount * rate, to_currency).quantized()
    return Converted(original=money, result=result, rate=rate, rate_date=rate_date, source=source)
