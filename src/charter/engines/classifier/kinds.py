"""One entry point for both classifier kinds (the fast model and the embedding model): read
an artifact's card, load it, record its evaluation and build its Engine by the format its
model.json names, so commands and batch scoring never need to know which kind they hold."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

from charter.compile.loader import LoadedBundle
from charter.engines.classifier.artifact import CARD_FILE, load_model, read_card
from charter.engines.classifier.embeddings import (
    MODEL_FORMAT as EMBEDDING_FORMAT,
)
from charter.engines.classifier.embeddings import (
    EmbeddingCard,
    EmbeddingClassifier,
    EmbeddingClassifierEngine,
    load_embedding_model,
    read_embedding_card,
    write_embedding_card,
)
from charter.engines.classifier.engine import ClassifierEngine
from charter.engines.classifier.model import MODEL_FORMAT as FAST_FORMAT
from charter.engines.classifier.model import ModelCard, TrainedClassifier, card_json
from charter.engines.routing import Routing
from charter.errors import CharterError

ScoringModel: TypeAlias = TrainedClassifier | EmbeddingClassifier
AnyCard: TypeAlias = ModelCard | EmbeddingCard


def model_format(directory: Path | str) -> str:
    """The `format` named in an artifact's model.json (refused when there is none)."""
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise CharterError(f"{directory} is not a Charter model: {CARD_FILE} is missing")
    try:
        kind = json.loads(path.read_text(encoding="utf-8")).get("format")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise CharterError(f"{path} is not a valid model card ({exc})") from None
    if kind not in (FAST_FORMAT, EMBEDDING_FORMAT):
        raise CharterError(f"{path}: unknown model format {kind!r} (known: {FAST_FORMAT}, {EMBEDDING_FORMAT})")
    return kind


def read_any_card(directory: Path | str) -> AnyCard:
    """The validated card of a fast or an embedding classifier."""
    return read_embedding_card(directory) if model_format(directory) == EMBEDDING_FORMAT else read_card(directory)


def load_scoring_model(directory: Path | str, **options: Any) -> ScoringModel:
    """The fast or the embedding classifier in `directory`, verified; `options` go to
    `load_embedding_model` (e.g. `model2vec_directory`)."""
    if model_format(directory) == EMBEDDING_FORMAT:
        return load_embedding_model(directory, **options)
    return load_model(directory)


def record_any_evaluation(directory: Path | str, evaluation: Mapping[str, Any]) -> AnyCard:
    """Store the evaluate step's numbers in model.json (weights untouched), either kind."""
    root = Path(directory)
    card = read_any_card(root)
    card.evaluation = json.loads(json.dumps(dict(evaluation), default=str))
    if isinstance(card, EmbeddingCard):
        write_embedding_card(card, root)
    else:
        (root / CARD_FILE).write_text(card_json(card), encoding="utf-8")
    return card


def engine_for(model: ScoringModel, routing: Routing | LoadedBundle, **options: Any) -> ClassifierEngine:
    """The Engine of either kind, under the routing's policy (refused for another policy
    unless `allow_policy_mismatch=True`)."""
    if isinstance(model, EmbeddingClassifier):
        return EmbeddingClassifierEngine(model, routing, **options)
    return ClassifierEngine(model, routing, **options)
