"""Names for the fast classifier's strongest features.

Hashed features have no vocabulary, so a weight's column cannot be turned back into the
n-gram behind it. At training time the n-grams of (a sample of) the normalized training
texts are hashed exactly as the featurizer hashes them, and the ones landing on each
category's top-weighted columns are kept in `features.json` beside the artifact. It is tied
to the weights by their sha256, so a retrained model never shows stale names; colliding
n-grams are all listed under their shared column.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from charter.engines.classifier.artifact import WEIGHTS_FILE, read_card
from charter.engines.classifier.model import TrainedClassifier
from charter.engines.normalize import TRANSFORMATIONS, normalize_batch
from charter.errors import CharterError

FEATURES_FILE = "features.json"
MAX_TEXTS = 20_000
MAX_NAMES_PER_COLUMN = 3


def _distinct_grams(texts: Sequence[str], analyzer) -> list[str]:
    seen: dict[str, None] = {}
    for text in texts:
        seen.update(dict.fromkeys(analyzer(text)))
    return list(seen)


def _columns_of(grams: list[str], n_features: int) -> np.ndarray:
    """The hash column of each n-gram, as HashingVectorizer computes it (no alternate sign)."""
    if not grams:
        return np.zeros(0, dtype=np.int64)
    hasher = HashingVectorizer(analyzer=lambda gram: [gram], n_features=n_features, alternate_sign=False, norm=None)
    return hasher.transform(grams).indices.astype(np.int64)


def top_features(model: TrainedClassifier, texts: Sequence[str], k: int = 20, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Per category, the `k` most positive feature columns with the n-grams that hash there."""
    config = model.card.hyperparameters.features
    sample = list(texts)
    if len(sample) > MAX_TEXTS:
        sample = random.Random(seed).sample(sample, MAX_TEXTS)
    normalized = [n.text for n in normalize_batch(sample)]
    blocks = {
        "word": HashingVectorizer(analyzer="word", ngram_range=config.word_ngrams).build_analyzer(),
        "char": HashingVectorizer(analyzer="char_wb", ngram_range=config.char_ngrams).build_analyzer(),
    }
    names: dict[int, list[str]] = {}
    for offset, (block, analyzer) in enumerate(blocks.items()):
        grams = _distinct_grams(normalized, analyzer)
        for gram, column in zip(grams, _columns_of(grams, config.n_features)):
            found = names.setdefault(int(column) + offset * config.n_features, [])
            if len(found) < MAX_NAMES_PER_COLUMN:
                found.append(f"{block}:{gram}")
    if config.evasion_features:
        for i, transformation in enumerate(TRANSFORMATIONS):
            names[2 * config.n_features + i] = [f"evasion:{transformation}"]
    weights = model.weights.tocsc()
    out: dict[str, list[dict[str, Any]]] = {}
    for j, category in enumerate(model.categories):
        column = weights[:, j]
        rows, values = column.indices, column.data
        order = np.argsort(-values)
        ranked = []
        for i in order:
            if values[i] <= 0 or len(ranked) == k:
                break
            ranked.append({"weight": round(float(values[i]), 4), "ngrams": names.get(int(rows[i]), [])})
        out[category] = ranked
    return out


def write_feature_names(directory: Path | str, features: dict[str, list[dict[str, Any]]]) -> Path:
    """features.json beside a saved artifact, tied to its weights' sha256."""
    root = Path(directory)
    card = read_card(root)
    payload = {"model_id": card.model_id, "weights_sha256": card.files.get(WEIGHTS_FILE), "categories": features}
    path = root / FEATURES_FILE
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_feature_names(directory: Path | str) -> dict[str, list[dict[str, Any]]] | None:
    """The named top features of an artifact, or None when it has none (or stale ones)."""
    root = Path(directory)
    path = root / FEATURES_FILE
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CharterError(f"{path} is not valid JSON ({exc}); delete it or retrain") from None
    card = read_card(root)
    if payload.get("weights_sha256") != card.files.get(WEIGHTS_FILE):
        return None
    return payload.get("categories")
