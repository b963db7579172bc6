"""The policy stamp every artifact carries, and how it is written into and read back from
each file type, so that a bundle can prove that all of its files come from one policy."""

from __future__ import annotations

import json
import re
from typing import Any

from charter.policy.hashing import PolicyIdentity

TEXT_STAMP_PREFIX = "<!-- charter-stamp "
TEXT_STAMP_SUFFIX = " -->"
HTML_STAMP = re.compile(r'<meta name="charter-stamp" content="([^"]*)">')


def stamp_dict(identity: PolicyIdentity) -> dict[str, str]:
    """The stamp as JSON artifacts carry it (under their top-level "policy" key)."""
    return {"id": identity.id, "version": identity.version, "hash": identity.hash}


def stamp_line(identity: PolicyIdentity) -> str:
    """The first line of every text artifact (an HTML comment, invisible when rendered)."""
    payload = f"policy={identity.id} version={identity.version} hash={identity.hash}"
    return f"{TEXT_STAMP_PREFIX}{payload}{TEXT_STAMP_SUFFIX}"


def stamp_text(identity: PolicyIdentity, body: str) -> str:
    """`body` with the stamp line prepended and exactly one trailing newline."""
    return stamp_line(identity) + "\n" + body.rstrip("\n") + "\n"


def strip_stamp(text: str) -> str:
    """The text a consumer uses (the prompt sent to a model): without the stamp line."""
    first, _, rest = text.partition("\n")
    return rest if first.startswith(TEXT_STAMP_PREFIX) else text


def html_meta(identity: PolicyIdentity) -> str:
    """The stamp as a <meta> tag for HTML artifacts."""
    payload = f"policy={identity.id} version={identity.version} hash={identity.hash}"
    return f'<meta name="charter-stamp" content="{payload}">'


def _parse_payload(payload: str) -> dict[str, str] | None:
    fields = dict(part.split("=", 1) for part in payload.split() if "=" in part)
    if {"policy", "version", "hash"} <= fields.keys():
        return {"id": fields["policy"], "version": fields["version"], "hash": fields["hash"]}
    return None


def read_stamp(path: str, content: bytes) -> dict[str, str] | None:
    """The stamp found in an artifact (by file type), or None if it carries none."""
    text = content.decode("utf-8", errors="replace")
    if path.endswith(".json"):
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError:
            return None
        stamp = data.get("policy") if isinstance(data, dict) else None
        return stamp if isinstance(stamp, dict) else None
    if path.endswith(".html"):
        match = HTML_STAMP.search(text)
        return _parse_payload(match.group(1)) if match else None
    first = text.partition("\n")[0]
    if first.startswith(TEXT_STAMP_PREFIX) and first.endswith(TEXT_STAMP_SUFFIX):
        return _parse_payload(first[len(TEXT_STAMP_PREFIX) : -len(TEXT_STAMP_SUFFIX)])
    return None


def json_bytes(data: Any) -> bytes:
    """The one JSON serialisation every artifact uses: stable, readable, UTF-8, newline-ended."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
