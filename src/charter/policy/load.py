"""Loading a policy file: YAML (with line numbers kept) → validated `Policy`, or a CharterError
whose every problem names the file, line, column and document path a policy author must fix.

The raw round-trip document is kept next to the parsed policy so that the linter can point at
the exact line of, say, `categories[hate].tree.nodes.q3.yes` too.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import re
import types
import typing
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from charter.errors import CharterError, Location, Problem
from charter.policy.spec import Identifier, KeywordId, Policy, RuleId

LocPart = Union[str, int]
Loc = tuple[LocPart, ...]


# --------------------------------------------------------------------------- document paths


def _child(node: Any, part: LocPart) -> Any:
    """The child of a raw mapping/list or a parsed model at `part`, or None if absent."""
    if isinstance(node, Mapping):
        return node.get(part)
    if isinstance(node, BaseModel):
        return getattr(node, part, None) if isinstance(part, str) else None
    if isinstance(node, Sequence) and not isinstance(node, str) and isinstance(part, int):
        return node[part] if 0 <= part < len(node) else None
    return None


def _item_id(item: Any) -> str | None:
    """The `id` a list item is known by (raw mapping or model), if it has a plain one."""
    value = item.get("id") if isinstance(item, Mapping) else getattr(item, "id", None)
    if isinstance(value, str) and value and not any(ch in value for ch in "[] \n"):
        return value
    return None


def document_path(root: Any, loc: Loc) -> str:
    """A readable path such as `categories[hate].tree.nodes.q3.yes`.

    List items that have an `id` are addressed by it, others by index; works on the raw YAML
    document and on a parsed Policy alike, so load errors and lint problems read the same.
    """
    text = ""
    node = root
    for part in loc:
        if isinstance(part, int) and isinstance(node, Sequence) and not isinstance(node, str | Mapping):
            item = _child(node, part)
            ident = _item_id(item) if item is not None else None
            text += f"[{ident if ident is not None else part}]"
        else:
            text += f".{part}" if text else str(part)
        node = _child(node, part)
    return text


# --------------------------------------------------------------------------- the loaded policy


@dataclass(frozen=True)
class LoadedPolicy:
    """A parsed policy together with its file name and raw document, to locate problems."""

    policy: Policy
    file: str
    document: CommentedMap

    def locate(self, loc: Loc, at_key: bool = False) -> Location:
        """Map a path inside the document (keys and list indexes) to file, line and column."""
        return _locate(self.document, self.file, loc, at_key)


def _locate(document: Any, file: str, loc: Loc, at_key: bool = False) -> Location:
    """Line/column of the deepest existing node on `loc` (1-based).

    A mapping entry is located at its key, except that the last entry of `loc` is located at
    its value when that value is a scalar (that is what is wrong), or when `at_key` is set.
    A path that leaves the document (a missing field) stops at the parent's position.
    """
    line, column = 0, 0
    node = document
    if isinstance(node, CommentedMap | CommentedSeq):
        line, column = node.lc.line, node.lc.col
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, CommentedMap) and part in node:
            position = node.lc.data.get(part)
            value = node[part]
            if position is not None:
                scalar = not isinstance(value, CommentedMap | CommentedSeq)
                if last and scalar and not at_key:
                    line, column = position[2], position[3]
                else:
                    line, column = position[0], position[1]
            node = value
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            position = node.lc.data.get(part)
            if position is not None:
                line, column = position[0], position[1]
            node = node[part]
        else:
            break
    return Location(file=file, line=line + 1, column=column + 1, path=document_path(document, loc) or None)


# --------------------------------------------------------------------------- reading files


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; raises CharterError with located problems."""
    return load_policy_source(path).policy


def load_policy_source(path: str | Path) -> LoadedPolicy:
    """Read and validate a policy file, keeping the document to locate lint problems."""
    name = str(path)
    file_path = Path(path)
    if not file_path.exists():
        raise CharterError(
            f"policy file not found: {name}",
            [Problem("no such file", Location(file=name), code="file-not-found")],
        )
    if file_path.is_dir():
        raise CharterError(
            f"{name} is a directory, not a policy file",
            [Problem("expected a YAML file, got a directory", Location(file=name), code="not-a-file")],
        )
    try:
        raw = file_path.read_bytes()
    except OSError as exc:
        raise CharterError(
            f"cannot read {name}: {exc.strerror}",
            [Problem(f"cannot read the file: {exc.strerror}", Location(file=name), code="unreadable-file")],
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise CharterError(
            f"{name} is not UTF-8 text",
            [
                Problem(
                    f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
                    Location(file=name, line=line, column=column),
                    code="not-utf8",
                )
            ],
        ) from None
    return parse_policy_text(text, filename=name)


def parse_policy_text(text: str, filename: str = "<string>") -> LoadedPolicy:
    """Parse and validate policy YAML given as text (tests, the HTTP API)."""
    document = _parse_yaml(text, filename)
    plain, problems = _plain(document, (), document, filename)
    if problems:
        raise CharterError(f"{filename}: unsupported YAML in policy", problems)
    try:
        policy = Policy.model_validate(plain)
    except ValidationError as exc:
        found = [_problem(error, document, filename) for error in exc.errors()]
        found.sort(key=lambda p: (p.location.line or 0, p.location.column or 0))
        count = len(found)
        raise CharterError(
            f"{filename}: invalid policy ({count} problem{'s' if count != 1 else ''})", found
        ) from None
    return LoadedPolicy(policy=policy, file=filename, document=document)


def _parse_yaml(text: str, filename: str) -> CommentedMap:
    """Round-trip YAML parse (keeps line/column of every key and item)."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except DuplicateKeyError as exc:
        raise CharterError(f"{filename}: duplicate key", [_yaml_problem(exc, filename, duplicate=True)]) from None
    except MarkedYAMLError as exc:
        problem = _unclosed_quote_problem(text, exc, filename) or _yaml_problem(exc, filename)
        raise CharterError(f"{filename}: not valid YAML", [problem]) from None
    except ReaderError as exc:
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        message = f"character {exc.character!r} is not allowed in YAML ({exc.reason})"
        problem = Problem(message, Location(file=filename, line=line, column=column), code="yaml-syntax")
        raise CharterError(f"{filename}: not valid YAML", [problem]) from None
    except YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CharterError(
            f"{filename}: not valid YAML", [Problem(first, Location(file=filename), code="yaml-syntax")]
        ) from None
    if document is None:
        raise CharterError(
            f"{filename}: the policy file is empty",
            [
                Problem(
                    "the file has no content; a policy needs at least metadata, actions and categories",
                    Location(file=filename, line=1, column=1),
                    code="empty-file",
                )
            ],
        )
    if not isinstance(document, CommentedMap):
        line, column = (document.lc.line + 1, document.lc.col + 1) if isinstance(document, CommentedSeq) else (1, 1)
        keys = ", ".join(Policy.model_fields)
        raise CharterError(
            f"{filename}: the top level of a policy must be a mapping",
            [
                Problem(
                    f"expected a mapping with keys {keys}; got {_kind(document)}",
                    Location(file=filename, line=line, column=column),
                    code="not-a-mapping",
                )
            ],
        )
    return document


UNCLOSED_NAMES = {"quoted scalar": "quoted string", "flow sequence": "[...] list", "flow mapping": "{...} mapping"}


def _unclosed_quote_problem(text: str, exc: MarkedYAMLError, filename: str) -> Problem | None:
    """Blame a quoted string that runs on over several lines up to the error, if there is one.

    A missing closing quote makes YAML swallow the following lines and fail later, far from
    the mistake; the opening quote is where the author has to look.
    """
    mark = exc.problem_mark
    if mark is None:
        return None
    quoted = None
    try:
        for token in YAML(typ="rt").scan(text):
            if token.end_mark.index > mark.index:
                break
            if getattr(token, "style", None) in ("'", '"'):
                quoted = token
    except YAMLError:
        pass
    if quoted is None or quoted.start_mark.line == quoted.end_mark.line or mark.line - quoted.end_mark.line > 1:
        return None
    start = quoted.start_mark
    message = (
        f"the quoted string opened here runs on until line {quoted.end_mark.line + 1}; is its closing quote "
        f"missing? (YAML then failed at line {mark.line + 1}, column {mark.column + 1}: {exc.problem})"
    )
    return Problem(message, Location(file=filename, line=start.line + 1, column=start.column + 1), code="yaml-syntax")


def _yaml_problem(exc: MarkedYAMLError, filename: str, duplicate: bool = False) -> Problem:
    """One located problem from a ruamel error, phrased for a policy author."""
    problem = (exc.problem or "").strip()
    mark = exc.problem_mark or exc.context_mark
    context_mark = exc.context_mark
    if duplicate:
        key = problem.split('"')[1] if problem.count('"') >= 2 else "?"
        where = f" (the mapping starts at line {context_mark.line + 1})" if context_mark else ""
        message = f"duplicate key {key!r}: each key may appear only once in a mapping{where}"
        code = "duplicate-key"
    else:
        code = "yaml-syntax"
        if "'\\t'" in problem:
            message = "tab character where YAML expects spaces; indent (and separate) with spaces, not tabs"
        elif ("end of stream" in problem or "<stream end>" in problem) and exc.context and context_mark is not None:
            # Unclosed quotes/brackets: the useful position is where they were opened.
            thing = re.sub(r"^while (scanning|parsing) (an? )?", "", exc.context)
            thing = UNCLOSED_NAMES.get(thing, thing)
            message = f"this {thing} is never closed (the file ends first)"
            mark = context_mark
        else:
            message = problem or "invalid YAML"
            if exc.context and context_mark is not None:
                message += f" ({exc.context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
            if "block end" in problem or "mapping values are not allowed" in problem:
                message += "; check the indentation of this line and the one above"
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return Problem(message, Location(file=filename, line=line, column=column), code=code)


STR_TAG = "tag:yaml.org,2002:str"
CORE_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


def _plain(node: Any, loc: Loc, document: CommentedMap, filename: str) -> tuple[Any, list[Problem]]:
    """Round-trip YAML nodes → plain Python values for pydantic; tagged values are refused."""
    problems: list[Problem] = []
    tag = node.tag.value if isinstance(node, TaggedScalar | CommentedMap | CommentedSeq) else None
    if isinstance(node, TaggedScalar) and tag == STR_TAG:
        return str(node.value), problems
    if isinstance(node, TaggedScalar) or (tag is not None and tag not in CORE_TAGS):
        problems.append(
            Problem(
                f"YAML tag {tag} is not supported in a policy; remove the tag",
                _locate(document, filename, loc),
                code="unsupported-yaml",
            )
        )
        return None, problems
    if isinstance(node, Mapping):
        result: dict[Any, Any] = {}
        for key, value in node.items():
            result[_scalar(key)], sub = _plain(value, (*loc, key), document, filename)
            problems.extend(sub)
        return result, problems
    if isinstance(node, list):
        items = []
        for index, value in enumerate(node):
            item, sub = _plain(value, (*loc, index), document, filename)
            items.append(item)
            problems.extend(sub)
        return items, problems
    if isinstance(node, AbstractSet):
        problems.append(
            Problem("YAML sets are not supported; use a list", _locate(document, filename, loc), code="unsupported-yaml")
        )
        return None, problems
    return _scalar(node), problems


def _scalar(value: Any) -> Any:
    """ruamel scalar subclasses (ScalarFloat, quoted strings...) → the built-in type."""
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, bool) or type(value).__name__ == "ScalarBoolean":
        return bool(value)
    for base in (str, int, float):
        if isinstance(value, base):
            return base(value)
    return value


# --------------------------------------------------------------------------- validation messages


def _unwrap(tp: Any) -> Any:
    """Strip Annotated[...] and Optional[...] to the type that validates a value."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _type_at(loc: Loc) -> Any:
    """The spec type that validates the value at `loc` in a Policy document, or None."""
    tp: Any = Policy
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return None
            tp = tp.model_fields[part].annotation
        elif origin is list:
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            key_type, value_type = typing.get_args(tp)
            if parts and parts[0] == "[key]":
                parts.pop(0)
                tp = key_type
            else:
                tp = value_type
        else:
            return None
    return _unwrap(tp)


def _pattern_of(annotated: Any) -> str:
    return next(m.pattern for m in typing.get_args(annotated)[1:] if getattr(m, "pattern", None))


PATTERN_HELP = {
    _pattern_of(Identifier): "an identifier: a letter, then letters, digits, '_' or '-' (e.g. 'hate', 'q1', 'remove')",
    _pattern_of(RuleId): "a rule id: an uppercase prefix, a dot, then letters, digits, '.', '_' or '-' (e.g. 'HATE.1a')",
    _pattern_of(KeywordId): "a DSA keyword: 'KEYWORD_' then uppercase letters or '_' (e.g. 'KEYWORD_HATE_SPEECH')",
}

EXPECTED_BY_TYPE = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date without a time (YYYY-MM-DD)",
}

BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def _kind(value: Any) -> str:
    """What a YAML value is, in a policy author's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _show(value: Any) -> str:
    """A short rendering of a scalar value for a message ('' for collections)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, Mapping | list):
        return ""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _closest(value: Any, allowed: list[str]) -> str:
    """' Did you mean X?' for the closest allowed word, or ''."""
    if not isinstance(value, str):
        return ""
    match = difflib.get_close_matches(value, allowed, n=1, cutoff=0.5)
    if not match:
        upper = value.upper()
        match = [a for a in allowed if upper and (upper in a or a.endswith(upper))][:1]
    return f" Did you mean {match[0]!r}?" if match else ""


def _allowed_values(tp: Any) -> list[str]:
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [member.value for member in tp]
    if typing.get_origin(tp) is Literal:
        return [str(arg) for arg in typing.get_args(tp)]
    return []


def _message(error: ErrorDetails, loc: Loc, value: Any) -> tuple[str, str]:
    """(code, message) for one pydantic error, phrased as what to change."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    shown = _show(value)
    got = f"{_kind(value)} {shown}".strip()
    if kind == "extra_forbidden":
        key = loc[-1]
        model = _type_at(loc[:-1])
        allowed = list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
        hint = _closest(key, allowed)
        return "unknown-key", f"unknown key {key!r}.{hint} Allowed keys: {', '.join(allowed)}"
    if kind == "missing":
        return "missing-field", f"missing required field {loc[-1]!r}"
    if kind == "invalid_key":
        return "wrong-type", f"keys must be strings, got {got}"
    if kind in ("enum", "literal_error"):
        allowed = _allowed_values(_type_at(loc))
        if not allowed:
            return "bad-enum", f"{shown or got} is not allowed: expected {ctx.get('expected', '?')}"
        return "bad-enum", f"{shown or got} is not one of the allowed values.{_closest(value, allowed)} Allowed: {', '.join(allowed)}"
    if kind == "string_pattern_mismatch":
        what = PATTERN_HELP.get(ctx.get("pattern", ""), f"a string matching {ctx.get('pattern')}")
        code = "bad-rule-id" if ctx.get("pattern") == _pattern_of(RuleId) else "bad-identifier"
        return code, f"{shown} is not {what}"
    if kind == "string_too_long":
        return "too-long", f"text is too long ({len(value)} characters; at most {ctx.get('max_length')})"
    if kind == "too_short":
        return "too-short", f"needs at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length')}"
    if kind in BOUNDS:
        key, words = BOUNDS[kind]
        return "out-of-range", f"{shown or got} is out of range: must be {words} {ctx.get(key)}"
    if kind == "value_error":
        text = str(ctx.get("error") or error["msg"])
        code = "bad-semver" if "semantic versioning" in text else "bad-value"
        return code, text
    if kind in EXPECTED_BY_TYPE:
        message = f"expected {EXPECTED_BY_TYPE[kind]}, got {got}"
        if kind == "string_type" and isinstance(value, int | float | bool | dt.date):
            message += f" (quote it to make it text: \"{shown}\")"
        return "wrong-type", message
    return "invalid-value", error["msg"]


def _problem(error: ErrorDetails, document: CommentedMap, filename: str) -> Problem:
    """A located, actionable Problem for one pydantic validation error."""
    loc: Loc = tuple(error["loc"])
    value = error.get("input")
    at_key = False
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        at_key = True
    code, message = _message(error, tuple(error["loc"]), value)
    if at_key:
        message = f"key {_show(loc[-1]) or loc[-1]}: {message}"
    if error["type"] == "extra_forbidden":
        at_key = True
    return Problem(message, _locate(document, filename, loc, at_key=at_key), code=code)
