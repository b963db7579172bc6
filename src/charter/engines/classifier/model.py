"""Training and scoring the fast classifier: one calibrated linear model per policy category.

Each category's model (SGD logistic regression, balanced class weights) is trained only on
the items whose gold label for it is known, so datasets that label some categories and not
others can be pooled. Scores are calibrated probabilities: the evaluation core's calibrator
(isotonic, or sigmoid/Platt when there is too little data for isotonic) is fitted on the
model's out-of-fold probabilities, so it never sees a score of a row the model was trained
on, and it is stored as plain numbers in model.json.

At scoring time the per-category weights are one dense (features × categories) array, so a
batch is scored with one sparse-times-dense product per feature block, and texts stream
through in batches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

import charter
from charter.engines.classifier.features import FeatureConfig, Featurizer
from charter.engines.normalize import Normalized, normalize_batch
from charter.errors import CharterError
from charter.evaluate.calibration import Calibrator, fit_calibrator
from charter.policy.hashing import PolicyIdentity, identity
from charter.policy.spec import Policy

BATCH_SIZE = 8192
MODEL_FORMAT = "charter-fast-classifier/1"
ISOTONIC_MIN_PER_CLASS = 500  # below this, isotonic calibration overfits; use sigmoid


class TrainConfig(BaseModel):
    """Hyper-parameters; stored in model.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: FeatureConfig = FeatureConfig()
    alpha: float = Field(default=1e-5, gt=0, description="L2 regularisation strength of SGD")
    alpha_grid: tuple[PositiveFloat, ...] = Field(
        default=(),
        description="when given, each category uses the grid value with the best out-of-fold AUPRC instead of alpha",
    )
    max_iter: int = Field(default=50, ge=1)
    tol: float = Field(default=1e-3, gt=0, description="SGD stops when an epoch improves the loss by less")
    calibration: Literal["auto", "sigmoid", "isotonic"] = "auto"
    calibration_folds: int = Field(default=3, ge=2)
    min_per_class: int = Field(default=5, ge=2, description="fewest positives and negatives a category needs")
    random_state: int = 0


class ModelCard(BaseModel):
    """model.json: what the model is, what it was trained for and on, and how well it does."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["charter-fast-classifier/1"] = MODEL_FORMAT
    model_id: str
    policy: PolicyIdentity
    categories: list[str]
    label_mappings: dict[str, str] = Field(default_factory=dict, description="mapping name → version")
    training_data_hash: str = Field(description="sha256 over the training texts and gold labels")
    training_counts: dict[str, dict[str, int]] = Field(description="per category: known, positive")
    calibrators: dict[str, Calibrator] = Field(description="per category, fitted on out-of-fold scores")
    chosen_alpha: dict[str, float] = Field(default_factory=dict, description="per category, when picked from alpha_grid")
    hyperparameters: TrainConfig
    library_versions: dict[str, str]
    trained_at: dt.datetime
    training_seconds: float
    evaluation: dict[str, Any] | None = Field(default=None, description="filled by the evaluate step")
    files: dict[str, str] = Field(default_factory=dict, description="artifact file → sha256")


@dataclass
class Scored:
    """Calibrated scores (category → array) and the evasion transformations fired per text."""

    scores: dict[str, np.ndarray]
    fired: list[list[str]]


@dataclass
class TrainedClassifier:
    """The fitted weights (features × categories) and intercepts, and the model card (which
    holds the calibrators)."""

    card: ModelCard
    weights: sp.csr_matrix
    intercepts: np.ndarray
    _featurizer: Featurizer | None = field(default=None, repr=False)
    _dense: np.ndarray | None = field(default=None, repr=False)

    @property
    def categories(self) -> list[str]:
        return self.card.categories

    @property
    def featurizer(self) -> Featurizer:
        if self._featurizer is None:
            self._featurizer = Featurizer(self.card.hyperparameters.features)
        return self._featurizer

    @property
    def dense_weights(self) -> np.ndarray:
        """The weights as one dense (features × categories) float32 array, made once: a sparse
        batch times a dense matrix is one pass over the batch's non-zeros, where sparse times
        sparse needs two and an index merge (tens of MB for a few categories)."""
        if self._dense is None:
            self._dense = np.ascontiguousarray(self.weights.toarray(), dtype=np.float32)
        return self._dense

    def decision_values(self, normalized: Sequence[Normalized]) -> np.ndarray:
        """Raw linear scores, (texts × categories): each feature block times its rows of the
        weights, so the blocks are never stacked into one matrix."""
        weights, offset = self.dense_weights, 0
        out = np.zeros((len(normalized), len(self.categories)), dtype=np.float32)
        if not normalized:
            return out + self.intercepts
        for block in self.featurizer.blocks(normalized):
            out += block @ weights[offset : offset + block.shape[1]]
            offset += block.shape[1]
        return out + self.intercepts

    def score_normalized(self, normalized: Sequence[Normalized]) -> dict[str, np.ndarray]:
        probabilities = expit(self.decision_values(normalized))
        return {c: self.card.calibrators[c].apply(probabilities[:, j]) for j, c in enumerate(self.categories)}

    def iter_batches(self, texts: Sequence[str], batch_size: int = BATCH_SIZE, *, normalize: bool = True) -> Iterator[Scored]:
        """Score `texts` in streamed batches (memory stays bounded for any input size)."""
        for start in range(0, len(texts), batch_size):
            chunk = _checked_texts(texts[start : start + batch_size], start)
            normalized = normalize_batch(chunk) if normalize else [Normalized(t, t, []) for t in chunk]
            yield Scored(self.score_normalized(normalized), [n.fired for n in normalized])

    def score(self, texts: Sequence[str], batch_size: int = BATCH_SIZE, *, normalize: bool = True) -> Scored:
        """Calibrated scores for every category the model covers.

        `normalize=False` scores the raw text (no evasion normalization): only for measuring
        what normalization buys; every pathway scores normalized text.
        """
        parts = list(self.iter_batches(texts, batch_size, normalize=normalize))
        if not parts:
            return Scored({c: np.zeros(0) for c in self.categories}, [])
        return Scored(
            {c: np.concatenate([p.scores[c] for p in parts]) for c in self.categories},
            [f for p in parts for f in p.fired],
        )


def _checked_texts(texts: Sequence[Any], offset: int = 0) -> list[str]:
    bad = [offset + i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        shown = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
        raise CharterError(f"{len(bad)} text(s) are not strings (rows {shown}); every item needs a text, use '' for none")
    return list(texts)


# --------------------------------------------------------------------------- training


def training_data_hash(texts: Sequence[str], gold: Mapping[str, np.ndarray]) -> str:
    """sha256 over the texts and the labels of every category (unknown labels included)."""
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    for category in sorted(gold):
        digest.update(category.encode("utf-8") + b"\0")
        values = np.asarray(gold[category], dtype=np.float64)
        digest.update(np.where(np.isnan(values), -1.0, values).astype("<f8").tobytes())
    return digest.hexdigest()


def _validate(texts: Sequence[str], gold: Mapping[str, np.ndarray], policy: Policy, config: TrainConfig) -> dict[str, np.ndarray]:
    if not gold:
        raise CharterError("no gold labels given: pass at least one category's labels")
    known = policy.category_ids()
    arrays: dict[str, np.ndarray] = {}
    for category, values in gold.items():
        if category not in known:
            raise CharterError(f"gold labels for {category!r}, which policy {policy.id} does not have (categories: {', '.join(known)})")
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (len(texts),):
            raise CharterError(f"gold labels for {category!r} have shape {array.shape}, expected ({len(texts)},): one per text")
        labelled = array[~np.isnan(array)]
        if not np.isin(labelled, (0.0, 1.0)).all():
            raise CharterError(f"gold labels for {category!r} must be 1, 0 or NaN (unknown)")
        positives, negatives = int(labelled.sum()), int(len(labelled) - labelled.sum())
        needed = max(config.min_per_class, config.calibration_folds)
        if min(positives, negatives) < needed:
            raise CharterError(
                f"category {category!r} has {positives} positive and {negatives} negative known labels; "
                f"training needs at least {needed} of each"
            )
        arrays[category] = array
    # Keep the policy's category order, whatever order the caller used.
    return {c: arrays[c] for c in known if c in arrays}


def _calibration_method(config: TrainConfig, y: np.ndarray) -> Literal["sigmoid", "isotonic"]:
    if config.calibration != "auto":
        return config.calibration
    smallest = min(int(y.sum()), int(len(y) - y.sum()))
    return "isotonic" if smallest >= ISOTONIC_MIN_PER_CLASS else "sigmoid"


def _library_versions() -> dict[str, str]:
    libraries = {name: version(name) for name in ("scikit-learn", "numpy", "scipy", "confusable-homoglyphs")}
    return {"charter": charter.__version__, **libraries}


def _sgd(config: TrainConfig, alpha: float) -> SGDClassifier:
    return SGDClassifier(
        loss="log_loss",
        alpha=alpha,
        max_iter=config.max_iter,
        tol=config.tol,
        class_weight="balanced",
        random_state=config.random_state,
    )


def _evasion_never_excuses(coef: np.ndarray, features: FeatureConfig) -> np.ndarray:
    """The fitted weights with negative evasion-indicator weights set to zero. In natural text
    an indicator can mark benign writing (SMS shorthand fires `leet`, so hate learns a negative
    weight for it); an evasion attempt must never lower a violation score, or disguising a slur
    would do more than hide it."""
    weights = coef.astype(np.float32)
    if features.evasion_features:
        flags = weights[:, 2 * features.n_features :]
        np.maximum(flags, 0.0, out=flags)
    return weights


def train_classifier(
    texts: Sequence[str],
    gold: Mapping[str, np.ndarray],
    policy: Policy,
    config: TrainConfig | None = None,
    *,
    label_mappings: Mapping[str, str] | None = None,
) -> TrainedClassifier:
    """Fit one calibrated model per category in `gold` (category → 1/0/NaN per text)."""
    config = config or TrainConfig()
    started = time.perf_counter()
    texts = _checked_texts(texts)
    arrays = _validate(texts, gold, policy, config)
    featurizer = Featurizer(config.features)
    features = featurizer.transform(normalize_batch(texts))

    columns, intercepts = [], []
    counts: dict[str, dict[str, int]] = {}
    calibrators: dict[str, Calibrator] = {}
    chosen: dict[str, float] = {}
    for category, labels in arrays.items():
        rows = np.flatnonzero(~np.isnan(labels))
        x, y = features[rows], labels[rows].astype(np.int64)
        folds = StratifiedKFold(config.calibration_folds, shuffle=True, random_state=config.random_state)
        best: tuple[float, float, np.ndarray] | None = None  # (out-of-fold AUPRC, alpha, scores)
        with warnings.catch_warnings():
            # Hitting max_iter is expected with small tol on small data; the card records epochs.
            warnings.simplefilter("ignore", ConvergenceWarning)
            for alpha in config.alpha_grid or (config.alpha,):
                scores = cross_val_predict(_sgd(config, alpha), x, y, cv=folds, method="decision_function")
                quality = average_precision_score(y, scores) if config.alpha_grid else 0.0
                if best is None or quality > best[0]:
                    best = (quality, alpha, scores)
            assert best is not None
            _, alpha, held_out = best
            model = _sgd(config, alpha).fit(x, y)
        if config.alpha_grid:
            chosen[category] = alpha
        calibrators[category] = fit_calibrator(y, expit(held_out), _calibration_method(config, y))
        columns.append(sp.csr_matrix(_evasion_never_excuses(model.coef_, config.features)))
        intercepts.append(float(model.intercept_[0]))
        counts[category] = {"known": int(len(rows)), "positive": int(y.sum()), "epochs": int(model.n_iter_)}

    data_hash = training_data_hash(texts, arrays)
    fingerprint = hashlib.sha256((data_hash + config.model_dump_json()).encode()).hexdigest()
    card = ModelCard(
        model_id=f"fast-linear-{fingerprint[:12]}",
        policy=identity(policy),
        categories=list(arrays),
        label_mappings=dict(label_mappings or {}),
        training_data_hash=data_hash,
        training_counts=counts,
        calibrators=calibrators,
        chosen_alpha=chosen,
        hyperparameters=config,
        library_versions=_library_versions(),
        trained_at=dt.datetime.now(dt.timezone.utc),
        training_seconds=round(time.perf_counter() - started, 3),
    )
    weights = sp.vstack(columns).T.tocsr()
    return TrainedClassifier(card, weights, np.asarray(intercepts), featurizer)


def card_json(card: ModelCard) -> str:
    """model.json text: stable, readable, newline-ended."""
    return json.dumps(card.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
