"""A demo review project on real data: items from the vendored dataset sample (mapped onto
the policy's categories, so their dataset labels can serve as gold), demo accounts for each
role, overlap 2 and some gold questions; what `charter review serve` starts with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.compile import compile_policy, load_bundle, write_bundle
from charter.compile.bundle import MANIFEST
from charter.compile.loader import LoadedBundle
from charter.datasets import apply_mapping, dataset_names, load_mapping, load_split
from charter.datasets.paths import sample_file
from charter.errors import CharterError
from charter.io.labelled import LabelledItems
from charter.policy.load import load_policy_source
from charter.policy.spec import Policy
from charter.review.enqueue import import_dataset
from charter.review.models import Project, User
from charter.review.projects import create_project
from charter.review.users import create_user

DEMO_PASSWORD = "charter-demo"
DEMO_USERS = (("alice", "reviewer"), ("bob", "reviewer"), ("lena", "lead"), ("ada", "admin"))


@dataclass(frozen=True)
class DemoImport:
    """One slice of the demo: `limit` items of a dataset split, for `categories`, in `queue`."""

    dataset: str
    split: str
    categories: tuple[str, ...]
    limit: int
    queue: str | None


# English sets whose mapped labels are real gold; the standard queue is open to reviewers,
# the specialist one only to leads, so the demo shows both views.
DEMO_IMPORTS = (
    DemoImport("hatexplain", "test", ("hate",), 24, "standard_review"),
    DemoImport("sms-spam", "test", ("spam_scams",), 16, "standard_review"),
    DemoImport("davidson", "test", ("hate",), 6, None),
)


@dataclass(frozen=True)
class DemoSeed:
    project: Project
    users: list[tuple[str, str]]
    tasks: int
    gold: int


def example_bundle(folder: Path) -> LoadedBundle:
    """The example policy compiled into `folder` (compiled there on first use, then reused)."""
    if not (folder / MANIFEST).is_file():
        source = load_policy_source(Path(str(resources.files("charter.examples") / "policy.yaml")))
        write_bundle(compile_policy(source.policy, source), folder)
    return load_bundle(folder)


def sample_datasets() -> list[str]:
    """Datasets whose vendored sample ships with Charter (importable on any machine)."""
    return [name for name in dataset_names() if sample_file(name).is_file()]


def sample_labelled(
    policy: Policy, dataset: str, split: str, categories: Sequence[str], limit: int, *, seed: int = 0
) -> LabelledItems:
    """`limit` items of the vendored sample of `dataset` whose mapped label is known for
    one of `categories`, drawn with a seed, each with its dataset label as gold."""
    if limit < 1:
        raise CharterError(f"limit must be at least 1 item, got {limit}")
    mapped = apply_mapping(load_split(dataset, split, source="sample"), load_mapping(dataset, policy), policy)
    missing = [c for c in categories if c not in mapped.verdicts.columns]
    if missing:
        raise CharterError(f"the {dataset} label mapping does not cover {', '.join(missing)} "
                           f"(it covers {', '.join(mapped.verdicts.columns)})")
    known = [i for i, label in enumerate(mapped.labels) if any(c in label.labels for c in categories)]
    order = np.random.default_rng(seed).permutation(len(known))[:limit]
    chosen = sorted(known[k] for k in order)
    items = [mapped.items[i] for i in chosen]
    labels = [mapped.labels[i].model_copy(update={"labels": {c: v for c, v in mapped.labels[i].labels.items()
                                                             if c in categories}}) for i in chosen]
    meta = {"dataset": dataset, "split": split, "source": mapped.source, "mapping": mapped.mapping.ref}
    return LabelledItems(items, labels, list(categories), meta)


def seed_demo(
    session: Session,
    bundle: LoadedBundle,
    *,
    project_name: str = "demo",
    password: str = DEMO_PASSWORD,
    overlap: int = 2,
    gold_share: float = 0.2,
    gold_rate: float = 0.2,
    imports: Sequence[DemoImport] = DEMO_IMPORTS,
    seed: int = 0,
    now: dt.datetime | None = None,
) -> DemoSeed:
    """Create the demo accounts (those not there yet) and a project filled from the sample."""
    if session.scalar(select(Project.id).where(Project.name == project_name)) is not None:
        raise CharterError(f"project {project_name!r} already exists; the demo was seeded before")
    users = []
    for username, role in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, username, password, role, now=now)
            users.append((username, role))
    project = create_project(session, project_name, bundle, gold_rate=gold_rate, now=now)
    tasks = []
    for part in imports:
        labelled = sample_labelled(bundle.policy, part.dataset, part.split, part.categories, part.limit, seed=seed)
        tasks += import_dataset(session, project, labelled, queue_id=part.queue, overlap=overlap,
                                gold_share=gold_share, seed=seed, now=now)
    return DemoSeed(project, users, len(tasks), sum(t.is_gold for t in tasks))
