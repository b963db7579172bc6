"""What a matcher's values must be for the rules engine to use them safely: how regular
expressions are compiled, which patterns can backtrack catastrophically or match everything,
and the shape of an exact-match digest. The linter and the rules engine share these
definitions, so a pattern that lints clean is the pattern the engine runs.

The backtracking check is a cheap static one on Python's own parse of the pattern: an
unbounded repeat whose body can itself repeat without bound (`(a+)+`, `(\\w+\\s?)*`), or
whose alternatives can match the same text (`(a|ab)+`, `(\\w|\\d)+`), can take exponential
time on a crafted input. It does not prove a pattern safe; it catches the classic shapes.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

REGEX_FLAGS = re.IGNORECASE
DIGEST = re.compile(r"^[0-9a-f]{64}$")
WORD = re.compile(r"\w")

_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT}
_UNBOUNDED_FROM = 16  # a repeat with a larger upper bound counts as unbounded


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The pattern as the rules engine searches it (raises re.error when it is invalid)."""
    return re.compile(pattern, REGEX_FLAGS)


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used as a matcher, or None when it can."""
    try:
        compiled = compile_pattern(pattern)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        return f"invalid regular expression{where}: {exc.msg}"
    if compiled.search("") is not None:
        return "the pattern matches the empty string, so it would hit every item; require at least one character"
    risky = _backtracking(sre_parse.parse(pattern, REGEX_FLAGS))
    if risky:
        return (
            f"the pattern can backtrack catastrophically ({risky}); a crafted post could stall the "
            "rules engine. Make the inner part match a fixed length, or make the alternatives disjoint"
        )
    return None


def _unbounded(hi: int) -> bool:
    return hi == sre.MAXREPEAT or hi >= _UNBOUNDED_FROM


def _backtracking(parsed: Any) -> str | None:
    """The first risky construct found in a parsed (sub)pattern, described, or None."""
    for op, arg in parsed:
        if op in _REPEATS:
            _lo, hi, body = arg
            if hi >= 2 and _ambiguous_iterations(body):
                return "a repeated group can split the same text into iterations in more than one way"
            found = _backtracking(body)
        elif op is sre.SUBPATTERN:
            found = _backtracking(arg[-1])
        elif op is sre.BRANCH:
            found = next((r for r in map(_backtracking, arg[1]) if r), None)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found = _backtracking(arg[1])
        else:
            found = None
        if found:
            return found
    return None


def _unwrap(parsed: Any) -> list[tuple[Any, Any]]:
    items = list(parsed)
    while len(items) == 1 and items[0][0] is sre.SUBPATTERN:
        items = list(items[0][1][-1])
    return items


def _ambiguous_iterations(body: Any) -> bool:
    """Whether a repeated body can match one text as different sequences of iterations.

    Unambiguous shapes: bounded inner repeats, and an unbounded repeat of one character class
    that must be followed (within the body, or by the next iteration's start) by a character
    it cannot match, as in `(?:[a-z]+\\.)+` or `(?:\\w+\\s)+`.
    """
    items = _unwrap(body)
    for index, (op, arg) in enumerate(items):
        if op is sre.BRANCH:
            starts = [_first_chars(branch) for branch in arg[1]]
            if any(a is None or b is None or a & b for i, a in enumerate(starts) for b in starts[i + 1 :]):
                return True
            if any(_ambiguous_iterations(branch) or _has_unbounded(branch) for branch in arg[1]):
                return True
        elif op is sre.SUBPATTERN and _has_unbounded(arg[-1]):
            return True
        elif op in _REPEATS and _unbounded(arg[1]):
            chars = _single_chars(arg[2])
            if chars is None or _boundary_overlaps(items, index, chars):
                return True
        elif op in _REPEATS and _has_unbounded(arg[2]):
            return True
    return False


def _has_unbounded(parsed: Any) -> bool:
    """Whether the (sub)pattern contains an unbounded repeat anywhere."""
    for op, arg in parsed:
        if op in _REPEATS and (_unbounded(arg[1]) or _has_unbounded(arg[2])):
            return True
        if op is sre.SUBPATTERN and _has_unbounded(arg[-1]):
            return True
        if op is sre.BRANCH and any(_has_unbounded(b) for b in arg[1]):
            return True
    return False


def _boundary_overlaps(items: list[tuple[Any, Any]], index: int, chars: frozenset[str]) -> bool:
    """Whether what follows the repeat at `index` (wrapping round to the body's start, as the
    next iteration does) can begin with a character the repeat also matches."""
    order = items[index + 1 :] + items[: index + 1]
    for position, (op, arg) in enumerate(order):
        if op is sre.AT:
            continue  # anchors and \\b match no character
        if position == len(order) - 1:
            return True  # came round to the repeat itself: iterations can split its run
        if op in _REPEATS:
            following = _single_chars(arg[2])
            if following is None or following & chars:
                return True
            if arg[0] >= 1:
                return False
            continue  # optional and disjoint: look further
        following = _single_chars([(op, arg)])
        return following is None or bool(following & chars)
    return True


_SAMPLE = [chr(c) for c in range(32, 127)] + ["é", "ß", "ж", "中", "\n", "\t", "\u00a0"]
_SINGLE = {sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY, sre.CATEGORY}


def _single_chars(parsed: Any) -> frozenset[str] | None:
    """The sample characters a one-character item matches (None when it is not one)."""
    items = _unwrap(parsed)
    if len(items) != 1 or items[0][0] not in _SINGLE:
        return None
    op, arg = items[0]
    matcher = re.compile(_one_char(op, arg), REGEX_FLAGS | re.DOTALL)
    return frozenset(c for c in _SAMPLE if matcher.fullmatch(c))


def _first_chars(branch: Any) -> frozenset[str] | None:
    """The sample characters a branch can start with (None: unknown or empty, assume any)."""
    items = _unwrap(branch)
    if not items:
        return None
    op, arg = items[0]
    if op in _SINGLE:
        return _single_chars([items[0]])
    if op in _REPEATS and arg[0] >= 1:
        return _single_chars(arg[2])
    return None


def _one_char(op: Any, arg: Any) -> str:
    """A pattern equivalent to one parsed single-character item."""
    if op is sre.LITERAL:
        return re.escape(chr(arg))
    if op is sre.NOT_LITERAL:
        return f"[^{re.escape(chr(arg))}]"
    if op is sre.ANY:
        return "."
    if op is sre.CATEGORY:
        return _CATEGORY_TEXT.get(arg, ".")
    return "[" + "".join(_class_part(o, a) for o, a in arg) + "]"


_CATEGORY_TEXT = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
}


def _class_part(op: Any, arg: Any) -> str:
    if op is sre.NEGATE:
        return "^"
    if op is sre.LITERAL:
        return re.escape(chr(arg))
    if op is sre.RANGE:
        return f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}"
    if op is sre.CATEGORY:
        return _CATEGORY_TEXT.get(arg, "")
    return ""
