"""Evasion variants: seeded, each one a real change, and undone by normalization."""

from __future__ import annotations

import re

import pytest

from charter.engines.evasion import EVASIONS, SINGLE, evade, evasion_variants
from charter.engines.normalize import normalize
from charter.errors import CharterError

TEXT = "please send the money today or the account will be closed forever"
FIRES = {
    "leet": "leet",
    "homoglyph": "homoglyph",
    "zero_width": "zero_width",
    "spacing": "spacing",
    "repetition": "repeat",
    "symbol": "symbol",
}


@pytest.mark.parametrize("kind", list(EVASIONS))
def test_variant_changes_text_and_is_seeded(kind: str) -> None:
    variant = evade(TEXT, kind, seed=1)
    assert variant != TEXT
    assert evade(TEXT, kind, seed=1) == variant
    assert len({evade(TEXT, kind, seed=s) for s in range(6)}) > 1


@pytest.mark.parametrize("kind", [k for k in SINGLE if k != "repetition"])
def test_normalization_recovers_the_original(kind: str) -> None:
    for seed in range(10):
        result = normalize(evade(TEXT, kind, seed))
        assert result.text == TEXT, (kind, seed)
        assert result.fired == [FIRES[kind]]


def test_repetition_is_cut_back_to_at_most_two_letters() -> None:
    def singles(text: str) -> str:
        return re.sub(r"(.)\1+", r"\1", text)

    for seed in range(10):
        result = normalize(evade(TEXT, "repetition", seed))
        assert result.fired == ["repeat"]
        assert not re.search(r"(.)\1\1", result.text)
        assert singles(result.text) == singles(TEXT)


def test_combined_applies_several_and_normalization_reports_them() -> None:
    fired_counts = [len(normalize(evade(TEXT, "combined", s)).fired) for s in range(10)]
    assert min(fired_counts) >= 2


def test_mentions_and_urls_are_not_rewritten() -> None:
    text = "@someone look at https://example.com/offer now"
    for kind in EVASIONS:
        variant = evade(text, kind, seed=3)
        assert "@someone" in variant and "https://example.com/offer" in variant


def test_variants_for_many_texts_do_not_depend_on_their_neighbours() -> None:
    texts = ["win a free prize now", "call this number today"]
    together = evasion_variants(texts, ["leet", "spacing"], seed=5)
    alone = evasion_variants(texts[1:], ["leet", "spacing"], seed=5)
    assert together["leet"][1] == alone["leet"][0]
    assert together["spacing"][1] == alone["spacing"][0]
    assert set(evasion_variants(texts)) == set(EVASIONS)


def test_text_without_words_is_returned_as_is() -> None:
    assert evade("12 34 !!", "leet") == "12 34 !!"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(CharterError, match="unknown evasion"):
        evade(TEXT, "rot13")
