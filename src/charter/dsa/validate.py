"""Every rule the Transparency Database applies to a statement of reasons (StatementStoreRequest
of the 1 July 2025 schema), checked locally so a batch is never rejected after the fact.

Works on the raw JSON object (not the model) so that any file can be checked, and reports
every problem at once, one `FieldError` per field and rule. As on the server, null and ""
count as absent.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from charter.dsa import vocab
from charter.dsa.model import FIELDS

PUID = re.compile(r"^[a-zA-Z0-9\-_]+$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EAN13 = re.compile(r"^\d{13}$")
DECISION_GROUP = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
OTHER = {
    "decision_visibility_other": ("decision_visibility", "DECISION_VISIBILITY_OTHER"),
    "decision_monetary_other": ("decision_monetary", "DECISION_MONETARY_OTHER"),
    "content_type_other": ("content_type", "CONTENT_TYPE_OTHER"),
}
GROUND_FIELDS = {
    "illegal_content_legal_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_explanation": "DECISION_GROUND_ILLEGAL_CONTENT",
    "incompatible_content_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "incompatible_content_explanation": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
}
MAX_LENGTH = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "decision_facts": 5000,
    "decision_ground_reference_url": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "category_specification_other": 500,
    "source_identity": 500,
    "puid": 500,
}
SCALAR_ENUMS: dict[str, tuple[str, ...]] = {
    "decision_monetary": vocab.DECISION_MONETARY,
    "decision_provision": vocab.DECISION_PROVISION,
    "decision_account": vocab.DECISION_ACCOUNT,
    "account_type": vocab.ACCOUNT_TYPE,
    "decision_ground": vocab.DECISION_GROUND,
    "incompatible_content_illegal": vocab.YES_NO,
    "source_type": vocab.SOURCE_TYPE,
    "automated_detection": vocab.YES_NO,
    "automated_decision": vocab.AUTOMATED_DECISION,
}
REQUIRED = (
    "decision_facts",
    "decision_ground",
    "content_type",
    "category",
    "content_date",
    "application_date",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
)
LATEST = dt.date(2038, 1, 1)
DATE_RANGES = {
    "content_date": (dt.date(2000, 1, 1), LATEST),
    "application_date": (dt.date(2020, 1, 1), LATEST),
    "end_date_account_restriction": (None, LATEST),
    "end_date_monetary_restriction": (None, LATEST),
    "end_date_service_restriction": (None, LATEST),
    "end_date_visibility_restriction": (None, LATEST),
}


@dataclass(frozen=True)
class FieldError:
    """One rule one field breaks, worded as the fix needs it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != []


def _one_of(value: Any, allowed: Sequence[str], removed: Mapping[str, str | None] | None = None) -> str | None:
    """Why `value` is not one of `allowed` (None when it is)."""
    if isinstance(value, str) and value in allowed:
        return None
    if removed and isinstance(value, str) and value in removed:
        return vocab.removed_message(value, removed[value])
    close = difflib.get_close_matches(str(value), allowed, n=1)
    hint = f"; did you mean {close[0]}?" if close else f"; allowed: {', '.join(allowed)}"
    return f"{value!r} is not an accepted value{hint}"


def _check_list(
    errors: list[FieldError],
    data: Mapping[str, Any],
    field: str,
    allowed: Sequence[str],
    removed: Mapping[str, str | None] | None = None,
    alias: Callable[[str], str | None] | None = None,
) -> None:
    value = data.get(field)
    if not _present(value):
        return
    if not isinstance(value, list):
        errors.append(FieldError(field, f"must be an array, got {type(value).__name__}"))
        return
    for index, element in enumerate(value):
        problem = _one_of(element, allowed, removed)
        if problem and alias and isinstance(element, str):
            problem = alias(element) or problem
        if problem:
            errors.append(FieldError(f"{field}.{index}", problem))


def _country_alias(code: str) -> str | None:
    if code in vocab.COUNTRY_ALIASES:
        return f"{code!r} is not accepted; the database writes this country as {vocab.COUNTRY_ALIASES[code]}"
    return f"{code!r} is not an EU/EEA ISO 3166-1 alpha-2 code"


def _check_date(errors: list[FieldError], field: str, value: Any) -> None:
    if not isinstance(value, str) or not DAY.match(value):
        errors.append(FieldError(field, f"{value!r} is not a date in Y-m-d form (e.g. 2025-07-01)"))
        return
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(field, f"{value!r} is not a real calendar date"))
        return
    low, high = DATE_RANGES[field]
    if low is not None and day < low:
        errors.append(FieldError(field, f"{value} is before {low.isoformat()}; it must be between {low} and {high}"))
    if day > high:
        bounds = f"between {low} and {high}" if low else f"on or before {high}"
        errors.append(FieldError(field, f"{value} is after {high.isoformat()}; it must be {bounds}"))


def _check_url(errors: list[FieldError], field: str, value: str) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in value:
        errors.append(FieldError(field, f"{value!r} is not a valid http(s) URL"))


def _check_content_id(errors: list[FieldError], value: Any) -> None:
    if not isinstance(value, dict):
        errors.append(FieldError("content_id", 'must be an object such as {"EAN-13": "0123456789123"}'))
        return
    for key, code in value.items():
        if key != "EAN-13":
            errors.append(FieldError(f"content_id.{key}", 'unknown identifier; the only accepted key is "EAN-13"'))
        elif not isinstance(code, str) or not EAN13.match(code):
            errors.append(FieldError("content_id.EAN-13", f"{code!r} must be a string of exactly 13 digits"))


def _check_conditionals(errors: list[FieldError], data: Mapping[str, Any]) -> None:
    if not any(_present(data.get(f)) for f in DECISION_GROUP):
        for field in DECISION_GROUP:
            others = ", ".join(f for f in DECISION_GROUP if f != field)
            errors.append(FieldError(field, f"required when none of {others} is given"))
    for field, (parent, trigger) in OTHER.items():
        parent_value = data.get(parent)
        triggered = trigger in parent_value if isinstance(parent_value, list) else parent_value == trigger
        contains = "contains" if parent in ("decision_visibility", "content_type") else "is"
        if triggered and not _present(data.get(field)):
            errors.append(FieldError(field, f"required because {parent} {contains} {trigger}"))
        elif not triggered and _present(data.get(field)):
            errors.append(FieldError(field, f"only allowed when {parent} {contains} {trigger}"))
    ground = data.get("decision_ground")
    if ground in vocab.DECISION_GROUND:
        for field, needs in GROUND_FIELDS.items():
            if ground == needs and not _present(data.get(field)):
                errors.append(FieldError(field, f"required because decision_ground is {needs}"))
            elif ground != needs and _present(data.get(field)):
                errors.append(FieldError(field, f"only allowed when decision_ground is {needs}"))
        if ground != "DECISION_GROUND_INCOMPATIBLE_CONTENT" and _present(data.get("incompatible_content_illegal")):
            errors.append(
                FieldError(
                    "incompatible_content_illegal", "only allowed when decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT"
                )
            )
    if data.get("source_type") == "SOURCE_VOLUNTARY" and _present(data.get("source_identity")):
        errors.append(
            FieldError("source_identity", "not allowed with SOURCE_VOLUNTARY (there is no notifier; the database drops it)")
        )


def validate_statement(data: Any) -> list[FieldError]:
    """Every problem with one statement of reasons (an empty list when the API would accept it)."""
    if not isinstance(data, dict):
        return [FieldError("statement", f"must be a JSON object, got {type(data).__name__}")]
    errors: list[FieldError] = []
    for field in data:
        if field not in FIELDS:
            close = difflib.get_close_matches(str(field), FIELDS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            errors.append(FieldError(str(field), f"not a statement-of-reasons field{hint}"))
    for field in REQUIRED:
        if not _present(data.get(field)):
            errors.append(FieldError(field, "required"))
    for field, limit in MAX_LENGTH.items():
        value = data.get(field)
        if not _present(value):
            continue
        if not isinstance(value, str):
            errors.append(FieldError(field, f"must be a string, got {type(value).__name__}"))
        elif len(value) > limit:
            errors.append(FieldError(field, f"is {len(value)} characters long; the maximum is {limit}"))
    for field, allowed in SCALAR_ENUMS.items():
        value = data.get(field)
        if _present(value):
            problem = _one_of(value, allowed)
            if problem and allowed is vocab.YES_NO:
                problem = f'{value!r} must be the string "Yes" or "No"'
            if problem:
                errors.append(FieldError(field, problem))
    if _present(data.get("category")):
        problem = _one_of(data["category"], vocab.CATEGORY, vocab.REMOVED_CATEGORIES)
        if problem:
            errors.append(FieldError("category", problem))
    _check_list(errors, data, "decision_visibility", vocab.DECISION_VISIBILITY)
    _check_list(errors, data, "content_type", vocab.CONTENT_TYPE)
    _check_list(errors, data, "category_addition", vocab.CATEGORY, vocab.REMOVED_CATEGORIES)
    _check_list(errors, data, "category_specification", vocab.KEYWORD, vocab.REMOVED_KEYWORDS)
    _check_list(errors, data, "territorial_scope", vocab.EEA_COUNTRIES, alias=_country_alias)
    language = data.get("content_language")
    if _present(language):
        if isinstance(language, str) and language.upper() in vocab.LANGUAGES and language != language.upper():
            errors.append(FieldError("content_language", f"{language!r} must be uppercase ({language.upper()})"))
        elif not isinstance(language, str) or language not in vocab.LANGUAGES:
            errors.append(FieldError("content_language", f"{language!r} is not an ISO 639-1 language code"))
    for field in DATE_RANGES:
        if _present(data.get(field)):
            _check_date(errors, field, data[field])
    url = data.get("decision_ground_reference_url")
    if isinstance(url, str) and url:
        _check_url(errors, "decision_ground_reference_url", url)
    puid = data.get("puid")
    if isinstance(puid, str) and puid and not PUID.match(puid):
        errors.append(FieldError("puid", f"{puid!r} may contain only letters, digits, '-' and '_'"))
    if _present(data.get("content_id")):
        _check_content_id(errors, data["content_id"])
    _check_conditionals(errors, data)
    return errors
