"""Evasion normalization: the one text clean-up that every pathway applies the same way.

Rules, classifiers and LLMs all see `normalize(text).text`, so "h4te", "hаte" (Cyrillic а),
"h\u200bate" and "h a t e" reach every enforcer as "hate", and the transformations that had
to fire are kept as a signal (`Normalized.fired`): evasion attempts are themselves evidence.

Steps, in order (names as they appear in `fired`):

- ``zero_width``: zero-width spaces/joiners, word joiner, BOM, soft hyphen, Hangul fillers and
  tag characters are removed. ZWJ/ZWNJ are removed only next to Latin, Greek or Cyrillic
  letters: Persian, Indic scripts and emoji sequences need them.
- ``bidi``: bidirectional control characters (embeddings, overrides, isolates, marks).
- ``nfkc``: Unicode NFKC (fullwidth, mathematical and circled letters, ligatures). It is
  reported only when it produced Latin letters or digits: CJK text's fullwidth punctuation
  is folded too, but that is ordinary writing, not evasion.
- ``homoglyph``: look-alike letters of other scripts folded to Latin, using the Unicode
  confusables table shipped by `confusable-homoglyphs`. Folded: words that mix Latin with
  another script, words made only of look-alikes from several scripts ("Сυр"), and a word
  written wholly in look-alikes of one script when the text around it is Latin and has no
  genuine word of that script. A Russian or Greek sentence, or a Japanese word mixing kanji
  and kana, is left as it is.
- ``spacing``: runs of single ASCII letters/digits with one consistent separator are joined:
  at least four when the separator is whitespace ("h a t e"; "u r a" is text-speak), three
  otherwise ("h.a.t.e", "h-a-t-e"); at least half the items must be letters, so "1 2 3"
  stays. A leading one-letter word is swallowed ("I h a t e" → "Ihate"). Other scripts are
  left alone: Russian, Korean or Chinese have many one-letter words.
- ``leet`` / ``symbol``: digits and ASCII symbols (4→a, 3→e, 1→i, 0→o, 5→s, 7→t, 9→g, @→a,
  $→s) and look-alike symbols (€→e, ¢→c, £→l, ©→c, ...) are replaced inside a token of
  ASCII letters only where they sit between letters ("h4te"); once a token has such an
  interior substitution, the digits and symbols at its edges are replaced too ("n1gg4").
  Tokens with edge digits only (mp3, covid19, 4th, b4), numbers (2024, $100), mentions,
  cashtags and camelCase tokens (handles or hashtags glued to a word: "RT@joe", "Fans1D")
  are left alone. 1 always reads as i. "!" and "|" are not read as letters: in real text they
  are punctuation missing its space ("idiot!just"). Arabizi (Arabic in Latin letters with
  digits, "ya3ne") is indistinguishable from leet and gets folded too.
- ``repeat``: a letter repeated three or more times is cut to two ("cooool" → "cool"); two,
  not one, because English spells many words with double letters (cool, kill, ass).

URLs, e-mail addresses and @mentions are kept verbatim by the ASCII-level steps. The result is a fixed
point: normalizing it again changes nothing.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from confusable_homoglyphs import categories as _scripts

TRANSFORMATIONS: tuple[str, ...] = (
    "zero_width",
    "bidi",
    "nfkc",
    "homoglyph",
    "spacing",
    "leet",
    "symbol",
    "repeat",
)

# --------------------------------------------------------------------------- invisible characters

_ALWAYS_INVISIBLE = (
    "\u200b\u2060\ufeff\u180e\u00ad\u034f\u2061\u2062\u2063\u2064\u3164\uffa0"
    "\U000e0001" + "".join(chr(c) for c in range(0xE0020, 0xE0080))
)
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_DROP_INVISIBLE = str.maketrans("", "", _ALWAYS_INVISIBLE)
_DROP_BIDI = str.maketrans("", "", _BIDI)
_INVISIBLE_RE = re.compile(f"[{re.escape(_ALWAYS_INVISIBLE)}\u200c\u200d]")
_BIDI_RE = re.compile(f"[{re.escape(_BIDI)}]")
# Letters of scripts that never need joiners (Latin incl. fullwidth, Greek, Cyrillic).
_JOINER_FREE = "A-Za-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"
_STRAY_JOINER = re.compile(f"(?<=[{_JOINER_FREE}])[\u200c\u200d]+|[\u200c\u200d]+(?=[{_JOINER_FREE}])")

# --------------------------------------------------------------------------- homoglyphs

_FOLD_SCRIPTS_EXCLUDED = {"LATIN", "COMMON", "INHERITED"}


def _load_fold_table() -> dict[str, str]:
    """Non-Latin letters → the ASCII letter they are confusable with (Unicode confusables)."""
    raw = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    table: dict[str, str] = {}
    for char, entries in raw.items():
        if len(char) != 1 or _scripts.alias(char) in _FOLD_SCRIPTS_EXCLUDED:
            continue
        targets = [e["c"] for e in entries if len(e["c"]) == 1 and e["c"] in string.ascii_letters]
        if not targets:
            continue
        same_case = [t for t in targets if t.isupper() == char.isupper()]
        target = same_case[0] if same_case else targets[0]
        if char.isupper() and target.islower():
            target = "I" if target == "l" else target.upper()
        table[char] = target
    return table


FOLD_TABLE: dict[str, str] = _load_fold_table()
_FOLD = str.maketrans(FOLD_TABLE)
_FOLDABLE_RE = re.compile("[" + re.escape("".join(FOLD_TABLE)) + "]")
_WORD_RE = re.compile(r"[^\W_]+")


@lru_cache(maxsize=65536)
def _script(char: str) -> str | None:
    """The Unicode script of a letter, or None for digits, marks and other common characters."""
    if char.isascii():
        return "LATIN" if char.isalpha() else None
    alias = _scripts.alias(char)
    return None if alias in ("COMMON", "INHERITED") else alias


def _word_scripts(word: str) -> set[str]:
    return {s for s in map(_script, word) if s is not None}


def _fold_homoglyphs(text: str) -> str:
    """Fold look-alikes in mixed-script words, and in look-alike-only words in Latin text."""
    if not _FOLDABLE_RE.search(text):
        return text
    words = _WORD_RE.findall(text)
    scripts_of = {w: _word_scripts(w) for w in words}
    latin_context: bool | None = None
    replacements: dict[str, str] = {}
    for word, scripts in scripts_of.items():
        if not _FOLDABLE_RE.search(word):
            continue
        lookalikes_only = all(c in FOLD_TABLE for c in word if _script(c))
        if len(scripts) > 1 and ("LATIN" in scripts or lookalikes_only):
            replacements[word] = word.translate(_FOLD)
        elif len(scripts) == 1 and lookalikes_only:
            if latin_context is None:
                latin_context = _is_latin_context(scripts_of)
            (script,) = scripts
            if latin_context and not _has_genuine_word(scripts_of, script):
                replacements[word] = word.translate(_FOLD)
    if not replacements:
        return text
    return _WORD_RE.sub(lambda m: replacements.get(m.group(0), m.group(0)), text)


def _is_latin_context(scripts_of: dict[str, set[str]]) -> bool:
    """Whether the text has a Latin word (mixed words count: they are being folded to Latin)."""
    return any("LATIN" in scripts and len(word) > 1 for word, scripts in scripts_of.items())


def _has_genuine_word(scripts_of: dict[str, set[str]], script: str) -> bool:
    """Whether some word of `script` uses a letter that has no Latin look-alike."""
    return any(
        scripts == {script} and any(c not in FOLD_TABLE and _script(c) for c in word)
        for word, scripts in scripts_of.items()
    )


# --------------------------------------------------------------------------- ASCII-level steps

_PROTECTED = re.compile(r"(https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+|(?<![\w.+-])@\w+)", re.IGNORECASE)

_SEPARATOR = r"[ .\-_*·•|~+]{1,3}"
_SPACED_CHAIN = re.compile(rf"(?<![\w@$])[A-Za-z0-9@$](?:{_SEPARATOR}[A-Za-z0-9@$])+(?![\w@$])")
_SEPARATOR_SPLIT = re.compile(f"({_SEPARATOR})")

LEET: dict[str, str] = {
    "4": "a", "@": "a", "3": "e", "1": "i", "0": "o", "5": "s", "$": "s", "7": "t", "9": "g",
}  # fmt: skip
SYMBOLS: dict[str, str] = {
    "€": "e", "£": "l", "¢": "c", "©": "c", "®": "r", "¥": "y", "†": "t", "∂": "d",
    "×": "x", "∩": "n", "∪": "u", "¡": "i", "§": "s", "√": "v", "∆": "a", "∑": "e", "∏": "n",
}  # fmt: skip
_EDGE_KEEP = set("@$")  # at a token's edge these are mentions and cashtags
_SUBSTITUTES = {**LEET, **SYMBOLS}
_SUB_CLASS = re.escape("".join(_SUBSTITUTES))
_TOKEN = re.compile(rf"(?<!\w)[A-Za-z{_SUB_CLASS}0-9]++(?!\w)")
_INTERIOR_HINT = re.compile(rf"[A-Za-z][{_SUB_CLASS}]+[A-Za-z]")
_RUN = re.compile(rf"[{_SUB_CLASS}0-9]+")
_REPEAT = re.compile(r"([^\W\d_])\1{2,}", re.IGNORECASE)
_TRIPLE = re.compile(r"(.)\1\1", re.IGNORECASE | re.DOTALL)  # cheap pre-check for _REPEAT


def _join_spaced(match: re.Match[str]) -> str:
    """Split a chain of single characters into runs of one separator each, join the runs.

    Where the separator changes ("m o n e y t-o-d-a-y"), the character at the seam starts
    the next run, unless the next separator is whitespace and the previous one is not.
    """
    parts = _SEPARATOR_SPLIT.split(match.group(0))
    items, seps = parts[0::2], parts[1::2]
    runs: list[tuple[list[str], str]] = []  # (items, the separator inside the run)
    current, current_sep = [items[0]], ""
    for sep, item in zip(seps, items[1:]):
        if not current_sep or sep == current_sep:
            current.append(item)
            current_sep = sep
        elif sep.isspace() and not current_sep.isspace():
            runs.append((current, current_sep))
            current, current_sep = [item], ""
        else:
            seam = current.pop()
            runs.append((current, current_sep))
            current, current_sep = [seam, item], sep
    runs.append((current, current_sep))
    out = []
    for position, (run, sep) in enumerate(runs):
        if position:
            out.append(_seam_separator(seps, runs, position - 1))
        out.append(_join_run(run, sep))
    return "".join(out)


def _seam_separator(seps: list[str], runs: list[tuple[list[str], str]], position: int) -> str:
    """The separator written between run `position` and the next (the one at their seam)."""
    consumed = sum(len(r) for r, _ in runs[: position + 1]) - 1
    return seps[consumed] if consumed < len(seps) else ""


def _join_run(items: list[str], sep: str) -> str:
    minimum = 4 if sep.isspace() else 3  # "u r a", "i c u": text-speak, not evasion
    letters = sum(c.isalpha() for c in items)
    if len(items) >= minimum and letters >= 2 and 2 * letters >= len(items):
        return "".join(items)
    return sep.join(items)


def _deleet_token(token: str, fired: set[str]) -> str:
    """Replace substitutes in one token by the rule in the module docstring."""
    runs = list(_RUN.finditer(token))
    interior = [m for m in runs if 0 < m.start() and m.end() < len(token) and _convertible(m.group(0))]
    if not interior or _mixed_case(token[1:]):
        return token
    upper = token.isupper()
    out: list[str] = []
    last = 0
    for m in runs:
        run = m.group(0)
        at_edge = m.start() == 0 or m.end() == len(token)
        if not _convertible(run) or (at_edge and any(c in _EDGE_KEEP for c in run)):
            continue
        out.append(token[last : m.start()])
        for c in run:
            fired.add("symbol" if c in SYMBOLS else "leet")
            out.append(_SUBSTITUTES[c].upper() if upper else _SUBSTITUTES[c])
        last = m.end()
    out.append(token[last:])
    return "".join(out)


def _mixed_case(rest: str) -> bool:
    """camelCase after the first letter: a handle, hashtag or name glued on ("RT@joe", "Fans1D")."""
    return not (rest.islower() or rest.isupper()) and any(c.isalpha() for c in rest)


def _convertible(run: str) -> bool:
    return all(c in _SUBSTITUTES for c in run)


def _ascii_steps(segment: str, fired: set[str]) -> str:
    """Spacing, leet/symbol and repetition on text outside URLs and e-mail addresses."""
    joined = _SPACED_CHAIN.sub(_join_spaced, segment)
    if joined != segment:
        fired.add("spacing")
        segment = joined
    if _INTERIOR_HINT.search(segment):
        segment = _TOKEN.sub(lambda m: _deleet_token(m.group(0), fired), segment)
    if not _TRIPLE.search(segment):
        return segment
    folded, count = _REPEAT.subn(r"\1\1", segment)
    if count:
        fired.add("repeat")
    return folded


# --------------------------------------------------------------------------- the pipeline


@dataclass(frozen=True, slots=True)
class Normalized:
    """The original text, its normalized form, and the transformations that fired (in order)."""

    original: str
    text: str
    fired: list[str] = field(default_factory=list)


def _ascii_alnum(text: str) -> int:
    return sum(c.isascii() and c.isalnum() for c in text)


def _once(text: str, fired: set[str]) -> str:
    if not text.isascii():
        if _INVISIBLE_RE.search(text):
            cleaned = _STRAY_JOINER.sub("", text.translate(_DROP_INVISIBLE))
            if cleaned != text:
                fired.add("zero_width")
                text = cleaned
        if _BIDI_RE.search(text):
            fired.add("bidi")
            text = text.translate(_DROP_BIDI)
        if not unicodedata.is_normalized("NFKC", text):
            composed = unicodedata.normalize("NFKC", text)
            if _ascii_alnum(composed) > _ascii_alnum(text):
                fired.add("nfkc")
            text = composed
        folded = _fold_homoglyphs(text)
        if folded != text:
            fired.add("homoglyph")
            text = folded
    if not (_SPACED_CHAIN.search(text) or _INTERIOR_HINT.search(text) or _TRIPLE.search(text)):
        return text  # fast path: nothing for the ASCII-level steps to do anywhere
    if ("@" in text or "://" in text or "www." in text.lower()) and _PROTECTED.search(text):
        parts = _PROTECTED.split(text)
        return "".join(p if i % 2 else _ascii_steps(p, fired) for i, p in enumerate(parts))
    return _ascii_steps(text, fired)


_MAX_PASSES = 4


def normalize(text: str) -> Normalized:
    """Undo common evasions; see the module docstring for the steps and their limits."""
    fired: set[str] = set()
    previous, out = text, _once(text, fired)
    passes = 1
    # A step can expose work for an earlier one (NFKC composes a letter next to a joiner):
    # repeat until nothing changes, so that normalize(normalize(x)) == normalize(x).
    while out != previous and passes < _MAX_PASSES:
        previous, out = out, _once(out, fired)
        passes += 1
    return Normalized(text, out, [name for name in TRANSFORMATIONS if name in fired])


def normalize_batch(texts: Iterable[str]) -> list[Normalized]:
    """`normalize` over many texts, in order."""
    return [normalize(t) for t in texts]


def normalize_texts(texts: Iterable[str]) -> list[str]:
    """Only the normalized texts (what a vectorizer needs), in order."""
    return [normalize(t).text for t in texts]
