"""Reference data for the simulated Shopify shops: shop profiles by currency, exchange rates, products,
tax rates, buyer locations, return reasons and notes in several languages. Pure data, no state."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel import Locale
from babel.numbers import get_currency_precision, list_currencies

from simulator.catalogue import PRODUCT_TEMPLATES


@dataclass(frozen=True)
class ShopProfile:
    """What a shop's home currency implies: country, time zone, whether prices include tax, language."""

    country: str
    province_code: str
    city: str
    zip: str
    timezone: str
    taxes_included: bool
    language: str


SHOP_PROFILES: dict[str, ShopProfile] = {
    "USD": ShopProfile("US", "NY", "New York", "10013", "America/New_York", False, "en"),
    "CAD": ShopProfile("CA", "ON", "Toronto", "M5V 2T6", "America/Toronto", False, "en"),
    "EUR": ShopProfile("DE", "BE", "Berlin", "10115", "Europe/Berlin", True, "de"),
    "GBP": ShopProfile("GB", "ENG", "London", "EC1V 9LT", "Europe/London", True, "en"),
    "AUD": ShopProfile("AU", "NSW", "Sydney", "2000", "Australia/Sydney", True, "en"),
    "JPY": ShopProfile("JP", "JP-13", "渋谷区", "150-0002", "Asia/Tokyo", True, "ja"),
}

# Units of each currency per US dollar (a fixed snapshot, so that the world is stable).
USD_RATES: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "CAD": Decimal("1.38"),
    "EUR": Decimal("0.93"),
    "GBP": Decimal("0.79"),
    "AUD": Decimal("1.53"),
    "JPY": Decimal("152"),
    "CHF": Decimal("0.88"),
    "SEK": Decimal("10.6"),
    "DKK": Decimal("6.94"),
    "NOK": Decimal("10.9"),
    "PLN": Decimal("4.02"),
    "NZD": Decimal("1.66"),
    "MXN": Decimal("17.3"),
    "HKD": Decimal("7.81"),
    "SGD": Decimal("1.35"),
}

# Buyer countries: local currency, shop language of customer notes, and a few ship-to places
# (city, province code, postal code).
BUYER_PLACES: dict[str, tuple[str, str, tuple[tuple[str, str | None, str], ...]]] = {
    "US": (
        "USD",
        "en",
        (
            ("Seattle", "WA", "98101"),
            ("Austin", "TX", "78701"),
            ("Brooklyn", "NY", "11201"),
            ("San Jose", "CA", "95113"),
            ("Miami", "FL", "33130"),
            ("Chicago", "IL", "60601"),
        ),
    ),
    "CA": ("CAD", "en", (("Toronto", "ON", "M5V 2T6"), ("Montréal", "QC", "H2Y 1C6"), ("Vancouver", "BC", "V6B 1A1"))),
    "GB": (
        "GBP",
        "en",
        (("London", "ENG", "SW1A 1AA"), ("Manchester", "ENG", "M1 2AB"), ("Edinburgh", "SCT", "EH1 1YZ")),
    ),
    "IE": ("EUR", "en", (("Dublin", "D", "D02 X285"),)),
    "DE": ("EUR", "de", (("Berlin", None, "10115"), ("München", None, "80331"), ("Hamburg", None, "20095"))),
    "AT": ("EUR", "de", (("Wien", None, "1010"),)),
    "FR": ("EUR", "fr", (("Paris", None, "75001"), ("Lyon", None, "69002"))),
    "IT": ("EUR", "it", (("Milano", "MI", "20121"), ("Roma", "RM", "00184"))),
    "ES": ("EUR", "es", (("Madrid", "M", "28013"), ("Barcelona", "B", "08002"))),
    "CH": ("CHF", "de", (("Zürich", "ZH", "8001"),)),
    "SE": ("SEK", "sv", (("Stockholm", None, "111 52"),)),
    "DK": ("DKK", "da", (("København", None, "1050"),)),
    "AU": ("AUD", "en", (("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000"))),
    "JP": ("JPY", "ja", (("渋谷区", "JP-13", "150-0002"), ("大阪市北区", "JP-27", "530-0001"))),
    "MX": ("MXN", "es", (("Ciudad de México", "CMX", "06700"),)),
}
COUNTRY_NAMES: dict[str, str] = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "DE": "Germany",
    "AT": "Austria",
    "FR": "France",
    "IT": "Italy",
    "ES": "Spain",
    "CH": "Switzerland",
    "SE": "Sweden",
    "DK": "Denmark",
    "AU": "Australia",
    "JP": "Japan",
    "MX": "Mexico",
}
# Where buyers of a shop in each home country live, with weights (domestic first).
BUYER_MIX: dict[str, tuple[tuple[str, int], ...]] = {
    "US": (("US", 78), ("CA", 8), ("GB", 5), ("DE", 3), ("AU", 3), ("JP", 2), ("MX", 1)),
    "CA": (("CA", 75), ("US", 18), ("GB", 4), ("FR", 3)),
    "DE": (("DE", 60), ("AT", 10), ("FR", 8), ("IT", 5), ("ES", 4), ("CH", 5), ("GB", 4), ("SE", 2), ("DK", 2)),
    "GB": (("GB", 70), ("IE", 8), ("DE", 6), ("FR", 6), ("US", 8), ("SE", 2)),
    "AU": (("AU", 85), ("US", 8), ("GB", 4), ("JP", 3)),
    "JP": (("JP", 90), ("US", 6), ("AU", 4)),
}
# Sales tax by US state (added on top), VAT/GST by country (included in prices for those shops).
US_STATE_TAX: dict[str, tuple[str, Decimal]] = {
    "WA": ("WA State Tax", Decimal("0.065")),
    "TX": ("TX State Tax", Decimal("0.0625")),
    "NY": ("NY State Tax", Decimal("0.04")),
    "CA": ("CA State Tax", Decimal("0.0725")),
    "FL": ("FL State Tax", Decimal("0.06")),
    "IL": ("IL State Tax", Decimal("0.0625")),
}
VAT_RATES: dict[str, tuple[str, Decimal]] = {
    "DE": ("DE MwSt", Decimal("0.19")),
    "AT": ("AT USt", Decimal("0.20")),
    "FR": ("FR TVA", Decimal("0.20")),
    "IT": ("IT IVA", Decimal("0.22")),
    "ES": ("ES IVA", Decimal("0.21")),
    "IE": ("IE VAT", Decimal("0.23")),
    "GB": ("GB VAT", Decimal("0.20")),
    "SE": ("SE Moms", Decimal("0.25")),
    "DK": ("DK Moms", Decimal("0.25")),
    "AU": ("AU GST", Decimal("0.10")),
    "JP": ("JP CT", Decimal("0.10")),
    "CA": ("ON HST", Decimal("0.13")),
}

SOURCE_NAMES = (("web", 75), ("shopify_draft_order", 8), ("iphone", 6), ("pos", 5), ("android", 4), ("580111", 2))
ORDER_TAGS = ("vip", "wholesale", "gift", "first-order", "repeat-customer", "preorder", "influencer")
DISCOUNT_CODES = (("WELCOME10", "percentage", Decimal("0.10")), ("SPRING15", "percentage", Decimal("0.15")))
CARRIERS = (
    ("UPS", "https://www.ups.com/track?tracknum="),
    ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels="),
    ("DHL Express", "https://www.dhl.com/en/express/tracking.html?AWB="),
    ("Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/"),
    ("Canada Post", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor="),
    ("Australia Post", "https://auspost.com.au/mypost/track/#/details/"),
    ("Yamato Transport", "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number="),
)
GATEWAYS = {"paid": "shopify_payments", "authorized": "shopify_payments", "pending": "manual"}

# Shopify's ReturnReason enum, with what buyers write when they pick it (by language).
RETURN_REASONS = (
    "SIZE_TOO_SMALL",
    "SIZE_TOO_LARGE",
    "UNWANTED",
    "NOT_AS_DESCRIBED",
    "WRONG_ITEM",
    "DEFECTIVE",
    "STYLE",
    "COLOR",
    "OTHER",
    "UNKNOWN",
)
CUSTOMER_NOTES: dict[str, dict[str, str]] = {
    "SIZE_TOO_SMALL": {
        "en": "Runs small, I need one size up.",
        "de": "Fällt zu klein aus, bitte eine Nummer größer.",
        "fr": "Taille trop petite, il me faut la taille au-dessus.",
        "ja": "サイズが小さすぎました。",
    },
    "SIZE_TOO_LARGE": {
        "en": "Way too big for me.",
        "de": "Viel zu groß.",
        "es": "Me queda demasiado grande.",
        "it": "Troppo grande per me.",
    },
    "UNWANTED": {
        "en": "Changed my mind, sorry.",
        "de": "Ich habe es mir anders überlegt.",
        "sv": "Ångrar köpet.",
        "da": "Fortryder købet.",
    },
    "NOT_AS_DESCRIBED": {
        "en": "The material feels nothing like the photos.",
        "fr": "Ne correspond pas à la description.",
        "it": "Non corrisponde alla descrizione.",
        "ja": "説明と違います。",
    },
    "WRONG_ITEM": {
        "en": "Received the wrong colour.",
        "de": "Falscher Artikel geliefert.",
        "es": "Recibí un artículo equivocado.",
    },
    "DEFECTIVE": {
        "en": "Stopped working after two days.",
        "de": "Nach zwei Tagen defekt.",
        "fr": "Arrivé cassé.",
        "ja": "初期不良でした。",
    },
    "STYLE": {"en": "Not my style after all.", "it": "Non è il mio stile.", "fr": "Pas mon style finalement."},
    "COLOR": {"en": "The colour is off compared to the website.", "de": "Die Farbe sieht anders aus als online."},
    "OTHER": {"en": "Ordered twice by mistake.", "es": "Lo pedí dos veces por error.", "da": "Bestilt to gange."},
    "UNKNOWN": {"en": ""},
}
REFUND_NOTES: dict[str, tuple[str, ...]] = {
    "return": ("Return received and inspected", "Retoure erhalten", "Retour reçu", "返品を受領しました"),
    "goodwill": ("Goodwill credit for late delivery", "Kulanz wegen verspäteter Lieferung", "Price adjustment"),
    "lost": ("Parcel lost in transit", "Paket beim Versand verloren gegangen", "Colis perdu"),
    "cancel": ("Order cancelled", "Bestellung storniert"),
}
CANCEL_REASONS = (("CUSTOMER", 50), ("INVENTORY", 20), ("FRAUD", 10), ("DECLINED", 10), ("STAFF", 5), ("OTHER", 5))


@dataclass(frozen=True)
class ProductSpec:
    """A product the shops sell: code, base price in USD, title, type, and its variant options."""

    code: str
    base_price_usd: Decimal
    title: str
    product_type: str
    options: tuple[str, ...]
    apparel: bool = False


APPAREL = (
    ProductSpec("TEE-ORG", Decimal("24.00"), "Organic Cotton T-Shirt", "T-Shirts", ("S", "M", "L", "XL"), True),
    ProductSpec("HOODIE-ZIP", Decimal("59.00"), "Heavyweight Zip Hoodie", "Hoodies", ("S", "M", "L"), True),
    ProductSpec(
        "SNEAKER-LOW", Decimal("89.00"), "Canvas Low-Top Sneaker", "Shoes", ("40", "41", "42", "43", "44"), True
    ),
    ProductSpec("BEANIE-RIB", Decimal("19.00"), "Ribbed Merino Beanie", "Accessories", ("Charcoal", "Rust", "Navy")),
    ProductSpec("TOTE-CANVAS", Decimal("29.00"), "Waxed Canvas Tote Bag", "Bags", ("Olive", "Sand")),
)
PRODUCTS: tuple[ProductSpec, ...] = APPAREL + tuple(
    ProductSpec(template.code, template.base_price_usd, template.titles["en"], "Electronics", ("Default Title",))
    for template in PRODUCT_TEMPLATES[:8]
)
SHIPPING_USD = {"domestic": Decimal("5.99"), "international": Decimal("14.99"), "free_over": Decimal("75")}


@cache
def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-get_currency_precision(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit (half up, as Shopify shows money)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def rate_between(from_currency: str, to_currency: str) -> Decimal:
    """Units of `to_currency` per unit of `from_currency` at the world's fixed rates."""
    return USD_RATES[to_currency] / USD_RATES[from_currency]


def shelf_price(base_price_usd: Decimal, currency: str) -> Decimal:
    """A price in the shop's currency with the usual endings (24.00 → 22.00 EUR, 3,650 JPY)."""
    raw = base_price_usd * USD_RATES[currency]
    if currency == "JPY":
        return (raw / 50).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 50
    return raw.quantize(Decimal(1), rounding=ROUND_HALF_UP) - (Decimal("0.01") if base_price_usd < 30 else 0)


@cache
def currency_codes() -> tuple[str, ...]:
    """ISO 4217 codes for the CurrencyCode enum."""
    return tuple(sorted(code for code in list_currencies() if len(code) == 3 and code.isalpha()))


@cache
def country_codes() -> tuple[str, ...]:
    """ISO 3166 alpha-2 codes (plus Shopify's ZZ for an unknown region) for the CountryCode enum."""
    codes = {
        str(code) for code in Locale("en").territories if isinstance(code, str) and len(code) == 2 and code.isalpha()
    }
    return tuple(sorted(codes | {"ZZ"}))
