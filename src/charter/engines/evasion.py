"""Seeded evasion variants for the robustness suite: the tricks `normalize` undoes, one at a
time (leet, homoglyph, zero_width, spacing, repetition, symbol) and combined.

Each generator rewrites a share (`rate`) of a text's plain ASCII words, and at least one
when the text has any, so every variant differs from its original. Mentions, hashtags and
URLs are left alone. The same (text, kind, seed) always gives the same variant, whatever
else is generated around it, so a robustness report can be reproduced item by item.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence

from charter.engines.normalize import FOLD_TABLE, LEET, SYMBOLS
from charter.errors import CharterError

Evasion = Callable[[str, random.Random], str]

# Latin → look-alike, preferring Cyrillic (the most common homoglyph source), then Greek.
_LOOKALIKES: dict[str, str] = {}
for _char, _latin in sorted(FOLD_TABLE.items(), key=lambda kv: ("\u0400" <= kv[0] <= "\u04ff", "\u0370" <= kv[0] <= "\u03ff"), reverse=True):
    _LOOKALIKES.setdefault(_latin, _char)
_LEET_FOR = {letter: [d for d, l in LEET.items() if l == letter] for letter in set(LEET.values())}
_SYMBOL_FOR = {letter: [s for s, l in SYMBOLS.items() if l == letter] for letter in set(SYMBOLS.values())}
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
_SEPARATORS = (" ", ".", "-", "*", "_")
_WORD = re.compile(r"(?<![\w@#/.:])[A-Za-z]{3,}(?![\w@/:]|\.\w)")


def _rewrite(text: str, rng: random.Random, rate: float, change: Callable[[str, random.Random], str], min_len: int = 3) -> str:
    """Apply `change` to a `rate` share of the eligible words (at least one)."""
    words = [m for m in _WORD.finditer(text) if len(m.group(0)) >= min_len]
    if not words:
        return text
    chosen = {m.start() for m in words if rng.random() < rate} or {rng.choice(words).start()}
    out, last = [], 0
    for m in words:
        if m.start() in chosen:
            out += [text[last : m.start()], change(m.group(0), rng)]
            last = m.end()
    out.append(text[last:])
    return "".join(out)


def _substitute_interior(word: str, rng: random.Random, table: dict[str, list[str]]) -> str:
    """Replace some interior letters that `table` has substitutes for (at least one if any)."""
    spots = [i for i in range(1, len(word) - 1) if table.get(word[i].lower())]
    if not spots:
        return word
    picked = {i for i in spots if rng.random() < 0.5} or {rng.choice(spots)}
    return "".join(rng.choice(table[c.lower()]) if i in picked else c for i, c in enumerate(word))


def leet(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """h4te, sh1t: digits and $/@ for interior letters."""
    return _rewrite(text, rng, rate, lambda w, r: _substitute_interior(w, r, _LEET_FOR))


def symbol(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """h€llo, ¢ash: look-alike symbols for interior letters."""
    return _rewrite(text, rng, rate, lambda w, r: _substitute_interior(w, r, _SYMBOL_FOR))


def homoglyph(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Cyrillic/Greek look-alikes for some letters of a word (a mixed-script word)."""

    def change(word: str, r: random.Random) -> str:
        spots = [i for i, c in enumerate(word) if c in _LOOKALIKES]
        if not spots:
            return word
        picked = {i for i in spots if r.random() < 0.5} or {r.choice(spots)}
        return "".join(_LOOKALIKES[c] if i in picked else c for i, c in enumerate(word))

    return _rewrite(text, rng, rate, change)


def zero_width(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Invisible characters between letters: h\u200bate."""

    def change(word: str, r: random.Random) -> str:
        cuts = sorted(r.sample(range(1, len(word)), k=max(1, (len(word) - 1) // 2)))
        parts, last = [], 0
        for cut in cuts:
            parts += [word[last:cut], r.choice(_ZERO_WIDTH)]
            last = cut
        return "".join(parts) + word[last:]

    return _rewrite(text, rng, rate, change)


def spacing(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Spelled-out letters: h a t e, h.a.t.e, h-a-t-e (words of four letters or more)."""
    return _rewrite(text, rng, rate, lambda w, r: r.choice(_SEPARATORS).join(w), min_len=4)


def repetition(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """One letter stretched: haaaate."""

    def change(word: str, r: random.Random) -> str:
        i = r.randrange(len(word))
        return word[:i] + word[i] * r.randint(3, 6) + word[i + 1 :]

    return _rewrite(text, rng, rate, change)


SINGLE: dict[str, Evasion] = {
    "leet": leet,
    "homoglyph": homoglyph,
    "zero_width": zero_width,
    "spacing": spacing,
    "repetition": repetition,
    "symbol": symbol,
}


def combined(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Two to four of the single evasions, applied in a fixed order to distinct words."""
    kinds = set(rng.sample(sorted(SINGLE), k=rng.randint(2, 4)))
    # Character-level tricks first: each rewrites only still-plain words, so every word
    # carries one trick; spacing last, so it spells out plain words only.
    for kind in ("repetition", "leet", "symbol", "homoglyph", "zero_width", "spacing"):
        if kind in kinds:
            text = SINGLE[kind](text, rng, rate)
    return text


EVASIONS: dict[str, Evasion] = {**SINGLE, "combined": combined}


def evade(text: str, kind: str, seed: int = 0) -> str:
    """One variant of `text`; deterministic in (text, kind, seed)."""
    if kind not in EVASIONS:
        raise CharterError(f"unknown evasion {kind!r} (known: {', '.join(EVASIONS)})")
    return EVASIONS[kind](text, random.Random(f"{seed}\0{kind}\0{text}"))


def evasion_variants(texts: Sequence[str], kinds: Iterable[str] | None = None, seed: int = 0) -> dict[str, list[str]]:
    """For each kind (default: all), one variant per text, in order."""
    return {kind: [evade(t, kind, seed) for t in texts] for kind in (kinds or EVASIONS)}
