"""Evasion normalization: each transformation undoes its trick, leaves real text alone, and
says that it fired; the whole step is idempotent and total on arbitrary Unicode."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.engines.normalize import TRANSFORMATIONS, normalize, normalize_batch, normalize_texts

POSITIVE = [
    # zero-width and invisible characters
    ("h\u200bate", "hate", ["zero_width"]),
    ("k\u2060i\ufeffl\u00adl", "kill", ["zero_width"]),
    ("h\u200da\u200cte", "hate", ["zero_width"]),
    ("free\U000e0041\U000e0042 money", "free money", ["zero_width"]),
    # bidi controls
    ("scam\u202e link\u202c", "scam link", ["bidi"]),
    # NFKC: fullwidth, mathematical, circled letters, ligatures
    ("ｈａｔｅ", "hate", ["nfkc"]),
    ("𝐟𝐫𝐞𝐞 𝐦𝐨𝐧𝐞𝐲", "free money", ["nfkc"]),
    ("ⓚⓘⓛⓛ", "kill", ["nfkc"]),
    ("ﬁnd", "find", ["nfkc"]),
    # homoglyphs: mixed-script words, look-alike-only words in Latin text
    ("hеllo wоrld", "hello world", ["homoglyph"]),  # Cyrillic е, о
    ("ΡayΡal", "PayPal", ["homoglyph"]),  # Greek capital rho
    ("Сυр final", "Cup final", ["homoglyph"]),  # Cyrillic С + Greek υ, no Latin at all
    ("рау now", "pay now", ["homoglyph"]),  # whole word in Cyrillic look-alikes, Latin text
    # spacing
    ("h a t e you", "hate you", ["spacing"]),
    ("h.a.t.e", "hate", ["spacing"]),
    ("you are a k-i-l-l-e-r", "you are a killer", ["spacing"]),
    ("w_i_n big", "win big", ["spacing"]),
    ("s l u t", "slut", ["spacing"]),
    # leet, including edge digits once a token has an interior substitution
    ("h4te", "hate", ["leet"]),
    ("sh1t", "shit", ["leet"]),
    ("n1gg4", "nigga", ["leet"]),
    ("b@st@rd", "bastard", ["leet"]),
    ("pu$$y", "pussy", ["leet"]),
    ("H4TE", "HATE", ["leet"]),
    ("#h4tecrimes", "#hatecrimes", ["leet"]),
    ("l33t h4x0r", "leet haxor", ["leet"]),
    # symbols
    ("h€llo", "hello", ["symbol"]),
    ("¢a§h prize", "cash prize", ["symbol"]),
    # repeats: three or more → two
    ("cooool", "cool", ["repeat"]),
    ("fuuuuuck", "fuuck", ["repeat"]),
    ("HELLLLLO", "HELLO", ["repeat"]),
    # several at once, reported in pipeline order
    ("ｈ４ｔｅ", "hate", ["nfkc", "leet"]),
    ("h\u200b4\u200bt\u200be", "hate", ["zero_width", "leet"]),
    ("h 4 t e", "hate", ["spacing", "leet"]),
    ("c0000l", "cool", ["leet", "repeat"]),
    ("frее mоnеу h4te", "free money hate", ["homoglyph", "leet"]),
]


@pytest.mark.parametrize(("text", "expected", "fired"), POSITIVE)
def test_transformation_undoes_evasion(text: str, expected: str, fired: list[str]) -> None:
    result = normalize(text)
    assert result.text == expected
    assert result.fired == fired
    assert result.original == text


UNTOUCHED = [
    # non-Latin languages
    "Привет, как дела? Я и ты",  # Russian, with one-letter words
    "Καλημέρα κόσμε, τι κάνεις;",  # Greek
    "Это сор, а не мусор",  # Russian word made only of Latin look-alikes, in Russian text
    "مرحبا بالعالم",  # Arabic
    "می\u200cخواهم بروم",  # Persian with its ZWNJ
    "क्षत्रिय नमस्ते",  # Devanagari (ZWJ-free, conjuncts)
    "我 爱 你, 你好世界",  # Chinese, even spaced
    "〇〇さん、食べる",  # Japanese mixing kanji and kana
    "이 책 좀 봐",  # Korean one-syllable words
    "Ça va très bien, merci ! Über straße",  # accented Latin
    "👨\u200d👩\u200d👧 family",  # emoji ZWJ sequence
    # numbers and digit tokens
    "It cost $100 in 2024, about 3.14 each",
    "call 1 2 3 4 now",
    "mp3 covid19 4th b4 2nd 1st 3d win10",
    "room 101, 555-1234",
    # text-speak and punctuation that is not evasion
    "u r a star",
    "idiot!just stop",
    "hello!!! really???",
    "good cool kill ass",
    "@user123 $AAPL #EMABiggestFans1D #2024goals",
    "RT@joe4ever was here",
    "visit https://t.co/aB3xYz or www.example.com",
    "mail j0hn.d0e@example.com",
    "",
    "plain words only",
]


@pytest.mark.parametrize("text", UNTOUCHED)
def test_real_text_is_left_alone(text: str) -> None:
    result = normalize(text)
    assert result.text == text
    assert result.fired == []


def test_cjk_punctuation_is_folded_but_not_reported_as_evasion() -> None:
    result = normalize("你好，世界！")
    assert result.text == "你好,世界!"
    assert result.fired == []


def test_a_non_latin_word_is_folded_only_among_latin_words() -> None:
    assert normalize("рау now").text == "pay now"
    assert normalize("рау сейчас").text == "рау сейчас"  # a genuine Cyrillic word beside it


def test_batch_helpers_match_single_calls() -> None:
    texts = ["h4te", "plain", "ｈｉ"]
    assert normalize_batch(texts) == [normalize(t) for t in texts]
    assert normalize_texts(texts) == ["hate", "plain", "hi"]


def test_a_megabyte_of_text_is_handled() -> None:
    text = "free m0ney h\u200bere " * 60_000
    result = normalize(text)
    assert result.text.startswith("free money here free money")
    assert result.fired == ["zero_width", "leet"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_total_and_idempotent_on_any_unicode(text: str) -> None:
    once = normalize(text)
    assert set(once.fired) <= set(TRANSFORMATIONS)
    assert normalize(once.text).text == once.text


EVASIVE = st.text(alphabet=list("abehilostAEHOST 4310@$€¢.-_*\u200b\u200d\u202eаеорсΑΟοίｈｅ"), max_size=40)


@settings(max_examples=500, deadline=None)
@given(EVASIVE)
def test_idempotent_on_evasion_heavy_text(text: str) -> None:
    once = normalize(text).text
    twice = normalize(once)
    assert twice.text == once
    assert twice.fired == []
