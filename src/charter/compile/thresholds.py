"""Rewriting a compiled bundle's classifier thresholds after tuning (by the evaluation
core), with the provenance of the new values, and re-signing the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from charter.compile.bundle import MANIFEST, build_manifest
from charter.compile.classifier import thresholds_data
from charter.compile.loader import load_bundle
from charter.compile.paths import CLASSIFIER_FILE
from charter.compile.stamp import json_bytes
from charter.errors import CharterError, Location, Problem
from charter.policy.spec import Thresholds


def _validated(thresholds: dict[str, Any]) -> Thresholds:
    try:
        value = Thresholds.model_validate(thresholds)
    except ValidationError as exc:
        problems = [Problem(e["msg"], Location(path=".".join(map(str, e["loc"])) or None)) for e in exc.errors()]
        raise CharterError("invalid thresholds", problems) from None
    if value.review > value.auto_action:
        raise CharterError(
            f"invalid thresholds: review ({value.review}) is above auto_action ({value.auto_action}); "
            "items must reach review before automatic action"
        )
    return value


def update_thresholds(
    bundle_dir: Path,
    category: str,
    thresholds: dict[str, Any],
    provenance: dict[str, Any],
    market: str | None = None,
) -> dict[str, Any]:
    """Set `category`'s thresholds (for all markets that inherit them, or for one `market`)
    and record `provenance` (dataset, split, date, policy hash, target precision, ...).

    The bundle is verified first; provenance naming another policy hash is refused, since
    thresholds tuned under other rules do not carry over. Returns the new classifier config.
    """
    bundle = load_bundle(Path(bundle_dir))
    value = thresholds_data(_validated(thresholds))
    tuned_for = provenance.get("policy_hash")
    if tuned_for is not None and tuned_for != bundle.identity.hash:
        raise CharterError(
            f"thresholds were tuned under policy hash {str(tuned_for)[:12]}, but this bundle is "
            f"{bundle.identity}; re-tune on this policy version"
        )
    config = json.loads(bundle.files[CLASSIFIER_FILE])
    if category not in config["categories"]:
        raise CharterError(f"bundle has no category {category!r} (categories: {', '.join(config['categories'])})")
    record = json.loads(json.dumps(provenance, default=str))
    if market is None:
        config["categories"][category]["thresholds"] = value
        config["categories"][category]["provenance"] = record
        for entry in config["markets"].values():
            if entry["categories"][category]["inherited"]:
                entry["categories"][category]["thresholds"] = dict(value)
                entry["categories"][category]["provenance"] = dict(record)
    else:
        if market not in config["markets"]:
            known = ", ".join(config["markets"]) or "none"
            raise CharterError(f"bundle has no market {market!r} (markets: {known})")
        entry = config["markets"][market]["categories"][category]
        entry.update(thresholds=value, inherited=False, provenance=record)

    files = dict(bundle.files)
    files[CLASSIFIER_FILE] = json_bytes(config)
    root = Path(bundle_dir)
    (root / CLASSIFIER_FILE).write_bytes(files[CLASSIFIER_FILE])
    (root / MANIFEST).write_bytes(json_bytes(build_manifest(bundle.identity, files)))
    return config
