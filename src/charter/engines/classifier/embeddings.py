"""The embedding classifier: sentence embeddings of normalized text plus one calibrated
logistic-regression head per policy category.

Stronger than the fast hashed-n-gram model on paraphrase and context, slower to score. Like
the fast model, each category is trained only on the items whose gold label for it is known,
and its calibrator (from the evaluation core) is fitted on out-of-fold probabilities.

With `stack_fast=True` the fast model's calibrated scores are appended to the embedding as
features. Those training features are out-of-fold (the fast model is cross-fitted), so the
head never learns to trust scores of texts the fast model memorised; the fast model trained
on all the data is kept inside the artifact and used at scoring time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

import charter
from charter.compile.loader import LoadedBundle
from charter.engines.classifier.artifact import CARD_FILE, _sha256, load_model, save_model
from charter.engines.classifier.embedders import Embedder, EmbedderInfo, embedder_for, load_embedder
from charter.engines.classifier.engine import ClassifierEngine
from charter.engines.classifier.model import (
    BATCH_SIZE,
    ISOTONIC_MIN_PER_CLASS,
    Scored,
    TrainConfig,
    TrainedClassifier,
    _checked_texts,
    _validate,
    training_data_hash,
    train_classifier,
)
from charter.engines.normalize import Normalized, normalize_batch
from charter.engines.routing import Routing
from charter.errors import CharterError, Location, Problem
from charter.evaluate.calibration import Calibrator, fit_calibrator
from charter.policy.hashing import PolicyIdentity, identity
from charter.policy.spec import Policy

MODEL_FORMAT = "charter-embedding-classifier/1"
HEAD_FILE = "head.npz"
FAST_DIR = "fast"


class EmbeddingTrainConfig(BaseModel):
    """Hyper-parameters of the heads; stored in model.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    C: float = Field(default=1.0, gt=0, description="inverse L2 strength of each LogisticRegression head")
    max_iter: int = Field(default=1000, ge=1)
    stack_fast: bool = Field(default=False, description="append the (cross-fitted) fast model's scores to the embedding")
    fast: TrainConfig = TrainConfig()
    calibration: Literal["auto", "sigmoid", "isotonic"] = "auto"
    calibration_folds: int = Field(default=3, ge=2)
    min_per_class: int = Field(default=5, ge=2, description="fewest positives and negatives a category needs")
    random_state: int = 0


class EmbeddingCard(BaseModel):
    """model.json of an embedding classifier: what it is, what embeddings and data made it."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["charter-embedding-classifier/1"] = MODEL_FORMAT
    model_id: str
    policy: PolicyIdentity
    categories: list[str]
    embedder: EmbedderInfo
    stacked_fast_model: str | None = Field(default=None, description="model_id of the fast model in fast/, when stacked")
    feature_names: list[str] = Field(description="embedding dimensions, then fast_<category> scores when stacked")
    label_mappings: dict[str, str] = Field(default_factory=dict)
    training_data_hash: str
    training_counts: dict[str, dict[str, int]]
    calibrators: dict[str, Calibrator]
    hyperparameters: EmbeddingTrainConfig
    library_versions: dict[str, str]
    trained_at: dt.datetime
    training_seconds: float
    evaluation: dict[str, Any] | None = None
    files: dict[str, str] = Field(default_factory=dict, description="artifact file → sha256")


@dataclass
class EmbeddingClassifier:
    """Heads (features × categories), intercepts, the embedder and, when stacked, the fast
    model. Scores like `TrainedClassifier` (`score`, `iter_batches`, `categories`), so
    `score_table` and the batch-scoring engines take either."""

    card: EmbeddingCard
    coef: np.ndarray
    intercepts: np.ndarray
    embedder: Embedder
    fast: TrainedClassifier | None = None

    @property
    def categories(self) -> list[str]:
        return self.card.categories

    def features(self, normalized: Sequence[Normalized]) -> np.ndarray:
        """Embedding of each normalized text, plus the fast model's scores when stacked."""
        vectors = self.embedder.embed([n.text for n in normalized]).astype(np.float64)
        if self.fast is None:
            return vectors
        fast = self.fast.score_normalized(normalized)
        return np.hstack([vectors, np.column_stack([fast[c] for c in self.fast.categories])])

    def score_normalized(self, normalized: Sequence[Normalized]) -> dict[str, np.ndarray]:
        probabilities = expit(self.features(normalized) @ self.coef + self.intercepts)
        return {c: self.card.calibrators[c].apply(probabilities[:, j]) for j, c in enumerate(self.categories)}

    def iter_batches(self, texts: Sequence[str], batch_size: int = BATCH_SIZE, *, normalize: bool = True) -> Iterator[Scored]:
        for start in range(0, len(texts), batch_size):
            chunk = _checked_texts(texts[start : start + batch_size], start)
            normalized = normalize_batch(chunk) if normalize else [Normalized(t, t, []) for t in chunk]
            yield Scored(self.score_normalized(normalized), [n.fired for n in normalized])

    def score(self, texts: Sequence[str], batch_size: int = BATCH_SIZE, *, normalize: bool = True) -> Scored:
        """Calibrated scores for every category the model covers (normalized text unless told)."""
        parts = list(self.iter_batches(texts, batch_size, normalize=normalize))
        if not parts:
            return Scored({c: np.zeros(0) for c in self.categories}, [])
        return Scored(
            {c: np.concatenate([p.scores[c] for p in parts]) for c in self.categories},
            [f for p in parts for f in p.fired],
        )


# --------------------------------------------------------------------------- training


def _calibration_method(config: EmbeddingTrainConfig, y: np.ndarray) -> Literal["sigmoid", "isotonic"]:
    if config.calibration != "auto":
        return config.calibration
    smallest = min(int(y.sum()), int(len(y) - y.sum()))
    return "isotonic" if smallest >= ISOTONIC_MIN_PER_CLASS else "sigmoid"


def _cross_fitted_fast_scores(
    texts: list[str],
    normalized: list[Normalized],
    arrays: Mapping[str, np.ndarray],
    policy: Policy,
    config: EmbeddingTrainConfig,
) -> np.ndarray:
    """Each text's fast-model scores from a model trained without it (texts × categories)."""
    out = np.zeros((len(texts), len(arrays)))
    folds = KFold(config.calibration_folds, shuffle=True, random_state=config.random_state)
    for train_rows, held_rows in folds.split(texts):
        fold_gold = {c: a[train_rows] for c, a in arrays.items()}
        fold_model = train_classifier([texts[i] for i in train_rows], fold_gold, policy, config.fast)
        scores = fold_model.score_normalized([normalized[i] for i in held_rows])
        out[held_rows] = np.column_stack([scores[c] for c in arrays])
    return out


def _library_versions(embedder: Embedder) -> dict[str, str]:
    libraries = {name: version(name) for name in ("scikit-learn", "numpy", "scipy")}
    return {"charter": charter.__version__, **libraries, **embedder.info.versions}


def train_embedding_classifier(
    texts: Sequence[str],
    gold: Mapping[str, np.ndarray],
    policy: Policy,
    embedder: Embedder | str = "minilm",
    config: EmbeddingTrainConfig | None = None,
    *,
    label_mappings: Mapping[str, str] | None = None,
) -> EmbeddingClassifier:
    """Fit one calibrated head per category in `gold` (category → 1/0/NaN per text) on the
    embeddings of the normalized texts; `embedder` is an Embedder or a backend name."""
    config = config or EmbeddingTrainConfig()
    started = time.perf_counter()
    texts = _checked_texts(texts)
    checks = TrainConfig(min_per_class=config.min_per_class, calibration_folds=config.calibration_folds)
    arrays = _validate(texts, gold, policy, checks)
    embedder = load_embedder(embedder) if isinstance(embedder, str) else embedder
    normalized = normalize_batch(texts)
    features = embedder.embed([n.text for n in normalized]).astype(np.float64)
    names = [f"embedding_{i}" for i in range(features.shape[1])]
    fast = None
    if config.stack_fast:
        stacked = _cross_fitted_fast_scores(texts, normalized, arrays, policy, config)
        features = np.hstack([features, stacked])
        names += [f"fast_{c}" for c in arrays]
        fast = train_classifier(texts, arrays, policy, config.fast, label_mappings=label_mappings)

    coefs, intercepts = [], []
    counts: dict[str, dict[str, int]] = {}
    calibrators: dict[str, Calibrator] = {}
    for category, labels in arrays.items():
        rows = np.flatnonzero(~np.isnan(labels))
        x, y = features[rows], labels[rows].astype(np.int64)
        head = LogisticRegression(C=config.C, class_weight="balanced", max_iter=config.max_iter)
        folds = StratifiedKFold(config.calibration_folds, shuffle=True, random_state=config.random_state)
        held_out = cross_val_predict(head, x, y, cv=folds, method="decision_function")
        head.fit(x, y)
        calibrators[category] = fit_calibrator(y, expit(held_out), _calibration_method(config, y))
        coefs.append(head.coef_[0])
        intercepts.append(float(head.intercept_[0]))
        counts[category] = {"known": int(len(rows)), "positive": int(y.sum()), "iterations": int(head.n_iter_[0])}

    data_hash = training_data_hash(texts, arrays)
    fingerprint = hashlib.sha256((data_hash + config.model_dump_json() + embedder.info.fingerprint).encode()).hexdigest()
    card = EmbeddingCard(
        model_id=f"embedding-{embedder.info.backend}-{fingerprint[:12]}",
        policy=identity(policy),
        categories=list(arrays),
        embedder=embedder.info,
        stacked_fast_model=fast.card.model_id if fast else None,
        feature_names=names,
        label_mappings=dict(label_mappings or {}),
        training_data_hash=data_hash,
        training_counts=counts,
        calibrators=calibrators,
        hyperparameters=config,
        library_versions=_library_versions(embedder),
        trained_at=dt.datetime.now(dt.timezone.utc),
        training_seconds=round(time.perf_counter() - started, 3),
    )
    return EmbeddingClassifier(card, np.column_stack(coefs), np.asarray(intercepts), embedder, fast)


# --------------------------------------------------------------------------- artifact


def write_embedding_card(card: EmbeddingCard, directory: Path | str) -> Path:
    """model.json of an embedding-classifier artifact (the files it lists are not touched)."""
    path = Path(directory) / CARD_FILE
    path.write_text(json.dumps(card.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def save_embedding_model(model: EmbeddingClassifier, directory: Path | str) -> Path:
    """Write head.npz, model.json and (when stacked) the fast model under fast/."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    with (root / HEAD_FILE).open("wb") as handle:
        np.savez_compressed(handle, coef=model.coef, intercepts=model.intercepts)
    files = {HEAD_FILE: _sha256(root / HEAD_FILE)}
    if model.fast is not None:
        save_model(model.fast, root / FAST_DIR)
        files[f"{FAST_DIR}/{CARD_FILE}"] = _sha256(root / FAST_DIR / CARD_FILE)  # which pins its weights' sha256
    model.card.files = files
    write_embedding_card(model.card, root)
    return root


def read_embedding_card(directory: Path | str) -> EmbeddingCard:
    """model.json of an embedding-classifier artifact, validated."""
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise CharterError(f"{directory} is not a Charter model: {CARD_FILE} is missing")
    try:
        return EmbeddingCard.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CharterError("model card is not valid JSON", [Problem(str(exc), Location(file=str(path)))]) from None
    except ValidationError as exc:
        problems = [Problem(e["msg"], Location(file=str(path), path=".".join(map(str, e["loc"])) or None)) for e in exc.errors()]
        raise CharterError("embedding model card is malformed", problems) from None


def load_embedding_model(
    directory: Path | str,
    *,
    embedder: Embedder | None = None,
    model2vec_directory: Path | str | None = None,
) -> EmbeddingClassifier:
    """Load and verify an artifact written by `save_embedding_model`.

    The embedder is the one the card names (or `embedder`, e.g. shared between models) and
    must have the same weights fingerprint; every artifact file must match its sha256.
    """
    root = Path(directory)
    card = read_embedding_card(root)
    for name, expected in card.files.items():
        path = root / name
        if not path.is_file():
            raise CharterError(f"model {root} is incomplete: {name} is missing")
        if _sha256(path) != expected:
            raise CharterError(f"model {root}: {name} does not match the sha256 recorded in {CARD_FILE}; retrain or restore it")
    if HEAD_FILE not in card.files:
        raise CharterError(f"model {root}: {CARD_FILE} does not record {HEAD_FILE}")
    try:
        with np.load(root / HEAD_FILE, allow_pickle=False) as arrays:
            coef, intercepts = arrays["coef"], arrays["intercepts"]
    except (OSError, KeyError, ValueError) as exc:
        raise CharterError(f"model {root}: {HEAD_FILE} is unreadable ({exc})") from None
    n = len(card.categories)
    if coef.shape != (len(card.feature_names), n) or intercepts.shape != (n,) or set(card.calibrators) != set(card.categories):
        raise CharterError(f"model {root}: {HEAD_FILE} does not fit the features and categories in {CARD_FILE}")
    fast = None
    if card.stacked_fast_model:
        fast = load_model(root / FAST_DIR)
        if fast.card.model_id != card.stacked_fast_model:
            raise CharterError(f"model {root}: {FAST_DIR}/ holds {fast.card.model_id}, the card names {card.stacked_fast_model}")
    if embedder is None:
        embedder = embedder_for(card.embedder, model2vec_directory=model2vec_directory)
    elif embedder.info.fingerprint != card.embedder.fingerprint:
        raise CharterError(
            f"the given {embedder.info.backend} embedder ({embedder.info.fingerprint[:12]}) is not the one model "
            f"{card.model_id} was trained on ({card.embedder.backend}, {card.embedder.fingerprint[:12]})"
        )
    return EmbeddingClassifier(card, coef, intercepts, embedder, fast)


# --------------------------------------------------------------------------- engine


class EmbeddingClassifierEngine(ClassifierEngine):
    """The embedding classifier as an Engine: the fast classifier's routing, policy check and
    decision shape, with the embedder named in describe()."""

    def __init__(
        self, model: EmbeddingClassifier, routing: Routing | LoadedBundle, *, name: str = "embedding-classifier", **options: Any
    ):
        super().__init__(model, routing, name=name, **options)  # type: ignore[arg-type]

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        card = self.model.card
        info.update(embedder=card.embedder.model_dump(), stacked_fast_model=card.stacked_fast_model)
        return info
