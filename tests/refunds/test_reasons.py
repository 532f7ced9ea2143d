"""Reason tags: channel reason codes → the taxonomy, and tags read from buyers' words in seven languages (the
simulator's own sentences, and sentences it never writes)."""

from __future__ import annotations

import pytest

from refunds.models import ReasonTag
from refunds.reasons import TAG_PRIORITY, keyword_list, normalise, tag_for_code, tag_from_text, text_scores
from simulator.intent import intended_tag, intent_index, simulator_texts
from simulator.returns_data import _COMMENT_KIND, REASONS, comments_for
from simulator.shopify.catalogue import CUSTOMER_NOTES, REFUND_NOTES, RETURN_REASONS
from simulator.woocommerce.catalogue import REFUND_REASONS

# --- the simulator's sentences --------------------------------------------------------------------------------


def test_keywords_tag_the_simulators_sentences_as_it_intended() -> None:
    # given: every comment, note and refund reason the simulator writes, with the tag it wrote it for
    texts = simulator_texts()
    assert len(texts) >= 150

    # when
    wrong = [
        (text, intended_tag(text), tag_from_text(text)) for text in texts if tag_from_text(text) != intended_tag(text)
    ]

    # then: at least 95 % agree (today all of them do)
    assert 1 - len(wrong) / len(texts) >= 0.95, wrong
    assert wrong == []


def test_the_intent_index_covers_every_simulator_table() -> None:
    index = intent_index()
    amazon = {
        sentence for by_language in (comments_for(code, "en") for code, _w in REASONS) for sentence in by_language
    }
    shopify = {note for notes in CUSTOMER_NOTES.values() for note in notes.values() if note}
    refund_notes = {note for notes in REFUND_NOTES.values() for note in notes}
    woocommerce = {reason for reasons in REFUND_REASONS.values() for reason in reasons}
    for sentence in amazon | shopify | refund_notes | woocommerce:
        assert sentence in index, sentence
    assert set(index.values()) <= {*ReasonTag.values, None}
    assert intended_tag("Something the simulator never wrote") is None
    assert intended_tag("  Stopped working after two days.  ") == ReasonTag.DEFECTIVE


def test_every_language_of_the_amazon_comments_is_covered() -> None:
    for code, _weight in REASONS:
        for language in ("en", "de", "fr", "it", "es", "ja", "zh"):
            for sentence in comments_for(code, language):
                assert tag_from_text(sentence) == intended_tag(sentence), (code, language, sentence)


@pytest.mark.parametrize("code", sorted({code for code, _w in REASONS}))
def test_amazon_codes_agree_with_what_the_simulator_writes_for_them(code: str) -> None:
    # given: the tag the simulator meant by the comments it writes for this code
    meant = intended_tag(comments_for(code, "en")[0])

    # when
    by_code = tag_for_code("amazon", code)

    # then: the code says the same, says nothing (the words decide), or — buyers who did not authorise the
    # purchase write "no longer needed" — the code is the more precise of the two
    if code == "NO_REASON_GIVEN":
        assert by_code is None
    elif code == "UNAUTHORIZED_PURCHASE":
        assert by_code == ReasonTag.UNAUTHORISED and _COMMENT_KIND[code] == "unwanted"
    else:
        assert by_code == meant
    assert tag_for_code("amazon", "CR-" + code) == by_code  # the MFN report's spelling


@pytest.mark.parametrize("reason", RETURN_REASONS)
def test_shopify_return_reasons_agree_with_the_notes_the_simulator_writes(reason: str) -> None:
    by_code = tag_for_code("shopify", reason)
    notes = [note for note in CUSTOMER_NOTES[reason].values() if note]
    if reason in ("OTHER", "UNKNOWN"):
        assert by_code is None  # says nothing: the buyer's note decides
    else:
        assert by_code is not None
        assert all(intended_tag(note) == by_code for note in notes), notes


# --- codes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "code", "tag"),
    [
        ("amazon", "DEFECTIVE", ReasonTag.DEFECTIVE),
        ("amazon", "QUALITY_UNACCEPTABLE", ReasonTag.DEFECTIVE),
        ("amazon", "CR-DAMAGED_BY_CARRIER", ReasonTag.DAMAGED),
        ("amazon", " cr-missing_parts ", ReasonTag.MISSING_PARTS),
        ("amazon", "MISSED_ESTIMATED_DELIVERY", ReasonTag.ARRIVED_LATE),
        ("amazon", "APPAREL_TOO_SMALL", ReasonTag.SIZE_FIT),
        ("amazon", "AMZ-PG-BAD-DESC", ReasonTag.NOT_AS_DESCRIBED),
        ("amazon", "UNAUTHORIZED_PURCHASE", ReasonTag.UNAUTHORISED),
        ("amazon", "EXTRA_ITEM", ReasonTag.WRONG_ITEM),
        ("amazon", "UNDELIVERABLE_REFUSED", ReasonTag.OTHER),
        ("amazon", "NO_REASON_GIVEN", None),
        ("amazon", "CR-NO_REASON_GIVEN", None),
        ("amazon", "SOMETHING_NEW", None),
        ("amazon", "", None),
        ("shopify", "SIZE_TOO_SMALL", ReasonTag.SIZE_FIT),
        ("shopify", "size_too_large", ReasonTag.SIZE_FIT),  # the REST API's spelling
        ("shopify", "not-as-described", ReasonTag.NOT_AS_DESCRIBED),  # a reason definition's handle
        ("shopify", "COLOR", ReasonTag.NOT_AS_DESCRIBED),
        ("shopify", "STYLE", ReasonTag.NO_LONGER_NEEDED),
        ("shopify", "WRONG_ITEM", ReasonTag.WRONG_ITEM),
        ("shopify", "FRAUD", ReasonTag.UNAUTHORISED),
        ("shopify", "CUSTOMER", ReasonTag.NO_LONGER_NEEDED),
        ("shopify", "INVENTORY", ReasonTag.OTHER),
        ("shopify", "UNKNOWN", None),
        ("shopify", "OTHER", None),
        ("woocommerce", "DEFECTIVE", None),  # free text only: the keywords decide
        ("ebay", "DEFECTIVE", None),
    ],
)
def test_tag_for_code(platform: str, code: str, tag: str | None) -> None:
    assert tag_for_code(platform, code) == tag


# --- words the simulator never writes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        # defective / quality
        ("The headphones are broken, left side has no sound", ReasonTag.DEFECTIVE),
        ("Item is faulty and won't turn on at all", ReasonTag.DEFECTIVE),
        ("Nach einer Woche kaputt, Akku lädt nicht", ReasonTag.DEFECTIVE),
        ("Produit défectueux dès la réception", ReasonTag.DEFECTIVE),
        ("Il prodotto è difettoso", ReasonTag.DEFECTIVE),
        ("El producto vino defectuoso y no funciona", ReasonTag.DEFECTIVE),
        ("スイッチが壊れていました", ReasonTag.DEFECTIVE),
        ("耳机坏了，左边没有声音", ReasonTag.DEFECTIVE),  # noqa: RUF001 - Chinese punctuation
        # wrong item
        ("You sent me the wrong item, I ordered blue", ReasonTag.WRONG_ITEM),
        ("Falscher Artikel, ich habe etwas anderes bestellt", ReasonTag.WRONG_ITEM),
        ("Ce n'est pas compatible avec mon ordinateur", ReasonTag.WRONG_ITEM),
        ("发错货了，我要的是黑色", ReasonTag.WRONG_ITEM),  # noqa: RUF001
        ("注文した商品と違う商品が届きました", ReasonTag.WRONG_ITEM),
        # damaged in transit
        ("Package arrived damaged, the screen is cracked", ReasonTag.DAMAGED),
        ("Paket kam beschädigt an", ReasonTag.DAMAGED),
        ("Colis arrivé endommagé", ReasonTag.DAMAGED),
        ("El paquete llegó dañado", ReasonTag.DAMAGED),
        ("Pacco arrivato danneggiato", ReasonTag.DAMAGED),
        ("外箱破损严重", ReasonTag.DAMAGED),
        ("配送中に破損していました", ReasonTag.DAMAGED),
        # not as described
        ("Not as described on the listing", ReasonTag.NOT_AS_DESCRIBED),
        ("Artikel ist nicht wie beschrieben", ReasonTag.NOT_AS_DESCRIBED),
        ("实物与描述不符", ReasonTag.NOT_AS_DESCRIBED),
        ("商品ページの写真と違う", ReasonTag.NOT_AS_DESCRIBED),
        # size or fit
        ("Shoes are too small, need a 43", ReasonTag.SIZE_FIT),
        ("Die Jacke ist zu klein", ReasonTag.SIZE_FIT),
        ("La veste est trop grande", ReasonTag.SIZE_FIT),
        ("衣服太小了，穿不上", ReasonTag.SIZE_FIT),  # noqa: RUF001
        ("サイズが合わなかった", ReasonTag.SIZE_FIT),
        # no longer needed
        ("I changed my mind about this purchase", ReasonTag.NO_LONGER_NEEDED),
        ("Brauche es nicht mehr", ReasonTag.NO_LONGER_NEEDED),
        ("No me gusta el color", ReasonTag.NO_LONGER_NEEDED),
        ("不想要了", ReasonTag.NO_LONGER_NEEDED),
        # arrived late
        ("Delivery was delayed by two weeks", ReasonTag.ARRIVED_LATE),
        ("Lieferung kam viel zu spät", ReasonTag.ARRIVED_LATE),
        ("快递迟到了一周", ReasonTag.ARRIVED_LATE),
        ("Consegna in ritardo di una settimana", ReasonTag.ARRIVED_LATE),
        # missing parts
        ("Screws are missing", ReasonTag.MISSING_PARTS),
        ("Die Fernbedienung fehlt", ReasonTag.MISSING_PARTS),
        ("Il manque la télécommande", ReasonTag.MISSING_PARTS),
        ("Falta el mando", ReasonTag.MISSING_PARTS),
        ("少了一个配件", ReasonTag.MISSING_PARTS),
        ("説明書が入っていません", ReasonTag.MISSING_PARTS),
        # unauthorised
        ("I did not order this, unauthorized purchase", ReasonTag.UNAUTHORISED),
        ("未经授权的订单", ReasonTag.UNAUTHORISED),
        # nothing to go on
        ("Return received", None),
        ("Order cancelled", None),
        ("", None),
        ("   ", None),
    ],
)
def test_tag_from_text_beyond_the_simulator(text: str, tag: str | None) -> None:
    assert tag_from_text(text) == tag


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("DEFECTUEUX", ReasonTag.DEFECTIVE),  # upper case
        ("defectueux", ReasonTag.DEFECTIVE),  # accents left out by the buyer
        ("BESCHÄDIGT", ReasonTag.DAMAGED),
        ("beschaedigt", None),  # a transliteration is not guessed
        ("ＢＲＯＫＥＮ", ReasonTag.DEFECTIVE),  # noqa: RUF001 - full-width letters on purpose
        ("ｻｲｽﾞが合いません", ReasonTag.SIZE_FIT),  # half-width katakana
        ("Viel zu groß", ReasonTag.SIZE_FIT),  # ß
        ("It doesn’t work", ReasonTag.DEFECTIVE),  # typographic apostrophe  # noqa: RUF001
    ],
)
def test_normalisation(text: str, tag: str | None) -> None:
    assert tag_from_text(text) == tag


@pytest.mark.parametrize(
    "text",
    [
        "My dentist recommended it",  # "dent" is a word, not a prefix
        "Ordered crackers by the box",  # "crack" is a word
        "Oversized hoodie as pictured, love it",  # "size" is a word
        "Kindness of the seller",  # no keyword inside another word
    ],
)
def test_latin_keywords_respect_word_boundaries(text: str) -> None:
    assert tag_from_text(text) is None


@pytest.mark.parametrize(
    ("text", "tag", "why"),
    [
        ("Much smaller than described", ReasonTag.NOT_AS_DESCRIBED, "'than described' is longer than any size word"),
        ("Does not fit my phone", ReasonTag.WRONG_ITEM, "'does not fit my phone' beats 'does not fit'"),
        ("Does not fit, too tight", ReasonTag.SIZE_FIT, "no device: a size problem"),
        ("Passt nicht zu meinem Handy", ReasonTag.WRONG_ITEM, "'passt nicht zu meinem' beats 'passt nicht'"),
        ("盒子被压坏了", ReasonTag.DAMAGED, "'压坏' and '坏了' tie: damaged comes first"),
        ("Box was crushed and now it stopped working", ReasonTag.DEFECTIVE, "'stopped working' is the longer"),
    ],
)
def test_the_most_specific_keyword_wins(text: str, tag: str, why: str) -> None:
    assert tag_from_text(text) == tag, why


def test_scores_and_priority_are_documented_and_complete() -> None:
    assert set(TAG_PRIORITY) == set(ReasonTag.values)
    scores = text_scores("Arrived with a cracked case and the cable was missing")
    assert set(scores) == {ReasonTag.DAMAGED, ReasonTag.MISSING_PARTS}
    assert tag_from_text("Arrived with a cracked case and the cable was missing") == ReasonTag.MISSING_PARTS


def test_keyword_lists_are_normalised_and_known() -> None:
    keywords = keyword_list()
    assert len(keywords) > 400
    for tag, keyword in keywords:
        assert tag in ReasonTag.values
        assert keyword.strip() == keyword and keyword
    assert normalise("  \uff23afé\u00a0 AU  LAIT ") == "cafe au lait"  # full-width C, no-break space
    assert normalise("ガイド") == "ガイド"  # voiced kana keep their marks
