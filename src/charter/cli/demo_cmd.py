"""`charter demo`: the whole loop on the embedded defaults (example policy + vendored sample):
write → lint → compile → train → tune → enforce → measure → comply, each step's output on disk."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import typer

from charter.cli.common import console, user_errors
from charter.cli.compile_cmd import print_summary
from charter.cli.eval_cmd import run_eval, summary_table
from charter.compile import compile_policy, load_bundle, write_bundle
from charter.dsa.config import PlatformConfig
from charter.dsa.export import batches, build_statements
from charter.datasets import apply_mapping, get_info, gold_arrays, load_mapping, load_split
from charter.datasets.apply import MappedSplit
from charter.engines.classifier import ClassifierEngine, TrainedClassifier, save_model, train_classifier
from charter.evaluate import TierTargets
from charter.io.labelled import write_labelled_items
from charter.policy.diff import diff_policies
from charter.policy.lint import lint_policy
from charter.policy.load import load_policy_source
from charter.policy.spec import Policy
from charter.report.evaluation import EvalOptions
from charter.store.decision_log import write_decision_log
from charter.tune import tune_bundle

DEMO_DATASETS = ("davidson", "hatexplain", "olid", "germeval2018", "toxic-spans", "sms-spam")


def example_policy_path(name: str = "policy.yaml") -> Path:
    return Path(str(resources.files("charter.examples") / name))


def _mapped(policy: Policy, split: str, datasets: tuple[str, ...]) -> list[MappedSplit]:
    """The datasets' `split` (those that have one), mapped onto the policy's categories."""
    return [
        apply_mapping(load_split(name, split, source="sample"), load_mapping(name, policy), policy)
        for name in datasets
        if get_info(name).split_name(split)
    ]


def _flatten(parts: list[MappedSplit]):
    items = [item for part in parts for item in part.items]
    labels = [label for part in parts for label in part.labels]
    return items, labels


@dataclass(frozen=True)
class SampleModel:
    """The fast classifier trained on the vendored sample, and what it was trained on."""

    model: TrainedClassifier
    items: int
    gold: dict[str, np.ndarray]
    mappings: dict[str, str]


def train_sample_classifier(policy: Policy) -> SampleModel:
    """The fast classifier trained on the vendored sample's train splits mapped onto `policy`:
    what `charter demo` enforces and what a bare `charter serve` serves, offline in seconds."""
    train_items, train_labels = _flatten(_mapped(policy, "train", DEMO_DATASETS))
    categories = sorted({c for label in train_labels for c in label.labels})
    gold = gold_arrays(train_labels, categories)
    mappings = {name: load_mapping(name, policy).version for name in DEMO_DATASETS}
    model = train_classifier([i.text for i in train_items], gold, policy, label_mappings=mappings)
    return SampleModel(model, len(train_items), gold, mappings)


def _step(number: int, title: str) -> None:
    console.rule(f"[bold]{number}. {title}", align="left")


@user_errors
def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Where to write the bundle, model, logs, report."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples for intervals."),
) -> None:
    """Run the loop on the example policy and the vendored sample of real datasets."""
    out.mkdir(parents=True, exist_ok=True)

    _step(1, "Write: the example policy, linted")
    loaded = load_policy_source(example_policy_path())
    policy = loaded.policy
    report = lint_policy(policy, loaded)
    console.print(
        f"{loaded.file}: {len(policy.categories)} categories, "
        f"{sum(len(c.rules) for c in policy.categories)} rules, "
        f"{sum(len(c.examples) for c in policy.categories)} examples · "
        f"lint: {len(report.errors)} errors, {len(report.warnings)} warnings",
        highlight=False,
    )
    newer = load_policy_source(example_policy_path("policy_v1_1.yaml")).policy
    diff = diff_policies(policy, newer)
    kinds = Counter(change.kind for change in diff.changes)
    console.print(
        f"next release {newer.version}: {len(diff.changes)} changes ("
        + ", ".join(f"{n} {k}" for k, n in kinds.most_common())
        + f"); needs a {diff.required_bump()} bump",
        highlight=False,
    )

    _step(2, "Compile: one policy into every enforcement artifact")
    bundle_dir = write_bundle(compile_policy(policy, loaded), out / "bundle")
    print_summary(load_bundle(bundle_dir), f"bundle {bundle_dir}")

    _step(3, "Train: the fast classifier on policy-mapped real data (sample train splits)")
    sample = train_sample_classifier(policy)
    model, gold, mappings = sample.model, sample.gold, sample.mappings
    categories = sorted(gold)
    model_dir = save_model(model, out / "model")
    console.print(
        f"{model.card.model_id}: {sample.items} items from {len(DEMO_DATASETS)} datasets; "
        + ", ".join(f"{c} {int(np.nansum(gold[c]))}/{int((~np.isnan(gold[c])).sum())}" for c in categories)
        + f" (violating/labelled) → {model_dir}",
        highlight=False,
    )

    _step(4, "Tune: thresholds per action tier on the validation splits, written into the bundle")
    val_items, val_labels = _flatten(_mapped(policy, "val", DEMO_DATASETS))
    engine = ClassifierEngine(model, load_bundle(bundle_dir))
    targets = TierTargets(auto_action_precision=0.9, review_precision=None, review_recall=0.9)
    tuned = tune_bundle(
        bundle_dir,
        engine.decide(val_items),
        val_items,
        val_labels,
        targets=targets,
        source={"dataset": "+".join(DEMO_DATASETS) + " (vendored sample)", "split": "val", "model": model.card.model_id},
    )
    for result in tuned:
        new = result.tiers
        if result.applied:
            console.print(
                f"{result.category}: auto_action {result.previous['auto_action']:.2f} → {new.auto_action.threshold:.3f}, "
                f"review {result.previous['review']:.2f} → {new.review.threshold:.3f}",
                highlight=False,
            )
        else:
            console.print(f"{result.category}: kept policy thresholds ({result.reason})", highlight=False)

    _step(5, "Enforce: the classifier engine decides held-out test items under the tuned bundle")
    test_parts = _mapped(policy, "test", DEMO_DATASETS)
    test_items, test_labels = _flatten(test_parts)
    engine = ClassifierEngine(model, load_bundle(bundle_dir))
    decisions = engine.decide(test_items)
    log_path = write_decision_log(decisions, out / "decisions.parquet")
    # One gold file needs one source stamp; each item's metadata still names its dataset.
    mix = {"annotator_id": "dataset:sample-mix", "model_version": "mappings:" + ",".join(f"{k}@{v}" for k, v in mappings.items())}
    gold_path = write_labelled_items(
        out / "gold_test.parquet",
        test_items,
        [label.model_copy(update=mix) for label in test_labels],
        categories,
        dataset="+".join(DEMO_DATASETS),
        split="test",
    )
    actions = Counter(d.action for d in decisions)
    console.print(
        f"{len(decisions)} decisions → {log_path}; actions: " + ", ".join(f"{a} {n}" for a, n in actions.most_common()),
        highlight=False,
    )

    _step(6, "Measure: precision, recall, F1 with intervals, curves, calibration, slices")
    run, html_path, json_path = run_eval(
        log_path,
        gold_path,
        out / "report",
        title="Fast classifier on the vendored sample (test splits)",
        options=EvalOptions(n_boot=n_boot, slice_columns=["language", "metadata.dataset"], min_support=20),
    )
    console.print(summary_table(run))
    console.print(f"report: [bold]{html_path}[/] (opens offline) · numbers: {json_path}", highlight=False)

    _step(7, "Comply: EU DSA statements of reasons for every restriction")
    export = build_statements(decisions, test_items, policy, PlatformConfig(puid_prefix="charter-demo"))
    sor_dir = out / "dsa"
    sor_dir.mkdir(exist_ok=True)
    for old in sor_dir.glob("batch_*.json"):
        old.unlink()
    for number, body in enumerate(batches(export.statements), start=1):
        (sor_dir / f"batch_{number:04d}.json").write_text(json.dumps(body, indent=1), encoding="utf-8")
    summary = export.summary()
    console.print(
        f"{summary['statements']} statements in {summary['batches']} API batches (≤100 each, all validated) → {sor_dir}; "
        f"no statement for: {summary['without_statement']}; by category: {summary['by_category']}",
        highlight=False,
    )
