"""Reference data for returns and refunds: Amazon's return reason codes, FBA dispositions and statuses,
fulfilment centres, return carriers, and what buyers write in the customer comments (in the languages of
the marketplaces, and sometimes in Chinese).

Pure data, no state. Reason codes are the ones the FBA customer returns report writes in its ``reason``
column; the merchant-fulfilled returns report writes the same codes with a ``CR-`` prefix.
"""

from __future__ import annotations

from decimal import Decimal

from simulator.catalogue import CARRIERS, MARKETPLACES

# (reason code, weight) for an ordinary SKU and for a bad one (a product that breaks or disappoints).
REASONS: tuple[tuple[str, int], ...] = (
    ("UNWANTED_ITEM", 20),
    ("ORDERED_WRONG_ITEM", 10),
    ("FOUND_BETTER_PRICE", 7),
    ("NO_REASON_GIVEN", 8),
    ("NOT_AS_DESCRIBED", 10),
    ("DEFECTIVE", 12),
    ("QUALITY_UNACCEPTABLE", 6),
    ("NOT_COMPATIBLE", 4),
    ("MISSING_PARTS", 4),
    ("APPARENT_DAMAGE", 5),
    ("DAMAGED_BY_CARRIER", 3),
    ("DAMAGED_BY_FC", 3),
    ("SWITCHEROO", 2),
    ("MISSED_ESTIMATED_DELIVERY", 3),
    ("UNAUTHORIZED_PURCHASE", 2),
)
BAD_SKU_REASONS: tuple[tuple[str, int], ...] = (
    ("DEFECTIVE", 35),
    ("QUALITY_UNACCEPTABLE", 20),
    ("NOT_AS_DESCRIBED", 18),
    ("MISSING_PARTS", 10),
    ("APPARENT_DAMAGE", 8),
    ("UNWANTED_ITEM", 9),
)
# Reasons where the seller is at fault: the outbound shipping is refunded too and the seller pays the label.
SELLER_FAULT_REASONS = frozenset(
    {
        "DEFECTIVE",
        "NOT_AS_DESCRIBED",
        "QUALITY_UNACCEPTABLE",
        "MISSING_PARTS",
        "APPARENT_DAMAGE",
        "DAMAGED_BY_CARRIER",
        "DAMAGED_BY_FC",
        "MISSED_ESTIMATED_DELIVERY",
    }
)
MFN_REASON_PREFIX = "CR-"
# Reasons that never come back to a merchant's warehouse (Amazon's own fulfilment centre damage).
FBA_ONLY_REASONS = frozenset({"DAMAGED_BY_FC"})

# Detailed disposition of an FBA return, by reason: ((disposition, weight), ...).
_CHANGED_MIND = (("SELLABLE", 75), ("CUSTOMER_DAMAGED", 25))
_FAULTY = (("DEFECTIVE", 55), ("SELLABLE", 25), ("CUSTOMER_DAMAGED", 20))
DISPOSITIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "UNWANTED_ITEM": _CHANGED_MIND,
    "ORDERED_WRONG_ITEM": _CHANGED_MIND,
    "FOUND_BETTER_PRICE": _CHANGED_MIND,
    "NO_REASON_GIVEN": _CHANGED_MIND,
    "MISSED_ESTIMATED_DELIVERY": _CHANGED_MIND,
    "UNAUTHORIZED_PURCHASE": _CHANGED_MIND,
    "NOT_AS_DESCRIBED": _FAULTY,
    "DEFECTIVE": _FAULTY,
    "QUALITY_UNACCEPTABLE": _FAULTY,
    "NOT_COMPATIBLE": _FAULTY,
    "MISSING_PARTS": _FAULTY,
    "APPARENT_DAMAGE": (("CARRIER_DAMAGED", 60), ("CUSTOMER_DAMAGED", 40)),
    "DAMAGED_BY_CARRIER": (("CARRIER_DAMAGED", 80), ("SELLABLE", 20)),
    "DAMAGED_BY_FC": (("DAMAGED", 100),),
    "SWITCHEROO": (("CUSTOMER_DAMAGED", 60), ("DEFECTIVE", 40)),
}
SELLABLE = "SELLABLE"
# Where each unsellable disposition shows in FBA inventory (unfulfillableQuantity breakdown).
UNFULFILLABLE_BUCKETS = {
    "CUSTOMER_DAMAGED": "customerDamagedQuantity",
    "DEFECTIVE": "defectiveQuantity",
    "CARRIER_DAMAGED": "carrierDamagedQuantity",
    "DAMAGED": "warehouseDamagedQuantity",
}
FBA_STATUS_RETURNED = "Unit returned to inventory"
FBA_STATUS_REPACKAGED = "Repackaged Successfully"
FBA_STATUS_REIMBURSED = "Reimbursed"

FULFILLMENT_CENTERS: dict[str, tuple[str, ...]] = {
    "US": ("PHX6", "ONT8", "SDF8", "LEX1", "TPA1", "BFI4", "MDW2"),
    "CA": ("YYZ4", "YVR2"),
    "MX": ("MEX1",),
    "UK": ("LTN1", "BHX4", "MAN1"),
    "DE": ("FRA1", "DUS2", "LEJ1", "MUC3"),
    "FR": ("ORY1", "LYS1"),
    "IT": ("MXP5", "FCO1"),
    "ES": ("MAD4", "BCN1"),
    "JP": ("NRT5", "KIX2"),
    "AU": ("SYD8", "MEL1"),
    "PL": ("POZ1", "WRO2", "KTW1"),
    "IN": ("BLR7", "BOM5"),
}
RETURN_CARRIERS: dict[str, tuple[str, ...]] = {
    "US": ("UPS", "USPS"),
    "CA": ("Canada Post",),
    "MX": ("Estafeta",),
    "UK": ("Royal Mail", "Evri"),
    "DE": ("DHL", "Hermes"),
    "FR": ("Colissimo", "Mondial Relay"),
    "IT": ("Poste Italiane", "BRT"),
    "ES": ("Correos", "SEUR"),
    "JP": ("Yamato Transport", "Japan Post"),
    "AU": ("Australia Post",),
    "NL": ("PostNL", "DHL"),
    "PL": ("InPost", "Poczta Polska"),
}


def fulfillment_centers_for(code: str) -> tuple[str, ...]:
    """Where an FBA return to the marketplace is received: its own centres, else those of its FBA pool's
    first marketplace that has some (NL, SE, BE, IE returns go to the Pan-European network)."""
    if code in FULFILLMENT_CENTERS:
        return FULFILLMENT_CENTERS[code]
    pool = MARKETPLACES[code].fba_pool if code in MARKETPLACES else code
    for other, marketplace in MARKETPLACES.items():
        if marketplace.fba_pool == pool and other in FULFILLMENT_CENTERS:
            return FULFILLMENT_CENTERS[other]
    return (f"{code}1",)


def return_carriers_for(code: str) -> tuple[str, ...]:
    """The carriers buyers of the marketplace send returns with (its parcel carriers where none are listed)."""
    return RETURN_CARRIERS.get(code) or tuple(name for name, _service in CARRIERS.get(code, (("Local Post", ""),)))


AMAZON_PREPAID_LABEL = "AmazonPrePaidLabel"
# Cost of a prepaid return label, in USD before conversion: (lowest, highest).
LABEL_COST_USD = (Decimal("3.80"), Decimal("8.90"))
# Amazon keeps this much of the refunded referral fee: 20 % of it, at most USD 5.00 (converted).
REFUND_ADMIN_FEE_RATE = Decimal("0.20")
REFUND_ADMIN_FEE_CAP_USD = Decimal("5.00")

# What buyers write, by kind of reason, in each language.
_COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "broken": {
        "en": ("Stopped working after two days.", "The charger got very hot and smelled of burning."),
        "de": ("Funktioniert nach zwei Tagen nicht mehr.", "Das Ladegerät wurde sehr heiß und roch verbrannt."),
        "fr": ("Ne fonctionne plus après deux jours.", "Le chargeur chauffait beaucoup et sentait le brûlé."),
        "it": ("Ha smesso di funzionare dopo due giorni.", "Il caricatore si scaldava molto e puzzava di bruciato."),
        "es": ("Dejó de funcionar a los dos días.", "El cargador se calentaba mucho y olía a quemado."),
        "ja": ("2日で動かなくなりました。", "充電器がとても熱くなり、焦げた匂いがしました。"),
        "zh": ("用了两天就坏了。", "充电器非常烫，还有烧焦的味道。"),  # noqa: RUF001 - Chinese punctuation
    },
    "described": {
        "en": ("Colour is different from the pictures.", "Much smaller than described."),
        "de": ("Die Farbe weicht von den Bildern ab.", "Viel kleiner als beschrieben."),
        "fr": ("La couleur ne correspond pas aux photos.", "Beaucoup plus petit que décrit."),
        "it": ("Il colore è diverso dalle foto.", "Molto più piccolo di quanto descritto."),
        "es": ("El color no coincide con las fotos.", "Mucho más pequeño de lo descrito."),
        "ja": ("写真と色が違います。", "説明よりかなり小さいです。"),
        "zh": ("颜色和图片不一样。", "比描述的小很多。"),
    },
    "damaged": {
        "en": ("Arrived with a cracked case.", "Box was crushed and the item is scratched."),
        "de": ("Kam mit gesprungenem Gehäuse an.", "Karton zerdrückt, Artikel zerkratzt."),
        "fr": ("Arrivé avec le boîtier fissuré.", "Carton écrasé et article rayé."),
        "it": ("Arrivato con la scocca incrinata.", "Scatola schiacciata e articolo graffiato."),
        "es": ("Llegó con la carcasa agrietada.", "La caja venía aplastada y el artículo rayado."),
        "ja": ("ケースが割れた状態で届きました。", "箱が潰れていて、商品に傷がありました。"),
        "zh": ("收到时外壳已经裂了。", "盒子被压坏了，商品有划痕。"),  # noqa: RUF001
    },
    "missing": {
        "en": ("The cable was missing from the box.",),
        "de": ("Das Kabel fehlte im Karton.",),
        "fr": ("Le câble manquait dans la boîte.",),
        "it": ("Nella scatola mancava il cavo.",),
        "es": ("Faltaba el cable en la caja.",),
        "ja": ("ケーブルが入っていませんでした。",),
        "zh": ("盒子里少了数据线。",),
    },
    "quality": {
        "en": ("Feels cheap, poor quality.",),
        "de": ("Fühlt sich billig an, schlechte Qualität.",),
        "fr": ("Semble bon marché, mauvaise qualité.",),
        "it": ("Sembra economico, qualità scarsa.",),
        "es": ("Parece barato, mala calidad.",),
        "ja": ("安っぽく、品質が悪いです。",),
        "zh": ("做工很差，质量不好。",),  # noqa: RUF001
    },
    "unwanted": {
        "en": ("No longer needed.", "Bought by mistake."),
        "de": ("Wird nicht mehr benötigt.", "Versehentlich bestellt."),
        "fr": ("Plus besoin.", "Commandé par erreur."),
        "it": ("Non serve più.", "Ordinato per errore."),
        "es": ("Ya no lo necesito.", "Lo compré por error."),
        "ja": ("不要になりました。", "間違えて注文しました。"),
        "zh": ("不需要了。", "买错了。"),
    },
    "wrong_item": {
        "en": ("Ordered the wrong model.", "Does not fit my phone."),
        "de": ("Falsches Modell bestellt.", "Passt nicht zu meinem Handy."),
        "fr": ("J'ai commandé le mauvais modèle.", "Ne convient pas à mon téléphone."),
        "it": ("Ho ordinato il modello sbagliato.", "Non è compatibile con il mio telefono."),
        "es": ("Pedí el modelo equivocado.", "No es compatible con mi teléfono."),
        "ja": ("違うモデルを注文しました。", "私のスマホに合いません。"),
        "zh": ("订错型号了。", "和我的手机不兼容。"),
    },
    "price": {
        "en": ("Found it cheaper elsewhere.",),
        "de": ("Woanders günstiger gefunden.",),
        "fr": ("Trouvé moins cher ailleurs.",),
        "it": ("Trovato a meno altrove.",),
        "es": ("Lo encontré más barato en otro sitio.",),
        "ja": ("他でもっと安く見つけました。",),
        "zh": ("在别处找到更便宜的。",),
    },
    "late": {
        "en": ("Arrived too late for the trip.",),
        "de": ("Kam zu spät für die Reise.",),
        "fr": ("Arrivé trop tard pour le voyage.",),
        "it": ("Arrivato troppo tardi per il viaggio.",),
        "es": ("Llegó demasiado tarde para el viaje.",),
        "ja": ("旅行に間に合いませんでした。",),
        "zh": ("到得太晚了，旅行用不上了。",),  # noqa: RUF001
    },
    "switched": {
        "en": ("Received a different product than ordered.",),
        "de": ("Anderes Produkt als bestellt erhalten.",),
        "fr": ("Reçu un produit différent de celui commandé.",),
        "it": ("Ricevuto un prodotto diverso da quello ordinato.",),
        "es": ("Recibí un producto distinto al pedido.",),
        "ja": ("注文と違う商品が届きました。",),
        "zh": ("收到的商品和订购的不一样。",),
    },
}
_COMMENT_KIND = {
    "DEFECTIVE": "broken",
    "NOT_COMPATIBLE": "wrong_item",
    "NOT_AS_DESCRIBED": "described",
    "QUALITY_UNACCEPTABLE": "quality",
    "MISSING_PARTS": "missing",
    "APPARENT_DAMAGE": "damaged",
    "DAMAGED_BY_CARRIER": "damaged",
    "DAMAGED_BY_FC": "damaged",
    "UNWANTED_ITEM": "unwanted",
    "NO_REASON_GIVEN": "unwanted",
    "UNAUTHORIZED_PURCHASE": "unwanted",
    "ORDERED_WRONG_ITEM": "wrong_item",
    "FOUND_BETTER_PRICE": "price",
    "MISSED_ESTIMATED_DELIVERY": "late",
    "SWITCHEROO": "switched",
}
COMMENT_LANGUAGES = ("en", "de", "fr", "it", "es", "ja", "zh")


def comment_language(language: str) -> str:
    """The language a buyer of a marketplace with that page language writes comments in here ("en" for a
    language the comments are not written in)."""
    return language if all(language in by_language for by_language in _COMMENTS.values()) else "en"


def comments_for(reason: str, language: str) -> tuple[str, ...]:
    """What a buyer might write for the reason, in the language ("en" when the language is unknown)."""
    by_language = _COMMENTS[_COMMENT_KIND.get(reason, "unwanted")]
    return by_language.get(language, by_language["en"])
