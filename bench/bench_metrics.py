"""Benchmark: the full per-category metric set with intervals over millions of decisions.

Charter's evaluation core (`evaluate_categories`: per-category counts, Wilson intervals,
exact AUPRC/ROC-AUC/best-F1 from one sort, Poisson bootstrap over aggregated score bins, plus
micro/macro averages with an item-level bootstrap) against a straightforward baseline: a
pandas DataFrame and a scikit-learn loop per category, with a naive bootstrap that resamples
indices with numpy and recomputes f1_score / average_precision_score / roc_auc_score.

The baseline is too slow to run 1000 resamples on millions of rows, so it runs
--baseline-resamples (default 20) and its time at --resamples is extrapolated linearly
(point-metric time + per-resample time x resamples); the output says so, and also gives the
ratio without extrapolation (the baseline's few resamples against all of ours), a lower bound.
Ours bins scores into 10,000 bins inside the bootstrap (point estimates stay exact); the
baseline recomputes exact sklearn metrics in every resample. Each
implementation runs in its own subprocess so peak-memory numbers are not shared; the peak
resident size (VmHWM) is reset after the inputs are loaded, and "compute_peak_mb" is that
peak minus the resident size after loading, i.e. the extra memory the computation needed.
Times are reported as wall clock and as CPU time of the worker process (all its threads): on a
shared machine the CPU-time ratio is the one that other load does not distort, so the output
gives both speedups and the load average around the run.

Usage: python bench/bench_metrics.py [--n 10000000] [--resamples 1000] [--weights]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CATEGORIES = ["hate", "harassment", "violent_threats", "self_harm", "adult_sexual", "spam_scams", "synthetic_media"]
PREVALENCE = [0.03, 0.06, 0.01, 0.015, 0.08, 0.10, 0.02]
THRESHOLD = 0.5


def generate(n: int, weights: bool, seed: int, folder: Path) -> None:
    """Synthetic decisions: per category gold ~ Bernoulli(prevalence); scores from two beta laws."""
    rng = np.random.default_rng(seed)
    k = len(CATEGORIES)
    y = np.empty((k, n), dtype=np.int8)
    s = np.empty((k, n), dtype=np.float64)
    for j, prevalence in enumerate(PREVALENCE):
        y[j] = rng.random(n) < prevalence
        pos = y[j] == 1
        s[j] = rng.beta(2.0, 6.0, n)
        s[j][pos] = rng.beta(5.0 + j * 0.3, 2.0, int(pos.sum()))
    np.save(folder / "y.npy", y)
    np.save(folder / "s.npy", s)
    np.save(folder / "pred.npy", (s >= THRESHOLD).astype(np.int8))
    if weights:
        # a stratified golden set: high-score items oversampled, so they carry smaller weights
        stratum = (s.max(axis=0) >= 0.5).astype(np.int8)
        np.save(folder / "w.npy", np.where(stratum == 1, 1.0, 4.0))


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise KeyError(field)


def rss_mb() -> float:
    """Current resident memory."""
    return _status_mb("VmRSS")


def peak_mb() -> float:
    """Peak resident memory since the last reset_peak()."""
    return _status_mb("VmHWM")


def reset_peak() -> None:
    """Start peak tracking afresh (Linux clear_refs), so setup transients do not count."""
    Path("/proc/self/clear_refs").write_text("5")


def load(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    w_path = folder / "w.npy"
    return (
        np.load(folder / "y.npy"),
        np.load(folder / "s.npy"),
        np.load(folder / "pred.npy"),
        np.load(w_path) if w_path.exists() else None,
    )


def run_ours(folder: Path, resamples: int, seed: int) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from charter.evaluate import evaluate_categories

    y, s, pred, w = load(folder)
    reset_peak()
    loaded = rss_mb()
    start = time.perf_counter()
    cpu_start = time.process_time()
    report = evaluate_categories(
        {c: y[j] for j, c in enumerate(CATEGORIES)},
        y_pred={c: pred[j] for j, c in enumerate(CATEGORIES)},
        y_score={c: s[j] for j, c in enumerate(CATEGORIES)},
        sample_weight=w,
        n_boot=resamples,
        seed=seed,
    )
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    points = {
        c: {k: getattr(m, k) for k in ("precision", "recall", "f1", "auprc", "roc_auc", "best_f1")}
        for c, m in report.categories.items()
    }
    widths = {c: m.intervals["auprc"].high - m.intervals["auprc"].low for c, m in report.categories.items()}
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": peak_mb(),
        "compute_peak_mb": peak_mb() - loaded,
        "resamples": resamples,
        "points": points,
        "auprc_ci_width": widths,
        "score_resolution": report.categories[CATEGORIES[0]].bootstrap.score_resolution,
    }


def run_baseline(folder: Path, resamples: int, seed: int) -> dict:
    import pandas as pd
    from sklearn import metrics as skm
    from statsmodels.stats.proportion import proportion_confint

    y, s, pred, w = load(folder)
    frame = pd.DataFrame(
        {f"{kind}_{c}": arr[j] for j, c in enumerate(CATEGORIES) for kind, arr in (("y", y), ("s", s), ("p", pred))}
    )
    if w is not None:
        frame["w"] = w
    del y, s, pred
    reset_peak()
    loaded = rss_mb()
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    point_time = boot_time = 0.0
    point_cpu = boot_cpu = 0.0
    points = {}
    weights = None if w is None else frame["w"].to_numpy()
    n = len(frame)
    for c in CATEGORIES:
        t0, c0 = time.perf_counter(), time.process_time()
        yc, sc, pc = (frame[f"{kind}_{c}"].to_numpy() for kind in ("y", "s", "p"))
        tn, fp, fn, tp = skm.confusion_matrix(yc, pc, sample_weight=weights).ravel()
        result = {
            "precision": skm.precision_score(yc, pc, sample_weight=weights),
            "recall": skm.recall_score(yc, pc, sample_weight=weights),
            "f1": skm.f1_score(yc, pc, sample_weight=weights),
            "accuracy": skm.accuracy_score(yc, pc, sample_weight=weights),
            "auprc": skm.average_precision_score(yc, sc, sample_weight=weights),
            "roc_auc": skm.roc_auc_score(yc, sc, sample_weight=weights),
        }
        precision, recall, _ = skm.precision_recall_curve(yc, sc, sample_weight=weights)
        with np.errstate(divide="ignore", invalid="ignore"):
            result["best_f1"] = float(np.nanmax(2 * precision * recall / (precision + recall)))
        for num, den in ((tp, tp + fp), (tp, tp + fn), (fp, fp + tn), (tp + tn, tp + tn + fp + fn)):
            proportion_confint(num, den, method="wilson")
        points[c] = {k: float(v) for k, v in result.items() if k != "accuracy"}
        t1, c1 = time.perf_counter(), time.process_time()
        draws = {"f1": [], "auprc": [], "roc_auc": []}
        for _ in range(resamples):
            idx = rng.integers(0, n, n)
            wi = None if weights is None else weights[idx]
            draws["f1"].append(skm.f1_score(yc[idx], pc[idx], sample_weight=wi))
            draws["auprc"].append(skm.average_precision_score(yc[idx], sc[idx], sample_weight=wi))
            draws["roc_auc"].append(skm.roc_auc_score(yc[idx], sc[idx], sample_weight=wi))
        for values in draws.values():
            np.percentile(values, [2.5, 97.5])
        point_time += t1 - t0
        boot_time += time.perf_counter() - t1
        point_cpu += c1 - c0
        boot_cpu += time.process_time() - c1
    t0, c0 = time.perf_counter(), time.process_time()
    gold = frame[[f"y_{c}" for c in CATEGORIES]].to_numpy()
    predicted = frame[[f"p_{c}" for c in CATEGORIES]].to_numpy()
    for average in ("micro", "macro"):
        skm.f1_score(gold, predicted, average=average, sample_weight=weights)
    point_time += time.perf_counter() - t0
    point_cpu += time.process_time() - c0
    return {
        "wall_s_measured": time.perf_counter() - start,
        "point_s": point_time,
        "bootstrap_s": boot_time,
        "resamples_run": resamples,
        "per_resample_s": boot_time / resamples if resamples else None,
        "point_cpu_s": point_cpu,
        "per_resample_cpu_s": boot_cpu / resamples if resamples else None,
        "peak_rss_mb": peak_mb(),
        "compute_peak_mb": peak_mb() - loaded,
        "points": points,
    }


def worker(args: argparse.Namespace) -> None:
    folder = Path(args.data)
    if args.worker == "ours":
        out = run_ours(folder, args.resamples, args.seed)
    else:
        out = run_baseline(folder, args.resamples, args.seed)
    print(json.dumps(out))


def spawn(kind: str, folder: Path, resamples: int, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--data", str(folder), "--resamples", str(resamples),
           "--seed", str(seed)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def max_point_difference(a: dict, b: dict) -> float:
    return max(abs(a[c][k] - b[c][k]) for c in a for k in a[c] if a[c][k] is not None and k in b[c])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="decisions per category")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--small-resamples", type=int, default=200, help="second run of ours, to show flat memory")
    parser.add_argument("--baseline-resamples", type=int, default=20)
    parser.add_argument("--weights", action="store_true", help="add stratified sample weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        generate(args.n, args.weights, args.seed, folder)
        generate_s = time.perf_counter() - t0
        ours = spawn("ours", folder, args.resamples, args.seed)
        ours_small = spawn("ours", folder, args.small_resamples, args.seed)
        base = spawn("baseline", folder, args.baseline_resamples, args.seed)
    base_total = base["point_s"] + base["per_resample_s"] * args.resamples
    base_cpu_total = base["point_cpu_s"] + base["per_resample_cpu_s"] * args.resamples
    result = {
        "benchmark": "evaluate_categories",
        "n": args.n,
        "categories": len(CATEGORIES),
        "decisions": args.n * len(CATEGORIES),
        "weights": args.weights,
        "resamples": args.resamples,
        "cpu_count": os.cpu_count(),
        "generate_s": round(generate_s, 2),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "ours": {k: ours[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "compute_peak_mb", "score_resolution")},
        "ours_small": {k: ours_small[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "compute_peak_mb", "resamples")},
        "baseline": {k: base[k] for k in (
            "wall_s_measured", "point_s", "bootstrap_s", "resamples_run", "per_resample_s",
            "point_cpu_s", "per_resample_cpu_s", "peak_rss_mb", "compute_peak_mb")},
        "baseline_wall_s_extrapolated": base_total,
        "baseline_cpu_s_extrapolated": base_cpu_total,
        "baseline_note": f"baseline ran {args.baseline_resamples} bootstrap resamples per category; its time "
        f"at {args.resamples} resamples is extrapolated linearly (point time + per-resample time x "
        f"{args.resamples})",
        "speedup": base_total / ours["wall_s"],
        "speedup_cpu": base_cpu_total / ours["cpu_s"],
        # no extrapolation: the baseline with only its few resamples against ours with all of them
        "speedup_cpu_measured_lower_bound": (base["point_cpu_s"] + base["per_resample_cpu_s"] * args.baseline_resamples)
        / ours["cpu_s"],
        "speedup_wall_measured_lower_bound": base["wall_s_measured"] / ours["wall_s"],
        "memory_ratio_baseline_over_ours": base["compute_peak_mb"] / max(ours["compute_peak_mb"], 1e-9),
        "memory_growth_small_to_full_mb": ours["compute_peak_mb"] - ours_small["compute_peak_mb"],
        "max_abs_point_difference_vs_sklearn": max_point_difference(ours["points"], base["points"]),
        "auprc_ci_width_max": max(ours["auprc_ci_width"].values()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
