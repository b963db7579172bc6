"""Removing personal data from the free text of a statement of reasons (DSA Art. 24(5)):
e-mail addresses, URLs, @handles and phone numbers become placeholders. Applied to every
text that did not come from the policy itself (rationales, reviewer notes)."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
URL = re.compile(
    r"(?:\b[a-z][a-z0-9+.\-]*://|\bwww\.)\S+"  # scheme:// or www.
    r"|\b(?:[a-z0-9\-]+\.)+(?:com|net|org|io|co|ly|me|info|biz|app|xyz|eu|de|fr|uk|gl|gg|tv)/\S*",  # bare link
    re.IGNORECASE,
)
HANDLE = re.compile(r"(?<![\w@])@\w{1,50}")
# 8 to 15 digits with the usual separators, not an ISO date (2025-07-01) or a plain year range.
PHONE = re.compile(r"(?<![\w+])(?!\d{4}-\d{2}-\d{2}\b)(?:\+|00)?\d(?:[ .\-/()]{0,2}\d){7,14}(?!\w)")

PLACEHOLDERS = (
    (EMAIL, "[email]"),
    (URL, "[link]"),
    (HANDLE, "[handle]"),
    (PHONE, "[phone]"),
)


def redact(text: str) -> str:
    """`text` with e-mail addresses, URLs, @handles and phone numbers replaced by placeholders."""
    for pattern, placeholder in PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return text


def personal_data_kinds(text: str) -> dict[str, int]:
    """How many of each kind of personal data `text` holds, e.g. {"handle": 2, "link": 1}."""
    counts = {}
    for pattern, placeholder in PLACEHOLDERS:
        found = len(pattern.findall(text))
        if found:
            counts[placeholder.strip("[]")] = found
        text = pattern.sub(placeholder, text)
    return counts
