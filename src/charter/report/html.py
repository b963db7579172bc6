"""Render an EvalRun as one self-contained HTML file (inline CSS and SVG) plus its JSON."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from charter.evaluate import Interval
from charter.report import plots
from charter.report.evaluation import EvalRun

_env = Environment(loader=PackageLoader("charter.report", "templates"), autoescape=select_autoescape(["html", "j2"]))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _ci(interval: Interval | None) -> str:
    return "" if interval is None else f"[{interval.low:.3f}, {interval.high:.3f}]"


# The evaluation core's reasons (written for API users) in a policy lead's words.
PLAIN_REASONS = {
    "no predicted positives": "nothing was flagged",
    "no positives in y_true": "no violating items in the gold labels",
    "no negatives in y_true": "no allowed items in the gold labels",
    "only one class present in y_true": "the gold labels hold only one class",
    "no positives in y_true and no predicted positives": "no violating items and nothing flagged",
    "no scores (y_score) given": "the pathway gave verdicts without scores",
    "no items with a known gold label": "no item has a gold label",
    "no items with a known gold label and a non-zero weight": "no item has a gold label",
}
METRIC_NAMES = {
    "precision": "precision", "recall": "recall", "f1": "F1", "fpr": "FPR", "accuracy": "accuracy",
    "auprc": "AUPRC", "roc_auc": "ROC-AUC", "best_f1": "best F1", "best_f1_threshold": "best-F1 threshold",
}


def plain(reason: str | None) -> str:
    return "" if reason is None else PLAIN_REASONS.get(reason, reason)


def why_undefined(undefined: dict[str, str]) -> list[tuple[str, str]]:
    """(metrics, reason) pairs, metrics that share a reason listed together: 'recall, F1' / 'no violating items'."""
    grouped: dict[str, list[str]] = {}
    for metric, reason in undefined.items():
        if metric == "best_f1":  # always undefined together with best_f1_threshold
            continue
        grouped.setdefault(plain(reason), []).append(METRIC_NAMES.get(metric, metric))
    return [(", ".join(metrics), reason) for reason, metrics in grouped.items()]


def _plots(run: EvalRun) -> dict[str, str]:
    f1_rows = []
    for name, m in run.summary.categories.items():
        iv = m.intervals.get("f1")
        f1_rows.append((name, m.f1, iv.low if iv else None, iv.high if iv else None))
    out = {"f1": plots.interval_plot(f1_rows, "F1 per category with confidence interval", "F1")}
    pr = {c: (s.pr.recall, s.pr.precision) for c, s in run.categories.items() if s.pr}
    if pr:
        # where the pathway actually operates, so the curve reads as "what a threshold change would buy"
        operating = {
            c: (m.recall, m.precision, "now")
            for c in pr
            if (m := run.categories[c].metrics).recall is not None and m.precision is not None
        }
        out["pr"] = plots.curve_plot(
            pr, "Precision–recall (dot: current decisions)", "recall", "precision", markers=operating
        )
    roc = {c: (s.roc.fpr, s.roc.tpr) for c, s in run.categories.items() if s.roc}
    if roc:
        operating = {
            c: (m.fpr, m.recall, "now")
            for c in roc
            if (m := run.categories[c].metrics).recall is not None and m.fpr is not None
        }
        out["roc"] = plots.curve_plot(
            roc, "ROC (dot: current decisions)", "false positive rate", "true positive rate",
            diagonal=True, markers=operating,
        )
    cal = {
        c: (
            [b.mean_predicted for b in s.calibration.bins if b.mean_predicted is not None],
            [b.observed for b in s.calibration.bins if b.mean_predicted is not None],
            [b.count for b in s.calibration.bins if b.mean_predicted is not None],
        )
        for c, s in run.categories.items()
        if s.calibration
    }
    if cal:
        out["calibration"] = plots.reliability_plot(cal, "Calibration (reliability diagram)")
    return out


def render_html(run: EvalRun, json_name: str = "report.json") -> str:
    template = _env.get_template("eval.html.j2")
    return template.render(
        run=run, plots=_plots(run), fmt=_fmt, num=_num, ci=_ci, plain=plain, why_undefined=why_undefined,
        json_name=json_name,
    )


def write_report(run: EvalRun, out_dir: Path) -> tuple[Path, Path]:
    """Write report.html and report.json into `out_dir`; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    html_path = out_dir / "report.html"
    json_path.write_text(run.model_dump_json(indent=2), encoding="utf-8")
    html_path.write_text(render_html(run, json_path.name), encoding="utf-8")
    return html_path, json_path
