"""`charter demo`: the whole loop on the embedded defaults (example policy + vendored sample):
write → lint → compile → train → tune → enforce → measure → comply, each step's output on disk.

Enforcement runs the cascade (rules → classifier → human review, plus the LLM band with
--llm-url/--llm-embedded) through the service core into an operational store in the out
folder, and sends its escalations to a review project there, so `charter decisions export|dsa`
and `charter review serve` work on what the demo decided."""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import typer
from rich import box
from rich.table import Table

from charter.cli.common import console, user_errors
from charter.cli.compile_cmd import print_summary
from charter.cli.dsa_cmd import write_statements
from charter.cli.eval_cmd import run_eval, summary_table
from charter.cli.llm_cmd import open_backend
from charter.compile import compile_policy, load_bundle, write_bundle
from charter.datasets import (
    apply_mapping,
    get_info,
    gold_arrays,
    load_mapping,
    load_split,
)
from charter.datasets.apply import MappedSplit
from charter.datasets.blind import blind
from charter.dsa.config import PlatformConfig
from charter.engines.cascade import CascadeEngine
from charter.engines.classifier import (
    ClassifierEngine,
    TrainedClassifier,
    save_model,
    train_classifier,
)
from charter.engines.llm.backend import Backend
from charter.errors import CharterError
from charter.evaluate import TierTargets
from charter.io.labelled import write_labelled_items
from charter.policy.diff import diff_policies
from charter.policy.lint import lint_policy
from charter.policy.load import load_policy_source
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision, Label
from charter.report.evaluation import EvalOptions, EvalRun
from charter.review import (
    create_project,
    enqueue_escalations,
    make_engine,
    session_factory,
    session_scope,
)
from charter.service.batch import moderate_all, open_service
from charter.service.export import export_statements
from charter.service.stages import (
    GoldRouting,
    StageCounts,
    count_stages,
    explain,
    gold_routing,
    pick_examples,
)
from charter.service.store import ServiceStore
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


# Categories whose only labelled data is one kind of text (spam: SMS). Trained and tuned on that
# alone, the model scores every other kind of text at random for them and the cascade sends it
# to review; so the other datasets' texts (collected for hate and offense research) count as
# negatives there. Training and tuning only: evaluation grades against the datasets' own labels.
BACKGROUND_NEGATIVES = ("spam_scams",)


def with_background_negatives(labels: list[Label]) -> list[Label]:
    """`labels`, each one that does not label a `BACKGROUND_NEGATIVES` category marked allowed."""
    return [
        label.model_copy(update={"labels": {c: "allowed" for c in BACKGROUND_NEGATIVES} | label.labels})
        for label in labels
    ]


def train_sample_classifier(policy: Policy) -> SampleModel:
    """The fast classifier trained on the vendored sample's train splits mapped onto `policy`:
    what `charter demo` enforces and what a bare `charter serve` serves, offline in seconds."""
    train_items, train_labels = _flatten(_mapped(policy, "train", DEMO_DATASETS))
    train_labels = with_background_negatives(train_labels)
    categories = sorted({c for label in train_labels for c in label.labels})
    gold = gold_arrays(train_labels, categories)
    mappings = {name: load_mapping(name, policy).version for name in DEMO_DATASETS}
    model = train_classifier([i.text for i in train_items], gold, policy, label_mappings=mappings)
    return SampleModel(model, len(train_items), gold, mappings)


REVIEW_PROJECT = "demo-cascade"
STORE_FILE = "charter.db"
CLIENT = "charter demo"


def _step(number: int, title: str) -> None:
    console.rule(f"[bold]{number}. {title}", align="left")


def fresh_store(out: Path) -> str:
    """The URL of a new, empty SQLite store in `out` (a previous demo run's store is removed, so
    the store holds exactly this run's decisions and escalations)."""
    path = out / STORE_FILE
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def stage_table(counts: StageCounts, stages: list[str]) -> Table:
    """Share of decisions per stage (human review split by queue) beside the actions taken."""
    table = Table("decided by", "items", "share", box=box.SIMPLE_HEAD, show_edge=False)
    for stage in [*stages, *sorted(set(counts.stages) - set(stages))]:
        table.add_row(stage, f"{counts.stages[stage]:,}", f"{counts.share(counts.stages[stage]):.1%}")
        if stage == "human":
            for queue, n in counts.queues.most_common():
                table.add_row(f"  ↳ {queue or '(no queue)'}", f"{n:,}", f"{counts.share(n):.1%}", style="dim")
    actions = Table("action", "items", "share", box=box.SIMPLE_HEAD, show_edge=False)
    for action, n in counts.actions.most_common():
        actions.add_row(action, f"{n:,}", f"{counts.share(n):.1%}")
    grid = Table.grid(padding=(0, 6))
    grid.add_row(table, actions)
    return grid


def _gold_words(label: Label | None, category: str | None) -> str:
    verdicts = label.labels if label is not None else {}
    if category is not None:
        return f"gold {category}: {verdicts.get(category, 'not labelled')}"
    violating = [c for c, v in verdicts.items() if v == "violating"]
    return "gold: " + (", ".join(f"{c} violating" for c in violating) if violating else "nothing labelled violating")


def print_examples(decisions: list[Decision], items: list[ContentItem], labels: list[Label], engine: CascadeEngine) -> None:
    """A few real test items, what decided each and why, beside the dataset's gold label."""
    by_id = {item.id: item for item in items}
    gold = {label.item_id: label for label in labels}
    console.print("[bold]examples[/] (real test items; the texts may be offensive):", highlight=False)
    for decision in pick_examples(decisions):
        item = by_id[decision.item_id]
        account = explain(decision, engine.routing, item.market)
        text = " ".join(item.text.split())
        console.print(f"  [bold]{item.id}[/] \"{text[:90]}{'…' if len(text) > 90 else ''}\"", highlight=False)
        console.print(f"      → {decision.action} · {account.why} · {_gold_words(gold.get(item.id), account.category)}",
                      highlight=False)  # fmt: skip


def gold_routing_table(routes: list[GoldRouting]) -> Table:
    """Per category: where the gold-violating and gold-allowed test items went."""
    table = Table("category", "violating", "actioned", "to review", "let through", "allowed", "actioned", "to review",
                  box=box.SIMPLE_HEAD, show_edge=False)  # fmt: skip

    def share(counts: Counter[str], route: str) -> str:
        total = sum(counts.values())
        return f"{counts[route] / total:.0%}" if total else "—"

    for r in routes:
        table.add_row(r.category, f"{sum(r.violating.values()):,}", share(r.violating, "actioned"), share(r.violating, "review"),
                      share(r.violating, "allowed"), f"{sum(r.allowed.values()):,}", share(r.allowed, "actioned"),
                      share(r.allowed, "review"))  # fmt: skip
    return table


def comparison_table(cascade: EvalRun, classifier: EvalRun) -> Table:
    """Per category: the cascade's precision/recall/F1 beside the classifier's alone."""
    table = Table("category", "cascade P / R / F1", "classifier alone P / R / F1", box=box.SIMPLE_HEAD, show_edge=False)

    def cells(run: EvalRun, category: str) -> str:
        m = run.summary.categories[category]
        return " / ".join("—" if v is None else f"{v:.3f}" for v in (m.precision, m.recall, m.f1))

    for category in cascade.summary.categories:
        table.add_row(category, cells(cascade, category), cells(classifier, category))
    return table


@user_errors
def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Where to write the bundle, model, logs, store, report."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples for intervals."),
    llm_url: str = typer.Option(None, "--llm-url", help="Add the cascade's LLM band: an OpenAI-compatible server (or CHARTER_LLM_BASE_URL)."),
    llm_model: str = typer.Option(None, "--llm-model", help="Model name on that server (or CHARTER_LLM_MODEL)."),
    llm_embedded: bool = typer.Option(False, "--llm-embedded", help="Add the LLM band with a packaged model run in-process (offline; slow, low accuracy)."),
    llm_packaged: str = typer.Option("smollm2", "--llm-packaged", help="Packaged model for --llm-embedded: smollm2 (plumbing only) or qwen2.5-coder-1.5b."),
    llm_mode: str = typer.Option("single", "--llm-mode", help="single (one JSON verdict) or tree (one question per node)."),
) -> None:
    """Run the loop on the example policy and the vendored sample of real datasets. Without an
    LLM, the cascade sends its uncertain band to human review; with one, the LLM decides it
    first (one request per uncertain item and category)."""
    if llm_mode not in ("single", "tree"):
        raise CharterError(f"--llm-mode must be single or tree, not {llm_mode!r}")
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        backend = (
            stack.enter_context(open_backend(llm_url, llm_model, llm_embedded, 4, 3, None, None, None, llm_packaged))
            if llm_url or llm_model or llm_embedded
            else None
        )
        _run(out, n_boot, backend, llm_mode)


def _run(out: Path, n_boot: int, backend: Backend | None, llm_mode: str) -> None:
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
    val_labels = with_background_negatives(val_labels)
    engine = ClassifierEngine(model, load_bundle(bundle_dir))
    targets = TierTargets(auto_action_precision=0.9, review_precision=0.6)
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

    _step(5, "Enforce: the cascade decides held-out test items through the service core; escalations go to review")
    test_items, test_labels = _flatten(_mapped(policy, "test", DEMO_DATASETS))
    sent = blind(test_items)  # as a platform would send them: no dataset labels for engines or reviewers
    url = fresh_store(out)
    with open_service(url, bundle_dir, model_dir, llm_backend=backend, llm_mode=llm_mode) as service:
        cascade = service.active.snapshot().engine
        assert isinstance(cascade, CascadeEngine)
        client = service.create_key(CLIENT, ["moderate"])
        decisions = moderate_all(service, sent, api_key_id=client.info.id)
    log_path = write_decision_log(decisions, out / "decisions.parquet")
    console.print(
        f"{len(decisions):,} decisions by {cascade.name} under {cascade.identity}, committed to {url} "
        f"(client key {client.info.id}) → log {log_path}",
        highlight=False,
    )
    console.print(stage_table(count_stages(decisions), cascade.describe()["stages"]))
    print_examples(decisions, test_items, test_labels, cascade)
    with session_scope(session_factory(make_engine(url))) as session:
        project = create_project(session, REVIEW_PROJECT, load_bundle(bundle_dir))
        tasks = enqueue_escalations(session, project, decisions, sent)
    queues = Counter(task.queue_id for task in tasks)
    console.print(
        f"review: {len(tasks):,} tasks for {len({t.item_id for t in tasks}):,} escalated items in project "
        f"{REVIEW_PROJECT!r} (" + ", ".join(f"{q} {n:,}" for q, n in queues.most_common()) + ")"
        f"; label them: charter review serve --db {url}",
        highlight=False,
    )
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

    _step(6, "Measure: precision, recall, F1 with intervals, curves, calibration, slices")
    options = EvalOptions(n_boot=n_boot, slice_columns=["language", "metadata.dataset"], min_support=20)
    run, html_path, json_path = run_eval(
        log_path, gold_path, out / "report", title=f"Cascade ({cascade.name}) on the vendored sample (test splits)",
        options=options,
    )  # fmt: skip
    console.print(summary_table(run))
    console.print(f"report: [bold]{html_path}[/] (opens offline) · numbers: {json_path}", highlight=False)
    console.print("where the labelled test items went (scores count automatic actions only; the review band is "
                  "what reviewers still get to see):", highlight=False)  # fmt: skip
    console.print(gold_routing_table(gold_routing(decisions, test_labels, list(run.summary.categories))))
    if backend is not None:  # without an LLM band the cascade's automatic actions are the classifier's
        alone_log = write_decision_log(ClassifierEngine(model, load_bundle(bundle_dir)).decide(sent), out / "decisions_classifier.parquet")
        alone, alone_html, _ = run_eval(
            alone_log, gold_path, out / "report_classifier", title="Fast classifier alone on the vendored sample (test splits)",
            options=options,
        )  # fmt: skip
        console.print(comparison_table(run, alone))
        console.print(f"classifier-alone report: {alone_html}", highlight=False)

    _step(7, "Comply: EU DSA statements of reasons for every restriction, from the store")
    with contextlib.closing(ServiceStore(url)) as store:
        export = export_statements(store, PlatformConfig(puid_prefix="charter-demo"))
    sor_dir = out / "dsa"
    for old in [*sor_dir.glob("batch_*.json"), sor_dir / "summary.json"]:
        old.unlink(missing_ok=True)
    summary = write_statements(export.export, ", ".join(export.policies), sor_dir)
    console.print(
        f"{summary['statements']} statements in {summary['batches']} API batches (≤100 each, all validated) → {sor_dir}; "
        f"no statement for: {summary['without_statement']}; by category: {summary['by_category']}; "
        f"the same from the store any time: charter decisions dsa --db {url} -o DIR",
        highlight=False,
    )
