"""Reference data for the simulated WooCommerce shops: versions, statuses, tax rates, buyers' places and
names, payment gateways, variable products and refund reasons in several languages.

Buyers get invented names and addresses and `@example.*` e-mail addresses; nothing here is a real person.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WC_VERSION = "9.4.3"
WP_VERSION = "6.7.1"
USER_AGENT = f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})"

PENDING = "pending"
PROCESSING = "processing"
ON_HOLD = "on-hold"
COMPLETED = "completed"
CANCELLED = "cancelled"
REFUNDED = "refunded"
FAILED = "failed"
TRASH = "trash"
ORDER_STATUSES = (PENDING, PROCESSING, ON_HOLD, COMPLETED, CANCELLED, REFUNDED, FAILED)
# What `status` accepts on GET /orders (besides the order statuses).
LIST_STATUSES = ("any", TRASH, "auto-draft", *ORDER_STATUSES, "checkout-draft")
STATUS_NAMES = {
    PENDING: "Pending payment",
    PROCESSING: "Processing",
    ON_HOLD: "On hold",
    COMPLETED: "Completed",
    CANCELLED: "Cancelled",
    REFUNDED: "Refunded",
    FAILED: "Failed",
    TRASH: "Trash",
}
# WooCommerce reduces stock when an order reaches one of these, and gives it back on cancelled / pending.
STOCK_REDUCING = frozenset({PROCESSING, ON_HOLD, COMPLETED})
STOCK_RESTORING = frozenset({CANCELLED, PENDING})


@dataclass(frozen=True)
class Gateway:
    method: str
    title: str
    supports_refunds: bool


GATEWAYS = {
    "stripe": Gateway("stripe", "Credit Card (Stripe)", True),
    "ppcp-gateway": Gateway("ppcp-gateway", "PayPal", True),
    "bacs": Gateway("bacs", "Direct bank transfer", False),
    "cod": Gateway("cod", "Cash on delivery", False),
}


@dataclass(frozen=True)
class TaxRate:
    rate_id: int
    country: str
    percent: Decimal
    label: str

    @property
    def rate(self) -> Decimal:
        return self.percent / 100

    @property
    def rate_code(self) -> str:
        return f"{self.country}-{self.label.upper().replace('.', '').replace(' ', '-')}-1"


TAX_RATES: dict[str, TaxRate] = {
    rate.country: rate
    for rate in (
        TaxRate(1, "DE", Decimal(19), "MwSt."),
        TaxRate(2, "AT", Decimal(20), "USt."),
        TaxRate(3, "FR", Decimal(20), "TVA"),
        TaxRate(4, "NL", Decimal(21), "BTW"),
        TaxRate(5, "BE", Decimal(21), "BTW"),
        TaxRate(6, "IT", Decimal(22), "IVA"),
        TaxRate(7, "ES", Decimal(21), "IVA"),
        TaxRate(8, "GB", Decimal(20), "VAT"),
        TaxRate(9, "US", Decimal("7.25"), "Sales Tax"),
        TaxRate(10, "CA", Decimal(13), "HST"),
        TaxRate(11, "AU", Decimal(10), "GST"),
        TaxRate(12, "CH", Decimal("8.1"), "MWST"),
    )
}

# Country of the shop from its time zone, when not given.
TIMEZONE_COUNTRIES = {
    "Europe/Berlin": "DE",
    "Europe/Vienna": "AT",
    "Europe/Paris": "FR",
    "Europe/Amsterdam": "NL",
    "Europe/Brussels": "BE",
    "Europe/Rome": "IT",
    "Europe/Madrid": "ES",
    "Europe/London": "GB",
    "Europe/Zurich": "CH",
    "America/New_York": "US",
    "America/Chicago": "US",
    "America/Los_Angeles": "US",
    "America/Toronto": "CA",
    "Australia/Sydney": "AU",
}
COUNTRY_LANGUAGES = {
    "DE": "de",
    "AT": "de",
    "CH": "de",
    "FR": "fr",
    "BE": "fr",
    "IT": "it",
    "ES": "es",
    "NL": "nl",
    "GB": "en",
    "US": "en",
    "CA": "en",
    "AU": "en",
}
# Where buyers of a shop in a country live, most of them at home: (country, weight).
BUYER_COUNTRIES: dict[str, tuple[tuple[str, int], ...]] = {
    "DE": (("DE", 70), ("AT", 12), ("NL", 5), ("FR", 5), ("BE", 4), ("IT", 4)),
    "AT": (("AT", 70), ("DE", 25), ("IT", 5)),
    "FR": (("FR", 80), ("BE", 12), ("DE", 4), ("ES", 4)),
    "NL": (("NL", 75), ("BE", 15), ("DE", 10)),
    "BE": (("BE", 60), ("NL", 20), ("FR", 20)),
    "IT": (("IT", 85), ("FR", 8), ("DE", 7)),
    "ES": (("ES", 85), ("FR", 10), ("IT", 5)),
    "GB": (("GB", 95), ("US", 5)),
    "US": (("US", 92), ("CA", 8)),
    "CA": (("CA", 85), ("US", 15)),
    "AU": (("AU", 100),),
    "CH": (("CH", 80), ("DE", 20)),
}
PLACES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "DE": (("Berlin", "", "10115"), ("München", "", "80331"), ("Hamburg", "", "20095"), ("Köln", "", "50667")),
    "AT": (("Wien", "", "1010"), ("Graz", "", "8010"), ("Salzburg", "", "5020")),
    "FR": (("Paris", "", "75001"), ("Lyon", "", "69002"), ("Nantes", "", "44000")),
    "NL": (("Amsterdam", "", "1012 AB"), ("Utrecht", "", "3511 AA")),
    "BE": (("Bruxelles", "", "1000"), ("Antwerpen", "", "2000")),
    "IT": (("Milano", "MI", "20121"), ("Roma", "RM", "00184")),
    "ES": (("Madrid", "M", "28013"), ("Barcelona", "B", "08002")),
    "GB": (("London", "", "SW1A 1AA"), ("Manchester", "", "M1 2AB"), ("Leeds", "", "LS1 4AP")),
    "US": (("Seattle", "WA", "98101"), ("Austin", "TX", "78701"), ("Brooklyn", "NY", "11201")),
    "CA": (("Toronto", "ON", "M5V 2T6"), ("Vancouver", "BC", "V6B 1A1")),
    "AU": (("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000")),
    "CH": (("Zürich", "ZH", "8001"), ("Basel", "BS", "4051")),
}
STREETS: dict[str, tuple[str, ...]] = {
    "de": ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee"),
    "fr": ("Rue de la Paix", "Avenue Victor Hugo", "Rue du Moulin"),
    "nl": ("Kerkstraat", "Dorpsstraat", "Molenweg"),
    "it": ("Via Roma", "Via Garibaldi", "Corso Italia"),
    "es": ("Calle Mayor", "Avenida de la Constitución", "Calle del Sol"),
    "en": ("High Street", "Station Road", "Main Street", "Maple Avenue"),
}
FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "de": ("Anna", "Lukas", "Marie", "Jonas", "Sophie", "Felix", "Lena", "Jürgen"),
    "fr": ("Camille", "Louis", "Chloé", "Hugo", "Léa", "Théo"),
    "nl": ("Sanne", "Daan", "Femke", "Bram"),
    "it": ("Giulia", "Marco", "Chiara", "Luca"),
    "es": ("Lucía", "Pablo", "Carmen", "Javier"),
    "en": ("Emma", "Oliver", "Amelia", "Jack", "Olivia", "Noah", "Grace"),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker"),
    "fr": ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau"),
    "nl": ("de Jong", "Jansen", "de Vries", "Bakker"),
    "it": ("Rossi", "Russo", "Ferrari", "Esposito"),
    "es": ("García", "Fernández", "López", "Martínez"),
    "en": ("Smith", "Jones", "Taylor", "Brown", "Wilson", "O'Connor"),
}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

# Refund reasons as shop managers type them, in the shop's language (some left empty, as happens).
REFUND_REASONS: dict[str, tuple[str, ...]] = {
    "de": ("Kunde hat storniert", "Artikel beschädigt angekommen", "Rücksendung erhalten", "Falsche Größe"),
    "fr": ("Annulation client", "Article arrivé endommagé", "Retour reçu", "Mauvaise taille"),
    "nl": ("Klant heeft geannuleerd", "Artikel beschadigd", "Retour ontvangen"),
    "it": ("Annullato dal cliente", "Articolo danneggiato", "Reso ricevuto"),
    "es": ("Cancelado por el cliente", "Artículo dañado", "Devolución recibida"),
    "en": ("Customer cancelled", "Item arrived damaged", "Return received", "Wrong size ordered"),
}
FULL_REFUND_REASON = "Order fully refunded."

COUPONS = (("WELCOME10", Decimal(10)), ("SPRING15", Decimal(15)), ("NEWSLETTER5", Decimal(5)))
# Shipping net of tax in the shop currency's units at USD parity, and the free-shipping threshold (gross).
FLAT_RATE_USD = Decimal("4.90")
FREE_SHIPPING_FROM_USD = Decimal(60)
# Other currencies some orders are paid in (a multi-currency plugin), per shop currency.
OTHER_CURRENCIES = {"EUR": ("GBP", "USD"), "GBP": ("EUR",), "USD": ("CAD",), "CAD": ("USD",)}


@dataclass(frozen=True)
class VariableTemplate:
    """A product sold in variations (attribute combinations), with names per language."""

    code: str
    base_price_usd: Decimal
    names: dict[str, str]
    attributes: tuple[tuple[str, str, tuple[str, ...]], ...]  # (taxonomy slug, label, options)


VARIABLE_TEMPLATES = (
    VariableTemplate(
        "TSHIRT-ORG",
        Decimal("24.90"),
        {
            "en": "Organic Cotton T-Shirt",
            "de": "T-Shirt aus Bio-Baumwolle",
            "fr": "T-shirt en coton bio",
            "it": "Maglietta in cotone biologico",
            "es": "Camiseta de algodón orgánico",
            "nl": "T-shirt van biologisch katoen",
        },
        (("pa_color", "Color", ("Black", "White")), ("pa_size", "Size", ("S", "M", "L", "XL"))),
    ),
    VariableTemplate(
        "BEANIE-MERINO",
        Decimal("19.90"),
        {
            "en": "Merino Wool Beanie",
            "de": "Mütze aus Merinowolle",
            "fr": "Bonnet en laine mérinos",
            "it": "Berretto in lana merino",
            "es": "Gorro de lana merino",
            "nl": "Muts van merinowol",
        },
        (("pa_color", "Color", ("Grey", "Navy", "Mustard")),),
    ),
    VariableTemplate(
        "SOCKS-3P",
        Decimal("14.50"),
        {
            "en": "Bamboo Socks, 3 Pairs",
            "de": "Bambus-Socken, 3 Paar",
            "fr": "Chaussettes en bambou, 3 paires",
            "it": "Calzini in bambù, 3 paia",
            "es": "Calcetines de bambú, 3 pares",
            "nl": "Bamboe sokken, 3 paar",
        },
        (("pa_size", "Size", ("35-38", "39-42", "43-46")),),
    ),
)
