"""Reference data for the simulated world: marketplaces, product templates, buyer locations, carriers.

Pure data and small helpers, no state. The simulator stands in for Amazon, so it keeps Amazon's facts
itself and imports nothing of ACORN: a marketplace's id and SP-API endpoint come from python-amazon-sp-api's
`Marketplaces` enum (the vendor client library, which copies Amazon's "Marketplace IDs" page), the selling
region from that endpoint's host, and what the library lacks - currency, country, Amazon's domain and the
FBA stock pool - from Amazon's own pages, listed below. ACORN's table (channels/marketplaces.py) is built
the same way from the same sources; tests/simulator/test_boundaries.py holds the two equal, field by field
and in order, so neither can drift without a test failing. The world's flavour (languages, buyers' cities,
carriers, price levels) is kept here too. Product titles are written per marketplace language so that the
console and the parsers see the languages real sellers see (English, German, French, Italian, Spanish,
Japanese; English elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from urllib.parse import urlsplit

from babel.numbers import get_currency_precision
from sp_api.base import Marketplaces


@dataclass(frozen=True)
class Marketplace:
    """One Amazon marketplace as the world uses it: its id and region (from python-amazon-sp-api), its
    currency, country, Amazon's name of it and its FBA pool (Amazon's facts, kept below), and the language
    its product pages and buyers use."""

    code: str
    marketplace_id: str
    region: str
    currency: str
    country: str
    name: str  # "Amazon.co.jp": MarketplaceName in Finances v0, marketplace-name in settlements
    language: str  # two letters: product titles and buyers' comments
    locale: str  # the Sellers API's defaultLanguageCode, e.g. "ja_JP"
    domain: str  # "amazon.co.jp"
    fba_pool: str  # the FBA stock pool it sells from: "NA", "EU", or a pool of its own (its code)


# The selling region of an SP-API endpoint host ("sellingpartnerapi-eu.amazon.com" -> "EU"), in Amazon's order.
_ENDPOINT_REGIONS = {"na": "NA", "eu": "EU", "fe": "FE"}
# The simulator's code -> the library's member name, where they differ (Amazon's page and ACORN say "UK").
_LIBRARY_NAMES = {"UK": "GB"}

# What the library does not know, per marketplace, from Amazon's pages: currency (ISO 4217), country
# (ISO 3166-1), Amazon's domain, and the FBA pool. Pools: North America Remote Fulfilment sells US stock in
# CA and MX; Pan-European FBA pools DE, FR, IT, ES, NL, SE, PL, BE and IE (the UK left it in 2021:
# Seller Central help "Pan-European FBA ASIN Enrolment"); every other marketplace is a pool of its own.
# Listed region by region, the big marketplaces first: the order the world and its sellers use.
_AMAZON_FACTS: dict[str, tuple[str, str, str, str]] = {
    # North America (sellingpartnerapi-na)
    "US": ("USD", "US", "amazon.com", "NA"),
    "CA": ("CAD", "CA", "amazon.ca", "NA"),
    "MX": ("MXN", "MX", "amazon.com.mx", "NA"),
    "BR": ("BRL", "BR", "amazon.com.br", "BR"),
    # Europe (sellingpartnerapi-eu), including the Middle East, Africa and India
    "UK": ("GBP", "GB", "amazon.co.uk", "UK"),
    "DE": ("EUR", "DE", "amazon.de", "EU"),
    "FR": ("EUR", "FR", "amazon.fr", "EU"),
    "IT": ("EUR", "IT", "amazon.it", "EU"),
    "ES": ("EUR", "ES", "amazon.es", "EU"),
    "NL": ("EUR", "NL", "amazon.nl", "EU"),
    "SE": ("SEK", "SE", "amazon.se", "EU"),
    "PL": ("PLN", "PL", "amazon.pl", "EU"),
    "BE": ("EUR", "BE", "amazon.com.be", "EU"),
    "IE": ("EUR", "IE", "amazon.ie", "EU"),
    "TR": ("TRY", "TR", "amazon.com.tr", "TR"),
    "AE": ("AED", "AE", "amazon.ae", "AE"),
    "SA": ("SAR", "SA", "amazon.sa", "SA"),
    "EG": ("EGP", "EG", "amazon.eg", "EG"),
    "IN": ("INR", "IN", "amazon.in", "IN"),
    "ZA": ("ZAR", "ZA", "amazon.co.za", "ZA"),
    # Far East (sellingpartnerapi-fe)
    "JP": ("JPY", "JP", "amazon.co.jp", "JP"),
    "AU": ("AUD", "AU", "amazon.com.au", "AU"),
    "SG": ("SGD", "SG", "amazon.sg", "SG"),
}

# The language of each marketplace's pages (simulated world flavour).
_LOCALES: dict[str, str] = {
    "US": "en_US", "CA": "en_CA", "MX": "es_MX", "BR": "pt_BR",
    "UK": "en_GB", "DE": "de_DE", "FR": "fr_FR", "IT": "it_IT", "ES": "es_ES", "NL": "nl_NL", "SE": "sv_SE",
    "PL": "pl_PL", "BE": "fr_BE", "IE": "en_IE", "TR": "tr_TR", "AE": "en_AE", "SA": "ar_SA", "EG": "ar_EG",
    "IN": "en_IN", "ZA": "en_ZA", "JP": "ja_JP", "AU": "en_AU", "SG": "en_SG",
}  # fmt: skip


def _region_of(endpoint: str) -> str:
    host = urlsplit(endpoint).hostname or ""
    suffix = host.split(".", 1)[0].rsplit("-", 1)[-1]
    try:
        return _ENDPOINT_REGIONS[suffix]
    except KeyError:
        raise RuntimeError(f"python-amazon-sp-api endpoint {endpoint!r} names no known selling region") from None


def _marketplaces() -> dict[str, Marketplace]:
    """Every marketplace of the library that Amazon's facts above cover, in their order."""
    members = {member.name: member for member in Marketplaces}  # aliases (UK of GB) are not iterated
    table: dict[str, Marketplace] = {}
    for code, (currency, country, domain, pool) in _AMAZON_FACTS.items():
        member = members.get(_LIBRARY_NAMES.get(code, code))
        if member is None:  # dropped by the library: no client can call it, so the world does not sell there
            continue
        locale = _LOCALES.get(code, "en_US")
        table[code] = Marketplace(
            code=code,
            marketplace_id=member.marketplace_id,
            region=_region_of(member.endpoint),
            currency=currency,
            country=country,
            name="A" + domain[1:],  # Amazon's own name: "Amazon.co.jp"
            language=locale[:2],
            locale=locale,
            domain=domain,
            fba_pool=pool,
        )
    return table


MARKETPLACES: dict[str, Marketplace] = _marketplaces()
MARKETPLACES_BY_ID: dict[str, Marketplace] = {m.marketplace_id: m for m in MARKETPLACES.values()}
# Selling region -> its marketplace codes, in Amazon's order within the region.
REGIONS: dict[str, tuple[str, ...]] = {
    region: tuple(m.code for m in MARKETPLACES.values() if m.region == region) for region in _ENDPOINT_REGIONS.values()
}
# FBA pool -> its marketplaces, for the pools that span several (a marketplace alone is its own pool).
FBA_POOL_MARKETPLACES: dict[str, tuple[str, ...]] = {
    pool: codes
    for pool in dict.fromkeys(m.fba_pool for m in MARKETPLACES.values())
    if len(codes := tuple(m.code for m in MARKETPLACES.values() if m.fba_pool == pool)) > 1
}

# Rough USD conversion used to derive list prices per marketplace (fixed so that the world is stable).
USD_RATES: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "CAD": Decimal("1.37"),
    "MXN": Decimal("17.2"),
    "GBP": Decimal("0.79"),
    "EUR": Decimal("0.92"),
    "JPY": Decimal("151"),
    "AUD": Decimal("1.52"),
    "BRL": Decimal("5.05"),
    "SEK": Decimal("10.6"),
    "PLN": Decimal("4.0"),
    "TRY": Decimal("32.5"),
    "AED": Decimal("3.67"),
    "SAR": Decimal("3.75"),
    "EGP": Decimal("48.0"),
    "INR": Decimal("83.3"),
    "ZAR": Decimal("18.6"),
    "SGD": Decimal("1.35"),
}
# Sales tax that Amazon collects as marketplace facilitator and shows as a TAX proceeds breakdown.
# EU, UK and JP prices already include VAT / consumption tax, so they carry no separate TAX line.
TAX_RATES: dict[str, Decimal] = {
    "US": Decimal("0.0725"),
    "CA": Decimal("0.13"),
    "MX": Decimal("0.16"),
    "AU": Decimal("0.10"),
}
TAX_COLLECTORS: dict[str, str] = {
    "US": "Amazon.com Services LLC",
    "CA": "Amazon.com.ca ULC",
    "MX": "Servicios Comerciales Amazon Mexico S. de R.L. de C.V.",
    "AU": "Amazon Commercial Services Pty Ltd",
}
# Merchant-fulfilled shipping charge per order, in USD before conversion.
MFN_SHIPPING_USD = Decimal("5.99")
# FBA fulfilment fee per unit, in USD before conversion; the referral fee is a share of the item price.
FBA_FEE_PER_UNIT_USD = Decimal("3.22")
REFERRAL_FEE_RATE = Decimal("0.15")


@dataclass(frozen=True)
class ProductTemplate:
    """A kind of product the simulated sellers carry, with titles per language."""

    code: str
    base_price_usd: Decimal
    titles: dict[str, str]


PRODUCT_TEMPLATES: tuple[ProductTemplate, ...] = (
    ProductTemplate(
        "PHONE-CASE-BLK",
        Decimal("12.99"),
        {
            "en": "Slim Shockproof Phone Case, Black",
            "de": "Schlanke stoßfeste Handyhülle, Schwarz",
            "fr": "Coque de téléphone fine antichoc, noire",
            "it": "Custodia sottile antiurto per telefono, nera",
            "es": "Funda delgada antigolpes para teléfono, negra",
            "ja": "薄型耐衝撃スマホケース ブラック",
        },
    ),
    ProductTemplate(
        "USB-C-CABLE-2M",
        Decimal("9.99"),
        {
            "en": "USB-C to USB-C Braided Cable, 2 m",
            "de": "USB-C auf USB-C Kabel, geflochten, 2 m",
            "fr": "Câble tressé USB-C vers USB-C, 2 m",
            "it": "Cavo intrecciato da USB-C a USB-C, 2 m",
            "es": "Cable trenzado USB-C a USB-C, 2 m",
            "ja": "USB-C to USB-C 編み込みケーブル 2m",
        },
    ),
    ProductTemplate(
        "CHARGER-65W",
        Decimal("34.99"),
        {
            "en": "65W GaN Fast Charger, 3 Ports",
            "de": "65W GaN Schnellladegerät, 3 Anschlüsse",
            "fr": "Chargeur rapide GaN 65 W, 3 ports",
            "it": "Caricatore rapido GaN 65 W, 3 porte",
            "es": "Cargador rápido GaN de 65 W, 3 puertos",
            "ja": "65W GaN 急速充電器 3ポート",
        },
    ),
    ProductTemplate(
        "EARBUDS-PRO",
        Decimal("49.99"),
        {
            "en": "Wireless Earbuds with Noise Cancelling",
            "de": "Kabellose Ohrhörer mit Geräuschunterdrückung",
            "fr": "Écouteurs sans fil à réduction de bruit",
            "it": "Auricolari wireless con cancellazione del rumore",
            "es": "Auriculares inalámbricos con cancelación de ruido",
            "ja": "ノイズキャンセリング ワイヤレスイヤホン",
        },
    ),
    ProductTemplate(
        "DESK-LAMP-LED",
        Decimal("27.50"),
        {
            "en": "LED Desk Lamp with Wireless Charger",
            "de": "LED-Schreibtischlampe mit kabellosem Ladegerät",
            "fr": "Lampe de bureau LED avec chargeur sans fil",
            "it": "Lampada da scrivania LED con caricatore wireless",
            "es": "Lámpara de escritorio LED con cargador inalámbrico",
            "ja": "ワイヤレス充電器付き LEDデスクライト",
        },
    ),
    ProductTemplate(
        "YOGA-MAT-6MM",
        Decimal("24.99"),
        {
            "en": "Non-Slip Yoga Mat, 6 mm",
            "de": "Rutschfeste Yogamatte, 6 mm",
            "fr": "Tapis de yoga antidérapant, 6 mm",
            "it": "Tappetino yoga antiscivolo, 6 mm",
            "es": "Esterilla de yoga antideslizante, 6 mm",
            "ja": "滑り止めヨガマット 6mm",
        },
    ),
    ProductTemplate(
        "WATER-BOTTLE-750",
        Decimal("18.95"),
        {
            "en": "Insulated Stainless Steel Water Bottle, 750 ml",
            "de": "Isolierte Edelstahl-Trinkflasche, 750 ml",
            "fr": "Gourde isotherme en acier inoxydable, 750 ml",
            "it": "Borraccia termica in acciaio inox, 750 ml",
            "es": "Botella térmica de acero inoxidable, 750 ml",
            "ja": "ステンレス 真空断熱ボトル 750ml",
        },
    ),
    ProductTemplate(
        "BACKPACK-LAPTOP",
        Decimal("45.00"),
        {
            "en": "Water-Resistant Laptop Backpack, 15.6 inch",
            "de": "Wasserabweisender Laptop-Rucksack, 15,6 Zoll",
            "fr": "Sac à dos pour ordinateur portable déperlant, 15,6 pouces",
            "it": "Zaino per laptop idrorepellente, 15,6 pollici",
            "es": "Mochila para portátil resistente al agua, 15,6 pulgadas",
            "ja": "撥水 ノートPC リュック 15.6インチ",  # noqa: RUF001 - katakana, not a slash
        },
    ),
    ProductTemplate(
        "KITCHEN-SCALE",
        Decimal("15.99"),
        {
            "en": "Digital Kitchen Scale, 5 kg",
            "de": "Digitale Küchenwaage, 5 kg",
            "fr": "Balance de cuisine numérique, 5 kg",
            "it": "Bilancia da cucina digitale, 5 kg",
            "es": "Báscula de cocina digital, 5 kg",
            "ja": "デジタル キッチンスケール 5kg",
        },
    ),
    ProductTemplate(
        "LED-STRIP-5M",
        Decimal("21.99"),
        {
            "en": "Smart RGB LED Strip Lights, 5 m",
            "de": "Smarte RGB-LED-Streifen, 5 m",
            "fr": "Ruban LED RGB connecté, 5 m",
            "it": "Striscia LED RGB smart, 5 m",
            "es": "Tira de luces LED RGB inteligente, 5 m",
            "ja": "スマート RGB LEDテープライト 5m",
        },
    ),
    ProductTemplate(
        "MOUSE-ERGO",
        Decimal("29.99"),
        {
            "en": "Ergonomic Vertical Wireless Mouse",
            "de": "Ergonomische vertikale kabellose Maus",
            "fr": "Souris verticale ergonomique sans fil",
            "it": "Mouse verticale ergonomico wireless",
            "es": "Ratón vertical ergonómico inalámbrico",
            "ja": "エルゴノミクス 縦型ワイヤレスマウス",
        },
    ),
    ProductTemplate(
        "PHONE-STAND",
        Decimal("8.49"),
        {
            "en": "Adjustable Aluminium Phone Stand",
            "de": "Verstellbarer Handyständer aus Aluminium",
            "fr": "Support de téléphone réglable en aluminium",
            "it": "Supporto per telefono regolabile in alluminio",
            "es": "Soporte de teléfono ajustable de aluminio",
            "ja": "アルミ製 角度調整スマホスタンド",
        },
    ),
    ProductTemplate(
        "POWER-BANK-20K",
        Decimal("39.99"),
        {
            "en": "Power Bank 20000 mAh, USB-C PD",
            "de": "Powerbank 20000 mAh, USB-C PD",
            "fr": "Batterie externe 20000 mAh, USB-C PD",
            "it": "Power bank 20000 mAh, USB-C PD",
            "es": "Batería externa 20000 mAh, USB-C PD",
            "ja": "モバイルバッテリー 20000mAh USB-C PD対応",
        },
    ),
    ProductTemplate(
        "SCREEN-PROTECTOR-2P",
        Decimal("7.99"),
        {
            "en": "Tempered Glass Screen Protector, 2 Pack",
            "de": "Panzerglas-Displayschutz, 2 Stück",
            "fr": "Protection d'écran en verre trempé, lot de 2",
            "it": "Pellicola in vetro temperato, confezione da 2",
            "es": "Protector de pantalla de vidrio templado, pack de 2",
            "ja": "強化ガラス 画面保護フィルム 2枚入り",
        },
    ),
    ProductTemplate(
        "SMART-PLUG-4P",
        Decimal("32.99"),
        {
            "en": "Wi-Fi Smart Plug, 4 Pack",
            "de": "WLAN-Steckdose, 4er-Pack",
            "fr": "Prise connectée Wi-Fi, lot de 4",
            "it": "Presa intelligente Wi-Fi, confezione da 4",
            "es": "Enchufe inteligente Wi-Fi, pack de 4",
            "ja": "Wi-Fi スマートプラグ 4個セット",
        },
    ),
    ProductTemplate(
        "CAMPING-LANTERN",
        Decimal("26.99"),
        {
            "en": "Rechargeable LED Camping Lantern",
            "de": "Wiederaufladbare LED-Campinglaterne",
            "fr": "Lanterne de camping LED rechargeable",
            "it": "Lanterna da campeggio LED ricaricabile",
            "es": "Farol de camping LED recargable",
            "ja": "充電式 LEDキャンプランタン",
        },
    ),
)

# Where buyers live, per marketplace: (city, state or region, postal code, country). Some marketplaces
# ship across borders (Amazon.de to Austria, Amazon.fr to Belgium, Amazon.co.uk to Ireland, ...).
BUYER_LOCATIONS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "US": (
        ("Seattle", "WA", "98101", "US"),
        ("Austin", "TX", "78701", "US"),
        ("Brooklyn", "NY", "11201", "US"),
        ("San Jose", "CA", "95113", "US"),
        ("Miami", "FL", "33130", "US"),
        ("Denver", "CO", "80202", "US"),
        ("Chicago", "IL", "60601", "US"),
        ("San Juan", "PR", "00901", "PR"),
    ),
    "CA": (
        ("Toronto", "ON", "M5V 2T6", "CA"),
        ("Vancouver", "BC", "V6B 1A1", "CA"),
        ("Montréal", "QC", "H2Y 1C6", "CA"),
        ("Calgary", "AB", "T2P 1J9", "CA"),
    ),
    "MX": (
        ("Ciudad de México", "CDMX", "06700", "MX"),
        ("Guadalajara", "JAL", "44100", "MX"),
        ("Monterrey", "NL", "64000", "MX"),
    ),
    "UK": (
        ("London", "England", "SW1A 1AA", "GB"),
        ("Manchester", "England", "M1 2AB", "GB"),
        ("Edinburgh", "Scotland", "EH1 1YZ", "GB"),
        ("Cardiff", "Wales", "CF10 1EP", "GB"),
        ("Dublin", "Dublin", "D02 X285", "IE"),
    ),
    "DE": (
        ("Berlin", "Berlin", "10115", "DE"),
        ("München", "Bayern", "80331", "DE"),
        ("Hamburg", "Hamburg", "20095", "DE"),
        ("Köln", "Nordrhein-Westfalen", "50667", "DE"),
        ("Wien", "Wien", "1010", "AT"),
    ),
    "FR": (
        ("Paris", "Île-de-France", "75001", "FR"),
        ("Lyon", "Auvergne-Rhône-Alpes", "69002", "FR"),
        ("Marseille", "Provence-Alpes-Côte d'Azur", "13001", "FR"),
        ("Bruxelles", "Bruxelles-Capitale", "1000", "BE"),
    ),
    "IT": (
        ("Milano", "MI", "20121", "IT"),
        ("Roma", "RM", "00184", "IT"),
        ("Napoli", "NA", "80133", "IT"),
        ("Torino", "TO", "10121", "IT"),
    ),
    "ES": (
        ("Madrid", "Madrid", "28013", "ES"),
        ("Barcelona", "Barcelona", "08002", "ES"),
        ("Valencia", "Valencia", "46002", "ES"),
        ("Sevilla", "Sevilla", "41004", "ES"),
    ),
    "JP": (
        ("渋谷区", "東京都", "150-0002", "JP"),
        ("大阪市北区", "大阪府", "530-0001", "JP"),
        ("札幌市中央区", "北海道", "060-0001", "JP"),
        ("福岡市博多区", "福岡県", "812-0011", "JP"),
    ),
    "AU": (
        ("Sydney", "NSW", "2000", "AU"),
        ("Melbourne", "VIC", "3000", "AU"),
        ("Brisbane", "QLD", "4000", "AU"),
        ("Perth", "WA", "6000", "AU"),
    ),
    "BR": (("São Paulo", "SP", "01310-100", "BR"), ("Rio de Janeiro", "RJ", "20040-002", "BR")),
    "NL": (("Amsterdam", "Noord-Holland", "1012 JS", "NL"), ("Rotterdam", "Zuid-Holland", "3011 AD", "NL")),
    "SE": (("Stockholm", "Stockholms län", "111 52", "SE"), ("Göteborg", "Västra Götaland", "411 05", "SE")),
    "PL": (("Warszawa", "mazowieckie", "00-001", "PL"), ("Kraków", "małopolskie", "30-001", "PL")),
    "BE": (("Bruxelles", "Bruxelles-Capitale", "1000", "BE"), ("Antwerpen", "Antwerpen", "2000", "BE")),
    "IE": (("Dublin", "Dublin", "D02 X285", "IE"), ("Cork", "Cork", "T12 W8CC", "IE")),
    "TR": (("İstanbul", "İstanbul", "34110", "TR"), ("Ankara", "Ankara", "06050", "TR")),
    "AE": (("Dubai", "Dubai", "00000", "AE"), ("Abu Dhabi", "Abu Dhabi", "00000", "AE")),
    "SA": (("Riyadh", "Riyadh", "11564", "SA"), ("Jeddah", "Makkah", "21442", "SA")),
    "EG": (("Cairo", "Cairo", "11511", "EG"), ("Alexandria", "Alexandria", "21500", "EG")),
    "IN": (("Bengaluru", "KA", "560001", "IN"), ("Mumbai", "MH", "400001", "IN")),
    "ZA": (("Johannesburg", "Gauteng", "2001", "ZA"), ("Cape Town", "Western Cape", "8001", "ZA")),
    "SG": (("Singapore", "Singapore", "018956", "SG"),),
}

CARRIERS: dict[str, tuple[tuple[str, str], ...]] = {
    "US": (("UPS", "UPS Ground"), ("USPS", "USPS Ground Advantage")),
    "CA": (("Canada Post", "Expedited Parcel"),),
    "MX": (("Estafeta", "Estafeta Terrestre"),),
    "UK": (("Royal Mail", "Royal Mail Tracked 48"), ("DPD", "DPD Next Day")),
    "DE": (("DHL", "DHL Paket"),),
    "FR": (("Colissimo", "Colissimo Domicile"),),
    "IT": (("Poste Italiane", "Poste Delivery Business"),),
    "ES": (("Correos", "Paq Estándar"),),
    "JP": (("Yamato Transport", "宅急便"),),
    "AU": (("Australia Post", "Parcel Post"),),
    "BR": (("Correios", "SEDEX"),),
    "NL": (("PostNL", "Pakket"),),
    "SE": (("PostNord", "MyPack Home"),),
    "PL": (("InPost", "Paczkomat"),),
    "BE": (("bpost", "bpack"),),
    "IE": (("An Post", "Parcel"),),
    "TR": (("Yurtiçi Kargo", "Standart"),),
    "AE": (("Aramex", "Domestic"),),
    "SA": (("SMSA Express", "Standard"),),
    "EG": (("Aramex", "Domestic"),),
    "IN": (("India Post", "Speed Post"),),
    "ZA": (("The Courier Guy", "Economy"),),
    "SG": (("Singapore Post", "SpeedPost"),),
}

# Cross-border sellers ship merchant-fulfilled orders from China.
SHIP_FROM_ADDRESS: dict[str, str] = {
    "name": "ACORN Simulated Warehouse",
    "addressLine1": "Building 3, Longhua Logistics Park",
    "city": "Shenzhen",
    "stateOrRegion": "Guangdong",
    "postalCode": "518109",
    "countryCode": "CN",
}


@cache
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency (Decimal("0.01"), or Decimal("1") for JPY)."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round an amount to the currency's minor unit."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str) -> str:
    """The amount as Amazon writes it in Orders 2026-01-01: "19.99", and "1980" for JPY."""
    return str(quantize(amount, currency))


def convert_usd(amount_usd: Decimal, currency: str) -> Decimal:
    """A USD amount in the currency at the world's fixed rate, rounded to the minor unit."""
    return quantize(amount_usd * USD_RATES[currency], currency)


def list_price(base_price_usd: Decimal, currency: str) -> Decimal:
    """A shelf price in the currency, with the usual endings (19.99, 349.00 MXN, 1980 JPY)."""
    raw = base_price_usd * USD_RATES[currency]
    if currency == "JPY":
        return max(Decimal(100), (raw / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10 - 20)
    if currency == "MXN":
        return max(Decimal(9), (raw / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10 - 1)
    return max(Decimal("0.99"), raw.quantize(Decimal(1), rounding=ROUND_HALF_UP) - Decimal("0.01"))
