"""The evaluation core's results: JSON-serialisable models holding every number a report shows.

Undefined numbers are `None`, never NaN, and the reason is kept next to them (`undefined`), so a
report can say "no predicted positives" instead of printing a blank.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

INSUFFICIENT_SUPPORT = "insufficient support"


class Result(BaseModel):
    """Base for every result: strict keys, so a renamed field breaks loudly downstream."""

    model_config = ConfigDict(extra="forbid")


class Interval(Result):
    """A confidence interval and how it was obtained."""

    low: float
    high: float
    method: Literal["wilson", "bootstrap_percentile", "wilson_design_effect"] = Field(
        description="wilson_design_effect (pooled proportions): Wilson on the pooled counts with the effective "
        "n divided by the design effect that an item-level bootstrap measures, so correlated verdicts of one "
        "item widen the interval and small counts near 0 or 1 do not collapse it"
    )
    confidence: float
    effective_n: float | None = Field(
        default=None, description="Wilson: (Kish effective) number of trials behind the proportion"
    )
    n_resamples: int | None = Field(
        default=None, description="bootstrap: resamples in which the metric was defined"
    )


class Confusion(Result):
    """Confusion counts; sums of sample weights when weights were given."""

    tp: float
    fp: float
    fn: float
    tn: float


class BootstrapInfo(Result):
    """How the bootstrap intervals were made, so they can be reproduced."""

    method: Literal["poisson"] = "poisson"
    n_resamples: int
    seed: int
    score_resolution: Literal["exact", "binned", "none"] = Field(
        description="exact: every distinct score kept; binned: scores grouped into n_bins equal "
        "bins of [0, 1] (curve metrics exact up to bin resolution); none: no scores"
    )
    n_bins: int | None = None
    weights_grouped: bool = Field(
        default=False,
        description="True when weights had more distinct values than the bootstrap keeps apart, "
        "so each resampled group uses its mean weight",
    )


class BinaryMetrics(Result):
    """Every metric of one binary task (one category), with intervals and reasons for gaps."""

    n: int = Field(description="items with a known gold label")
    n_dropped: int = Field(description="items dropped because their gold label is unknown")
    weighted: bool
    total_weight: float
    effective_n: float = Field(description="Kish effective sample size (= n when unweighted)")
    support: float = Field(description="gold positives (weighted)")
    predicted_positive: float
    prevalence: float | None
    threshold: float | None = Field(description="score cut-off that produced the predictions, if any")
    confusion: Confusion
    precision: float | None
    recall: float | None
    f1: float | None
    fpr: float | None
    accuracy: float | None
    auprc: float | None = Field(description="average precision (step-wise area under the PR curve)")
    roc_auc: float | None
    best_f1_threshold: float | None
    best_f1: float | None
    intervals: dict[str, Interval] = Field(default_factory=dict)
    undefined: dict[str, str] = Field(default_factory=dict, description="metric -> why it is None")
    bootstrap: BootstrapInfo | None = None


class MicroAverage(Result):
    """Metrics over pooled (item, category) decisions; intervals by item-level bootstrap."""

    confusion: Confusion
    precision: float | None
    recall: float | None
    f1: float | None
    fpr: float | None
    accuracy: float | None
    intervals: dict[str, Interval] = Field(default_factory=dict)
    undefined: dict[str, str] = Field(default_factory=dict)


class MacroAverage(Result):
    """Unweighted means of per-category metrics over the categories where each is defined."""

    precision: float | None
    recall: float | None
    f1: float | None
    fpr: float | None
    accuracy: float | None
    auprc: float | None
    roc_auc: float | None
    excluded: dict[str, list[str]] = Field(
        default_factory=dict, description="metric -> categories left out because it is undefined there"
    )
    intervals: dict[str, Interval] = Field(default_factory=dict)
    undefined: dict[str, str] = Field(default_factory=dict)


class CategoryReport(Result):
    """Per-category metrics on the same items, with micro and macro averages."""

    n_items: int
    categories: dict[str, BinaryMetrics]
    micro: MicroAverage
    macro: MacroAverage
    bootstrap: BootstrapInfo | None = None


class SliceMetrics(Result):
    """One slice (e.g. language = "de"): its size and, when large enough, its metrics."""

    value: str
    n: int
    support: float
    status: Literal["ok", "insufficient support"]
    reason: str | None = None
    metrics: BinaryMetrics | None = None


class SliceReport(Result):
    """Metrics per value of one column, largest slices first."""

    column: str | None
    min_support: int
    n_dropped: int = Field(description="items dropped because their gold label is unknown")
    slices: list[SliceMetrics]


class PRCurve(Result):
    """Points of the precision-recall curve, downsampled for plotting (highest threshold first)."""

    precision: list[float]
    recall: list[float]
    thresholds: list[float]
    auprc: float | None
    prevalence: float | None
    undefined: str | None = None


class ROCCurve(Result):
    """Points of the ROC curve, downsampled for plotting, starting at (0, 0)."""

    fpr: list[float]
    tpr: list[float]
    thresholds: list[float | None] = Field(description="None for the (0, 0) start point")
    roc_auc: float | None
    undefined: str | None = None


class ThresholdChoice(Result):
    """A score cut-off (flag when score >= threshold) chosen for one objective, and what it achieves."""

    objective: Literal["max_recall_at_precision", "max_precision_at_recall"]
    target: float
    use_lower_bound: bool = False
    attainable: bool
    message: str | None = None
    threshold: float | None
    precision: float | None = None
    precision_low: float | None = Field(default=None, description="Wilson lower bound of precision")
    recall: float | None = None
    fpr: float | None = None
    flagged: float = Field(default=0.0, description="items (weighted) at or above the threshold")
    confusion: Confusion | None = None


class CostThresholds(Result):
    """Cut-offs that minimise expected cost: auto-action above one, human review between two."""

    cost_fp: float
    cost_fn: float
    cost_review: float | None
    auto_action_threshold: float = Field(description="scores >= this are actioned automatically")
    review_threshold: float | None = Field(
        description="scores in [review_threshold, auto_action_threshold) go to review; None without a review cost"
    )
    expected_cost: float
    cost_per_item: float
    auto_actioned: float
    reviewed: float
    false_positives: float = Field(description="wrongly auto-actioned items (weighted)")
    false_negatives: float = Field(description="violating items neither actioned nor reviewed (weighted)")
    precision: float | None = Field(description="precision of the automatic actions")
    recall: float | None = Field(description="share of violations caught by action or review")


class TierThresholds(Result):
    """Thresholds for the auto-action and review tiers of one category."""

    auto_action: ThresholdChoice
    review: ThresholdChoice
    review_band: float = Field(description="items (weighted) that land between the two thresholds")
    message: str | None = None


class ReliabilityBin(Result):
    lower: float
    upper: float
    count: int
    weight: float
    mean_predicted: float | None
    observed: float | None


class Reliability(Result):
    """Reliability-diagram data with the calibration summaries it supports."""

    strategy: Literal["uniform", "quantile"]
    n: int
    n_dropped: int
    bins: list[ReliabilityBin]
    ece: float = Field(description="expected calibration error: weight-averaged |observed - predicted|")
    mce: float = Field(description="maximum calibration error over non-empty bins")
    brier: float


class McNemar(Result):
    """Exact McNemar test on the discordant pairs (items exactly one system got right)."""

    both_correct: int
    only_a_correct: int
    only_b_correct: int
    both_wrong: int
    p_value_exact: float
    p_value_midp: float


class Difference(Result):
    """Paired-bootstrap difference b - a of one metric."""

    metric: str
    a: float | None
    b: float | None
    difference: float | None
    interval: Interval | None = None
    p_value: float | None = Field(default=None, description="two-sided bootstrap p-value for no difference")
    undefined: str | None = None


class Comparison(Result):
    """Two prediction sets on the same gold items: significance, effect size, and what changed."""

    n: int
    n_dropped: int
    mcnemar: McNemar
    f1: Difference
    auprc: Difference | None = None
    fixed: list[int] = Field(description="indices wrong under a and right under b")
    broken: list[int] = Field(description="indices right under a and wrong under b")
    flipped_unlabelled: list[int] = Field(description="indices whose decision changed but gold is unknown")
    bootstrap: BootstrapInfo | None = None


class Agreement(Result):
    """One agreement statistic over a set of items rated by several raters."""

    statistic: Literal["cohen_kappa", "fleiss_kappa", "krippendorff_alpha"]
    value: float | None
    n_items: int
    n_raters: int
    n_dropped: int = Field(description="items left out (missing ratings the statistic cannot use)")
    undefined: str | None = None


class CategoryAgreement(Result):
    """Agreement among raters on one category."""

    cohen_kappa: Agreement | None = Field(default=None, description="only with exactly two raters")
    fleiss_kappa: Agreement
    krippendorff_alpha: Agreement
