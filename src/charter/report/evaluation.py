"""One evaluation run: a decision log joined with gold labels, measured every way a policy
lead asks about (metrics with intervals, curves, calibration, thresholds, slices, worst
errors), as one JSON-serialisable record that the HTML report renders."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from charter.errors import CharterError
from charter.evaluate import (
    BinaryMetrics,
    CategoryReport,
    PRCurve,
    Reliability,
    ROCCurve,
    SliceReport,
    TierTargets,
    TierThresholds,
    evaluate_categories,
    pr_curve,
    reliability,
    roc_curve,
    slice_metrics,
    tier_thresholds,
)

GOLD = "gold:"
SCORE = "score:"
PRED = "pred:"


class EvalOptions(BaseModel):
    n_boot: int = Field(default=1000, ge=0)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    seed: int = 0
    min_support: int = Field(default=30, ge=1)
    slice_columns: list[str] = Field(default_factory=list)
    weight_column: str | None = Field(
        default=None, description="per-item sample weight (e.g. inverse inclusion probability of a stratified golden set)"
    )
    worst_n: int = Field(default=10, ge=0)
    targets: TierTargets = Field(default_factory=TierTargets)


class WorstItem(BaseModel):
    item_id: str
    kind: Literal["false_positive", "false_negative"]
    score: float | None
    text: str | None
    detail: dict[str, str] = Field(default_factory=dict)


class CategorySection(BaseModel):
    category: str
    metrics: BinaryMetrics
    pr: PRCurve | None = None
    roc: ROCCurve | None = None
    calibration: Reliability | None = None
    thresholds: TierThresholds | None = None
    worst_false_positives: list[WorstItem] = Field(default_factory=list)
    worst_false_negatives: list[WorstItem] = Field(default_factory=list)


class EvalRun(BaseModel):
    """Everything one evaluation measured; the JSON report is exactly this model."""

    title: str
    created_at: dt.datetime
    policy: dict[str, str | None]
    pathways: list[str]
    model_versions: list[str]
    sources: dict[str, str]
    n_items: int
    options: EvalOptions
    summary: CategoryReport
    categories: dict[str, CategorySection]
    slices: dict[str, dict[str, SliceReport]] = Field(
        default_factory=dict, description="slice column -> category -> per-value metrics"
    )
    notes: list[str] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list, description="plain-language headlines for a policy lead")
    gold_caveats: dict[str, str] = Field(
        default_factory=dict, description="category -> where the label mapping says the gold labels are noisy"
    )


def categories_in(frame: pd.DataFrame) -> list[str]:
    """Categories that have both gold labels and predictions in the joined frame."""
    gold = [c[len(GOLD):] for c in frame.columns if c.startswith(GOLD)]
    return [c for c in gold if f"{PRED}{c}" in frame.columns]


def _worst(frame: pd.DataFrame, category: str, kind: str, n: int, detail_columns: list[str]) -> list[WorstItem]:
    gold = frame[f"{GOLD}{category}"]
    pred = frame[f"{PRED}{category}"]
    score_col = f"{SCORE}{category}"
    has_score = score_col in frame.columns
    if kind == "false_positive":
        mask = (gold == 0) & (pred == 1)
        ascending = False  # most confident wrong flags first
    else:
        mask = (gold == 1) & (pred == 0)
        ascending = True  # most confidently missed first
    rows = frame[mask]
    if has_score:
        rows = rows.sort_values(score_col, ascending=ascending, kind="stable")
    out = []
    for _, row in rows.head(n).iterrows():
        score = float(row[score_col]) if has_score and pd.notna(row[score_col]) else None
        detail = {c: str(row[c]) for c in detail_columns if c in row and pd.notna(row[c]) and str(row[c])}
        text = row.get("text")
        out.append(
            WorstItem(
                item_id=str(row["item_id"]),
                kind=kind,  # type: ignore[arg-type]
                score=score,
                text=None if text is None or (isinstance(text, float) and np.isnan(text)) else str(text),
                detail=detail,
            )
        )
    return out


def evaluate_frame(
    frame: pd.DataFrame,
    *,
    title: str,
    policy: dict[str, str | None],
    sources: dict[str, str],
    options: EvalOptions | None = None,
    notes: list[str] | None = None,
    gold_caveats: dict[str, str] | None = None,
) -> EvalRun:
    """Measure a joined frame: item_id, text, `gold:<cat>` (1/0/NaN), `pred:<cat>` (1/0),
    optional `score:<cat>`, plus any slice columns and `pathway` / `model_version`."""
    options = options or EvalOptions()
    if frame.empty:
        raise CharterError("nothing to evaluate: no decision matched a gold-labelled item")
    categories = categories_in(frame)
    if not categories:
        raise CharterError("nothing to evaluate: the decisions and the gold labels share no category")
    missing = [c for c in [*options.slice_columns, *([options.weight_column] if options.weight_column else [])] if c not in frame.columns]
    if missing:
        available = sorted(c for c in frame.columns if not c.startswith((GOLD, PRED, SCORE)))
        raise CharterError(f"unknown slice or weight column(s) {missing}; available: {', '.join(available)}")
    weights = None
    if options.weight_column:
        weights = pd.to_numeric(frame[options.weight_column], errors="coerce").to_numpy(dtype=float)
        if np.isnan(weights).any() or (weights < 0).any():
            bad = int((np.isnan(weights) | (weights < 0)).sum())
            raise CharterError(f"weight column {options.weight_column!r}: {bad} items have a missing, non-numeric or negative weight")

    gold = {c: frame[f"{GOLD}{c}"].to_numpy(dtype=float) for c in categories}
    preds = {c: frame[f"{PRED}{c}"].to_numpy(dtype=float) for c in categories}
    scored = [c for c in categories if f"{SCORE}{c}" in frame.columns and frame[f"{SCORE}{c}"].notna().all()]
    scores = {c: frame[f"{SCORE}{c}"].to_numpy(dtype=float) for c in scored}
    notes = list(notes or [])
    unscored = [c for c in categories if c not in scored]
    if unscored:
        notes.append(
            f"no scores for {', '.join(unscored)}: curves, AUPRC, calibration and threshold tuning are "
            "not available for them (the pathway gave verdicts only)"
        )

    summary = evaluate_categories(
        gold,
        y_pred=preds,
        y_score=scores or None,
        categories=categories,
        sample_weight=weights,
        n_boot=options.n_boot,
        seed=options.seed,
        confidence=options.confidence,
    )
    detail_columns = [c for c in ("pathway", "language", "market", "surface", "rule_ids", "action") if c in frame.columns]
    sections: dict[str, CategorySection] = {}
    for c in categories:
        metrics = summary.categories[c]
        section = CategorySection(category=c, metrics=metrics)
        known = ~np.isnan(gold[c])
        has_both_classes = known.any() and 0 < np.nansum(gold[c]) < known.sum()
        if c in scores and has_both_classes:
            section.pr = pr_curve(gold[c], scores[c], sample_weight=weights)
            section.roc = roc_curve(gold[c], scores[c], sample_weight=weights)
            section.calibration = reliability(gold[c], scores[c], sample_weight=weights)
            section.thresholds = tier_thresholds(gold[c], scores[c], options.targets, sample_weight=weights)
        sub = frame[known]
        section.worst_false_positives = _worst(sub, c, "false_positive", options.worst_n, detail_columns)
        section.worst_false_negatives = _worst(sub, c, "false_negative", options.worst_n, detail_columns)
        sections[c] = section

    slices: dict[str, dict[str, SliceReport]] = {}
    for column in options.slice_columns:
        values = frame[column].astype("string").fillna("(missing)").to_numpy()
        slices[column] = {
            c: slice_metrics(
                gold[c],
                y_pred=preds[c],
                y_score=scores.get(c),
                slices=values,
                column=column,
                min_support=options.min_support,
                sample_weight=weights,
                n_boot=min(options.n_boot, 200),
                seed=options.seed,
                confidence=options.confidence,
            )
            for c in categories
        }

    findings = _findings(sections, slices)
    pathways = sorted(frame["pathway"].dropna().astype(str).unique()) if "pathway" in frame else []
    models = sorted(frame["model_version"].dropna().astype(str).unique()) if "model_version" in frame else []
    return EvalRun(
        title=title,
        created_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
        policy=policy,
        pathways=pathways,
        model_versions=models,
        sources=sources,
        n_items=len(frame),
        options=options,
        summary=summary,
        categories=sections,
        slices=slices,
        notes=notes,
        findings=findings,
        gold_caveats={c: text for c, text in (gold_caveats or {}).items() if c in categories},
    )


def _pct(value: float) -> str:
    return f"{value:.0%}"


THIN_EVIDENCE = 30  # flagged items below which a threshold's precision is called thin evidence
FEW_PER_CLASS = 10  # gold items per class below which bootstrap intervals (F1, AUPRC) are not trustworthy


def _items(count: float, noun: str = "item") -> str:
    return f"{count:.0f} {noun}" + ("" if round(count) == 1 else "s")


def _unmeasurable(c: str, m: BinaryMetrics) -> str | None:
    """Why a category's headline metrics cannot be read at all, in a policy lead's words."""
    if m.n == 0:
        return f"{c}: no item has a gold label for this category, so nothing about it is measured."
    if m.support == 0:
        return (
            f"{c}: cannot measure how well violations are caught: none of the {m.n} labelled items is violating "
            f"(precision, recall, F1 and AUPRC are undefined or meaningless); only wrongful flags are measured "
            f"({m.confusion.fp:.0f} of {m.n}). Add violating examples to the gold set."
        )
    if m.support == m.total_weight:
        return (
            f"{c}: every labelled item is violating, so over-enforcement (false-positive rate) cannot be measured; "
            "add allowed examples to the gold set."
        )
    return None


def _findings(sections: dict[str, CategorySection], slices: dict[str, dict[str, SliceReport]]) -> list[str]:
    """Headlines a policy lead reads first: what is weak, how sure we are, what to change."""
    out = []
    for c, s in sections.items():
        m = s.metrics
        fn, fp = m.confusion.fn, m.confusion.fp
        blind = _unmeasurable(c, m)
        if blind:
            out.append(blind)
            continue
        smaller = min(m.confusion.tp + m.confusion.fn, m.confusion.fp + m.confusion.tn)
        few = not m.weighted and smaller < FEW_PER_CLASS  # weighted counts are not item counts
        if few:
            out.append(
                f"{c}: only {_items(m.support, 'violating item')} and {_items(m.confusion.fp + m.confusion.tn, 'allowed item')} "
                "are labelled: treat every number here as anecdotal (bootstrap intervals for F1 and AUPRC are not "
                f"reliable below about {FEW_PER_CLASS} per class)."
            )
        if m.recall is not None and m.recall < 0.5 and m.support:
            out.append(
                f"{c}: misses most violations (recall {_pct(m.recall)}; {fn:.0f} of {m.support:.0f} violating items "
                "not actioned) — see the worst false negatives and the review threshold."
            )
        if m.precision is not None and m.precision < 0.8 and m.predicted_positive:
            out.append(
                f"{c}: {fp:.0f} of {m.predicted_positive:.0f} actioned items were allowed content "
                f"(precision {_pct(m.precision)}) — over-enforcement; see the worst false positives."
            )
        iv = m.intervals.get("f1")
        if iv is not None and iv.high - iv.low > 0.2 and not few:
            out.append(
                f"{c}: F1 is uncertain (interval {iv.low:.2f}–{iv.high:.2f}) with {m.n} labelled items; "
                "label more before acting on small differences."
            )
        t = s.thresholds
        if t is not None and not t.auto_action.attainable:
            out.append(f"{c}: no threshold reaches the auto-action precision target; keep a human in the loop.")
        elif t is not None and t.auto_action.flagged < THIN_EVIDENCE:
            low = t.auto_action.precision_low
            out.append(
                f"{c}: the suggested auto-action threshold ({t.auto_action.threshold:.3f}) rests on only "
                f"{_items(t.auto_action.flagged, 'flagged item')}"
                + (f" (precision could be as low as {_pct(low)})" if low is not None else "")
                + "; confirm it on more data or tune with --lower-bound."
            )
    for column, per_cat in slices.items():
        for c, report in per_cat.items():
            overall = sections[c].metrics.recall
            for sl in report.slices:
                if sl.metrics is None or sl.metrics.recall is None or overall is None:
                    continue
                iv = sl.metrics.intervals.get("recall")
                if iv is not None and iv.high < overall:
                    out.append(
                        f"{c}: recall is significantly lower where {column} = {sl.value} "
                        f"({_pct(sl.metrics.recall)}, interval up to {_pct(iv.high)}, vs {_pct(overall)} overall)."
                    )
    return out
