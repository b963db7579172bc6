"""Review projects: each is bound to one compiled policy (id, version, hash) and keeps that
policy's JSON, so every label is validated against exactly the tree reviewers were shown."""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.compile.loader import LoadedBundle
from charter.compile.paths import POLICY_FILE
from charter.compile.view import fallback_queue
from charter.errors import CharterError
from charter.policy.hashing import identity
from charter.policy.spec import Category, Policy, Queue
from charter.records import Decision
from charter.review.clock import resolve_now
from charter.review.models import Project


def create_project(
    session: Session, name: str, bundle: LoadedBundle, *, gold_rate: float = 0.0, now: dt.datetime | None = None
) -> Project:
    """A project reviewing under `bundle`'s policy; `gold_rate` is the share of served tasks
    that are gold questions while gold questions remain."""
    name = name.strip()
    if not name:
        raise CharterError("project name must not be empty")
    if not 0.0 <= gold_rate < 1.0:
        raise CharterError(f"gold_rate must be in [0, 1), got {gold_rate}")
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise CharterError(f"project {name!r} already exists")
    project = Project(
        name=name,
        policy_id=bundle.identity.id,
        policy_version=bundle.identity.version,
        policy_hash=bundle.identity.hash,
        policy_json=bundle.files[POLICY_FILE].decode("utf-8"),
        bundle_path=str(bundle.root),
        gold_rate=gold_rate,
        created_at=resolve_now(now),
    )
    session.add(project)
    session.flush()
    return project


def get_project(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise CharterError(f"no review project {name!r}")
    return project


@functools.lru_cache(maxsize=16)
def _parse(policy_json: str, policy_hash: str) -> Policy:
    policy = Policy.model_validate_json(policy_json)
    if identity(policy).hash != policy_hash:
        raise CharterError(f"the stored policy no longer matches its hash {policy_hash[:12]}; the store was altered")
    return policy


def project_policy(project: Project) -> Policy:
    """The policy a project reviews under (parsed once per hash, hash re-checked)."""
    return _parse(project.policy_json, project.policy_hash)


def project_category(project: Project, category_id: str) -> Category:
    category = project_policy(project).category(category_id)
    if category is None:
        known = ", ".join(project_policy(project).category_ids())
        raise CharterError(f"project {project.name!r}: policy has no category {category_id!r} (categories: {known})")
    return category


def project_queue(project: Project, queue_id: str) -> Queue:
    queue = project_policy(project).queue(queue_id)
    if queue is None:
        known = ", ".join(q.id for q in project_policy(project).queues) or "none"
        raise CharterError(f"project {project.name!r}: policy has no queue {queue_id!r} (queues: {known})")
    return queue


def default_queue(project: Project, category_id: str) -> Queue:
    """Where a category's tasks go unless told otherwise: its escalation queue, else the
    policy's fallback queue (the one the compiled routing table names)."""
    category = project_category(project, category_id)
    policy = project_policy(project)
    queue = policy.queue(category.escalation_queue) if category.escalation_queue else fallback_queue(policy)
    if queue is None:
        raise CharterError(f"project {project.name!r}: category {category_id!r} has no review queue and the policy none")
    return queue


def require_project_policy(project: Project, decision: Decision) -> None:
    """Refuse a decision made under another policy than the one `project` reviews under: its
    scores and verdicts would be read against the wrong rules."""
    if decision.policy_hash != project.policy_hash:
        raise CharterError(
            f"decision for {decision.item_id!r} was made under policy {decision.policy_id}@{decision.policy_version} "
            f"({decision.policy_hash[:12]}), but project {project.name!r} reviews under "
            f"{project.policy_id}@{project.policy_version} ({project.policy_hash[:12]})")
