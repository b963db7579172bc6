"""Evaluation core: pure numeric functions over numpy arrays, returning JSON-serialisable results.

No file I/O here: decision-log readers, reports and the CLI build on these functions. Every
result is a pydantic model (`.model_dump_json()`); undefined numbers are None with the reason
in an `undefined` field, never NaN. User mistakes (empty input, mismatched lengths, labels that
are not 0/1, scores outside [0, 1]) raise `charter.errors.CharterError`.

Conventions shared by every function
- `y_true`: gold labels 0/1; NaN (or `known=False`) marks items whose gold label is unknown
  for this category; they are dropped and counted (`n_dropped`).
- `y_pred`: 0/1 decisions; when absent, `y_score >= threshold`.
- `y_score`: scores in [0, 1]; "flag" always means score >= threshold.
- `sample_weight`: non-negative weights (e.g. inverse inclusion probabilities); Wilson
  intervals then use the Kish effective sample size.
- Multi-category input: a mapping category -> array, a DataFrame, or a 2-D array (items x
  categories) with `categories=[...]`.
- Intervals: Wilson for proportions (precision, recall, FPR, accuracy); Poisson-bootstrap
  percentiles for F1, AUPRC and ROC-AUC (`n_boot` resamples, `seed`, `confidence`). The
  bootstrap resamples aggregated cells, not items (see `charter.evaluate.bootstrap`): curve
  metrics are exact up to `n_bins` score bins when there are more distinct scores than bins.
  Pooled (micro) proportions: Wilson with the design effect an item-level bootstrap measures.

Metrics
- `binary_metrics(y_true, y_pred=None, y_score=None, *, threshold=0.5, sample_weight=None,
  known=None, n_boot=1000, seed=0, confidence=0.95, n_bins=10000) -> BinaryMetrics`
- `evaluate_categories(y_true, y_pred=None, y_score=None, *, categories=None, threshold=0.5
  (or {category: threshold}), sample_weight=None, n_boot=1000, seed=0, confidence=0.95,
  n_bins=10000) -> CategoryReport` (per category + micro + macro)
- `slice_metrics(y_true, y_pred=None, y_score=None, *, slices, column=None, min_support=30,
  ...same options...) -> SliceReport`
- `pr_curve(y_true, y_score, *, sample_weight=None, known=None, max_points=200) -> PRCurve`,
  `roc_curve(...) -> ROCCurve`

Thresholds
- `threshold_for_precision(y_true, y_score, target, *, use_lower_bound=False, ...) -> ThresholdChoice`
- `threshold_for_recall(y_true, y_score, target, ...) -> ThresholdChoice`
- `threshold_for_cost(y_true, y_score, *, cost_fp, cost_fn, cost_review=None, ...) -> CostThresholds`
- `tier_thresholds(y_true, y_score, targets=TierTargets(), ...) -> TierThresholds`
- `tune_thresholds(y_true, y_score, targets, *, categories=None, sample_weight=None)
  -> dict[str, TierThresholds]`; `policy_thresholds(TierThresholds) -> policy.spec.Thresholds`

Calibration
- `reliability(y_true, y_score, *, n_bins=10, strategy="uniform"|"quantile", ...) -> Reliability`
- `fit_calibrator(y_true, y_score, method="isotonic"|"sigmoid", ...) -> IsotonicCalibrator |
  SigmoidCalibrator` (`.apply(scores)`, `.model_dump_json()`); `load_calibrator(json) -> ...`

Comparison and agreement
- `compare(y_true, pred_a, pred_b, *, score_a=None, score_b=None, sample_weight=None,
  known=None, n_boot=1000, seed=0, confidence=0.95, n_bins=1000) -> Comparison`
- `cohen_kappa(rater_a, rater_b, *, weights=None) -> Agreement`;
  `fleiss_kappa(ratings) -> Agreement`; `krippendorff_alpha(ratings, *, level="nominal") -> Agreement`;
  `category_agreement({category: ratings}) -> dict[str, CategoryAgreement]`
  (ratings: items x raters, None/NaN for missing)
"""

from charter.evaluate.agreement import category_agreement, cohen_kappa, fleiss_kappa, krippendorff_alpha
from charter.evaluate.calibration import (
    IsotonicCalibrator,
    SigmoidCalibrator,
    fit_calibrator,
    load_calibrator,
    reliability,
)
from charter.evaluate.categories import evaluate_categories
from charter.evaluate.compare import compare
from charter.evaluate.curves import pr_curve, roc_curve
from charter.evaluate.metrics import binary_metrics
from charter.evaluate.models import (
    Agreement,
    BinaryMetrics,
    BootstrapInfo,
    CategoryAgreement,
    CategoryReport,
    Comparison,
    Confusion,
    CostThresholds,
    Difference,
    Interval,
    MacroAverage,
    McNemar,
    MicroAverage,
    PRCurve,
    Reliability,
    ReliabilityBin,
    ROCCurve,
    SliceMetrics,
    SliceReport,
    ThresholdChoice,
    TierThresholds,
)
from charter.evaluate.slices import slice_metrics
from charter.evaluate.thresholds import (
    TierTargets,
    policy_thresholds,
    threshold_for_cost,
    threshold_for_precision,
    threshold_for_recall,
    tier_thresholds,
    tune_thresholds,
)

__all__ = [
    "Agreement",
    "BinaryMetrics",
    "BootstrapInfo",
    "CategoryAgreement",
    "CategoryReport",
    "Comparison",
    "Confusion",
    "CostThresholds",
    "Difference",
    "Interval",
    "IsotonicCalibrator",
    "MacroAverage",
    "McNemar",
    "MicroAverage",
    "PRCurve",
    "ROCCurve",
    "Reliability",
    "ReliabilityBin",
    "SigmoidCalibrator",
    "SliceMetrics",
    "SliceReport",
    "ThresholdChoice",
    "TierTargets",
    "TierThresholds",
    "binary_metrics",
    "category_agreement",
    "cohen_kappa",
    "compare",
    "evaluate_categories",
    "fit_calibrator",
    "fleiss_kappa",
    "krippendorff_alpha",
    "load_calibrator",
    "policy_thresholds",
    "pr_curve",
    "reliability",
    "roc_curve",
    "slice_metrics",
    "threshold_for_cost",
    "threshold_for_precision",
    "threshold_for_recall",
    "tier_thresholds",
    "tune_thresholds",
]
