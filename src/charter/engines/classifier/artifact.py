"""The model artifact directory: weights.npz (sparse weights and intercepts) and model.json
(the model card, with the calibrators as plain numbers), and the check that a model is only
used with the policy it was trained for.

No pickles: the weights load with `allow_pickle=False`, so reading an artifact cannot run
code. model.json records the sha256 of weights.npz and loading verifies it, so a card never
describes other weights than the ones scored.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import ValidationError

from charter.engines.classifier.model import ModelCard, TrainedClassifier, card_json
from charter.errors import CharterError, Location, Problem
from charter.policy.hashing import PolicyIdentity, short_hash

CARD_FILE = "model.json"
WEIGHTS_FILE = "weights.npz"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: TrainedClassifier, directory: Path | str) -> Path:
    """Write the artifact directory (created if needed); returns its path."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    weights = model.weights.tocsr()
    with (root / WEIGHTS_FILE).open("wb") as handle:
        np.savez_compressed(
            handle,
            data=weights.data,
            indices=weights.indices,
            indptr=weights.indptr,
            shape=np.asarray(weights.shape),
            intercepts=model.intercepts,
        )
    model.card.files = {WEIGHTS_FILE: _sha256(root / WEIGHTS_FILE)}
    (root / CARD_FILE).write_text(card_json(model.card), encoding="utf-8")
    return root


def read_card(directory: Path | str) -> ModelCard:
    """model.json of an artifact directory, validated."""
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise CharterError(f"{directory} is not a Charter model: {CARD_FILE} is missing")
    try:
        return ModelCard.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CharterError("model card is not valid JSON", [Problem(str(exc), Location(file=str(path)))]) from None
    except ValidationError as exc:
        problems = [
            Problem(e["msg"], Location(file=str(path), path=".".join(map(str, e["loc"])) or None)) for e in exc.errors()
        ]
        raise CharterError("model card is malformed", problems) from None


def load_model(directory: Path | str) -> TrainedClassifier:
    """Load and verify an artifact directory written by `save_model`."""
    root = Path(directory)
    card = read_card(root)
    weights_path = root / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CharterError(f"model {root} is incomplete: {WEIGHTS_FILE} is missing")
    expected = card.files.get(WEIGHTS_FILE)
    if expected != _sha256(weights_path):
        raise CharterError(
            f"model {root}: {WEIGHTS_FILE} does not match the sha256 recorded in {CARD_FILE}; "
            "the weights were replaced or damaged, retrain or restore the artifact"
        )
    try:
        with np.load(weights_path, allow_pickle=False) as arrays:
            shape = tuple(int(n) for n in arrays["shape"])
            weights = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
            intercepts = arrays["intercepts"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise CharterError(f"model {root}: {WEIGHTS_FILE} is unreadable ({exc})") from None
    expected_shape = (card.hyperparameters.features.width, len(card.categories))
    if shape != expected_shape or intercepts.shape != (len(card.categories),) or set(card.calibrators) != set(card.categories):
        raise CharterError(f"model {root}: {WEIGHTS_FILE} does not fit the features and categories in {CARD_FILE}")
    return TrainedClassifier(card, weights, intercepts)


def record_evaluation(directory: Path | str, evaluation: Mapping[str, Any]) -> ModelCard:
    """Store the evaluate step's numbers in model.json (the weights are untouched)."""
    root = Path(directory)
    card = read_card(root)
    card.evaluation = json.loads(json.dumps(dict(evaluation), default=str))
    (root / CARD_FILE).write_text(card_json(card), encoding="utf-8")
    return card


def check_policy(
    card: ModelCard,
    bundle: PolicyIdentity,
    categories: Collection[str],
    *,
    allow_policy_mismatch: bool = False,
) -> str | None:
    """Refuse a model trained under another policy content; returns a warning when allowed.

    A model whose categories the policy lacks is refused even when a mismatch is allowed:
    its scores would have nowhere to go.
    """
    trained = card.policy
    missing = [c for c in card.categories if c not in categories]
    if missing:
        raise CharterError(f"model {card.model_id} scores categories the policy does not have: {', '.join(missing)}")
    if trained.id == bundle.id and trained.hash == bundle.hash:
        return None
    message = (
        f"model trained for policy {trained.id}@{trained.version} ({short_hash(trained.hash)}), "
        f"bundle is {bundle.id}@{bundle.version} ({short_hash(bundle.hash)})"
    )
    if not allow_policy_mismatch:
        raise CharterError(f"{message}; retrain or pass --allow-policy-mismatch")
    return message

