"""Interoperability with Label Studio: a project's tasks out as Label Studio JSON (human labels
as annotations, a decision log's verdicts as predictions) with a labeling config generated
from the policy, and Label Studio exports back in as items, tasks, external annotators'
labels and Decisions.

One Label Studio task per item; its `data` holds `text` and, under `charter`, the item's
other fields (`item`), the categories under review (`categories`) and the exported decision
records keyed by prediction `model_version` (`decisions`). Results use the control names of
`charter.review.labelstudio_format`. Each current (not superseded) label of a non-gold task is
one annotation: `completed_by` `{"email": <username>}`, `created_at`, and `lead_time` when the
label was made under a lease (leased_at to submission). Skips, corrections' history, gold
tasks and adjudications are not exported.

On import, an annotation with results for several categories gives one label per category,
made by an external annotator (an account that cannot log in) named by the annotation's
`completed_by` email (or `labelstudio-user-<id>` for a bare user id); a `lead_time` is kept as
a submitted lease ending at `created_at`, which is how the store times every label.
Cancelled (skipped) annotations are counted and left out. A prediction becomes a Decision:
the decision record exported with it when there is one (its verdicts must agree with the
prediction's results), else a Decision of pathway `external` under the project's policy.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.policy.spec import Category, Policy
from charter.records import ContentItem, Decision
from charter.review.clock import resolve_now
from charter.review.grouping import CurrentLabel, current_label_views
from charter.review.labelstudio_format import (
    CategoryAnswer,
    LSAnnotation,
    LSPrediction,
    LSTask,
    parse_results,
    render_results,
    timestamp,
)
from charter.review.models import Assignment, Item, LabelRow, Project, Task, User
from charter.review.projects import project_policy, require_project_policy
from charter.review.tasks import TaskSpec, add_tasks, store_items
from charter.review.users import create_user
from charter.review.validation import check_answers

CHARTER_KEY = "charter"
MAX_USERNAME = 100


@dataclass(frozen=True)
class LabelStudioImport:
    """What an import created: tasks, how many labels, the items and the predictions as Decisions."""

    tasks: list[Task]
    items: list[ContentItem]
    labels: int
    annotators: list[str]
    cancelled: int
    decisions: list[Decision]


# --------------------------------------------------------------------------- export


def _wanted(policy: Policy, categories: Sequence[str] | None) -> list[str]:
    if not categories:
        return policy.category_ids()
    unknown = [c for c in categories if policy.category(c) is None]
    if unknown:
        raise CharterError(f"policy {policy.id}@{policy.version} has no category {', '.join(unknown)} "
                           f"(categories: {', '.join(policy.category_ids())})")
    return [c for c in policy.category_ids() if c in categories]


def _category_nodes(decision: Decision, category: str) -> list[str]:
    """The decision's visited nodes in one category (`category/node` entries, or bare ones when
    the decision concerns one category)."""
    single = len(decision.labels) == 1
    nodes = []
    for entry in decision.tree_path:
        owner, _, node = entry.rpartition("/")
        if owner == category or (not owner and single):
            nodes.append(node)
    return nodes


def _answers_for_path(category: Category, nodes: list[str], verdict: str, rule_ids: set[str]) -> dict[str, str] | None:
    """The answers that take `nodes` to an outcome with `verdict`, when each step has exactly one."""
    tree = category.tree
    if not nodes or nodes[0] != tree.root:
        return None
    answers = {}
    for position, node_id in enumerate(nodes):
        node = tree.nodes.get(node_id)
        if node is None:
            return None
        if position + 1 < len(nodes):
            fits = [a for a, target in node.branches().items() if target == nodes[position + 1]]
        else:
            fits = [a for a, target in node.branches().items() if target in tree.outcomes
                    and tree.outcomes[target].label == verdict and set(tree.outcomes[target].rule_ids) <= rule_ids]
        if len(fits) != 1:
            return None
        answers[node_id] = fits[0]
    return answers


def _prediction(policy: Policy, decision: Decision, key: str, categories: list[str]) -> dict[str, Any] | None:
    results = []
    scores = []
    for category_id in categories:
        verdict = decision.labels.get(category_id)
        if verdict is None:
            continue
        category = policy.category(category_id)
        rules = [r for r in decision.rule_ids if category.rule(r) is not None]
        nodes = _category_nodes(decision, category_id)
        answers = _answers_for_path(category, nodes, verdict, set(rules))
        score = decision.scores.get(category_id)
        if score is not None:
            scores.append(score)
        results += render_results(category_id, seed=f"{decision.item_id}\0prediction\0{key}", verdict=verdict,
                                  rule_ids=rules, path=nodes if answers else (), answers=answers, score=score,
                                  origin="prediction")
    if not results:
        return None
    out: dict[str, Any] = {"model_version": key, "result": results}
    if scores:
        out["score"] = max(scores)
    return out


def _decisions_by_item(project: Project, decisions: Iterable[Decision], item_ids: set[str]) -> dict[str, list[Decision]]:
    grouped: dict[str, list[Decision]] = defaultdict(list)
    for decision in decisions:
        require_project_policy(project, decision)
        if decision.item_id in item_ids:
            grouped[decision.item_id].append(decision)
    return grouped


def _lead_times(session: Session, project: Project) -> dict[int, dt.datetime]:
    """Label id -> when the lease it was submitted under began."""
    query = (select(LabelRow.id, Assignment.leased_at)
             .join(Assignment, Assignment.id == LabelRow.assignment_id)
             .join(Task, Task.id == LabelRow.task_id)
             .where(Task.project_id == project.id))
    return dict(session.execute(query).all())


def _annotation(label: CurrentLabel, item_id: str, category: str, username: str, leased_at: dt.datetime | None) -> dict[str, Any]:
    annotation: dict[str, Any] = {
        "completed_by": {"email": username},
        "created_at": timestamp(label.created_at),
        "was_cancelled": False,
        "ground_truth": False,
        "result": render_results(category, seed=f"{item_id}\0annotation\0{username}", verdict=label.verdict,
                                 rule_ids=label.rule_ids, path=label.tree_path, answers=label.answers, note=label.note),
    }
    if leased_at is not None:
        annotation["lead_time"] = round((label.created_at - leased_at).total_seconds(), 6)
    return annotation


def export_labelstudio(
    session: Session,
    project: Project,
    *,
    decisions: Iterable[Decision] = (),
    categories: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Label Studio tasks for the project's non-gold tasks in `categories` (default: all), one
    per item in the order items entered the project; `decisions` (a decision log under the
    project's policy) become predictions of the items they concern."""
    policy = project_policy(project)
    wanted = _wanted(policy, categories)
    tasks = list(session.scalars(
        select(Task).where(Task.project_id == project.id, Task.is_gold.is_(False), Task.category.in_(wanted))
        .order_by(Task.item_id, Task.id)))
    if not tasks:
        raise CharterError(f"project {project.name!r} has no tasks in {', '.join(wanted)} to export")
    items = {row.id: row for row in session.scalars(select(Item).where(Item.project_id == project.id))}
    task_of = {task.id: task for task in tasks}
    labels: dict[int, list[CurrentLabel]] = defaultdict(list)
    for label in current_label_views(session, project, gold=False):
        if label.task_id in task_of:
            labels[task_of[label.task_id].item_id].append(label)
    reviewer_ids = {label.reviewer_id for group in labels.values() for label in group}
    usernames = dict(session.execute(select(User.id, User.username).where(User.id.in_(list(reviewer_ids)))).all())
    leases = _lead_times(session, project)
    by_item = _decisions_by_item(project, decisions, {row.external_id for row in items.values()})
    by_item_categories: dict[int, set[str]] = defaultdict(set)
    for task in tasks:
        by_item_categories[task.item_id].add(task.category)
    out = []
    for item_row_id in sorted(by_item_categories):
        row = items[item_row_id]
        item = ContentItem.model_validate(row.content)
        exported = [c for c in wanted if c in by_item_categories[item_row_id]]
        charter: dict[str, Any] = {"item": item.model_dump(mode="json", exclude={"text"}), "categories": exported}
        predictions, records = [], {}
        for decision in by_item.get(item.id, []):
            base = f"{decision.pathway}:{decision.model_version}" if decision.model_version else decision.pathway
            key, n = base, 1
            while key in records:
                n += 1
                key = f"{base}#{n}"
            prediction = _prediction(policy, decision, key, wanted)
            if prediction is not None:
                predictions.append(prediction)
                records[key] = decision.model_dump(mode="json")
        if records:
            charter["decisions"] = records
        ordered = sorted(labels.get(item_row_id, []), key=lambda label: (
            label.created_at, wanted.index(task_of[label.task_id].category), usernames[label.reviewer_id]))
        annotations = [
            _annotation(label, item.id, task_of[label.task_id].category, usernames[label.reviewer_id], leases.get(label.id))
            for label in ordered
        ]
        out.append({"data": {"text": item.text, CHARTER_KEY: charter}, "annotations": annotations,
                    "predictions": predictions})
    return out


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class _ImportedLabel:
    annotator: str
    created_at: dt.datetime
    lead_time: float | None
    verdict: str
    rule_ids: list[str]
    tree_path: list[str]
    answers: dict[str, str]
    note: str | None


def _charter_data(task: LSTask, index: int) -> dict[str, Any]:
    charter = task.data.get(CHARTER_KEY, {})
    if not isinstance(charter, dict):
        raise CharterError(f"task {index}: data.{CHARTER_KEY} must be an object, found {type(charter).__name__}")
    for key, kind in (("item", dict), ("categories", list), ("decisions", dict)):
        if key in charter and not isinstance(charter[key], kind):
            raise CharterError(f"task {index}: data.{CHARTER_KEY}.{key} must be a JSON "
                               f"{'object' if kind is dict else 'list'}, found {type(charter[key]).__name__}")
    return charter


def _item(task: LSTask, index: int, charter: Mapping[str, Any]) -> ContentItem:
    text = task.data.get("text")
    if not isinstance(text, str):
        raise CharterError(f"task {index}: data.text is missing or not a string (the labeling config shows $text)")
    fields = dict(charter.get("item", {}))
    if "id" not in fields:
        if task.id is None:
            raise CharterError(f"task {index}: no item id: give data.{CHARTER_KEY}.item.id or the task's id")
        fields["id"] = f"labelstudio-{task.id}"
    try:
        return ContentItem.model_validate({**fields, "text": text})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CharterError(f"task {index}: data.{CHARTER_KEY}.item.{where}: {first['msg']}") from None


def _annotator(annotation: LSAnnotation, where: str) -> str:
    who = annotation.completed_by
    if isinstance(who, dict):
        email = who.get("email")
        if isinstance(email, str) and email.strip():
            name = email.strip()
        elif isinstance(who.get("id"), int):
            name = f"labelstudio-user-{who['id']}"
        else:
            raise CharterError(f"{where}: completed_by has neither an email nor a user id")
    elif isinstance(who, bool) or who is None:
        raise CharterError(f"{where}: completed_by is missing: Charter needs to know who labelled "
                           "(a Label Studio user id or {\"email\": ...})")
    elif isinstance(who, int):
        name = f"labelstudio-user-{who}"
    else:
        name = who.strip()
        if not name:
            raise CharterError(f"{where}: completed_by is empty")
    if len(name) > MAX_USERNAME:
        raise CharterError(f"{where}: completed_by {name[:40]!r}... is longer than {MAX_USERNAME} characters")
    return name


def _utc(value: dt.datetime | None, where: str) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise CharterError(f"{where}: created_at {value.isoformat()} has no time zone (Label Studio writes UTC with a Z)")
    return value.astimezone(dt.UTC)


def _checked(category: Category, answer: CategoryAnswer, where: str, *, outcome_rules: bool
             ) -> tuple[str, list[str], list[str], dict[str, str]]:
    """Verdict, rule ids, tree path and answers of one category's results. A human's rules must
    be the reached outcome's (`outcome_rules`); a machine may cite others of the category."""
    if answer.answers:
        try:
            checked = check_answers(category, answer.answers, verdict=answer.verdict,
                                    rule_ids=answer.rule_ids if outcome_rules else None)
        except CharterError as exc:
            raise CharterError(f"{where}: {exc.message}", exc.problems) from None
        rules = checked.rule_ids if outcome_rules or answer.rule_ids is None else answer.rule_ids
        return checked.verdict, rules, checked.tree_path, checked.answers
    if answer.verdict is None:
        raise CharterError(f"{where}: no verdict for {category.id}: give {category.id}.verdict or answer its tree")
    return answer.verdict, list(answer.rule_ids or []), [], {}


def _labels(policy: Policy, annotation: LSAnnotation, where: str, now: dt.datetime) -> dict[str, _ImportedLabel]:
    annotator = _annotator(annotation, where)
    created_at = _utc(annotation.created_at, where) or now
    out = {}
    for category_id, answer in parse_results(policy, annotation.result, where).items():
        verdict, rule_ids, path, answers = _checked(policy.category(category_id), answer, f"{where} ({category_id})",
                                                    outcome_rules=True)
        out[category_id] = _ImportedLabel(annotator, created_at, annotation.lead_time, verdict, rule_ids, path,
                                          answers, answer.note)
    return out


def _score(value: float | None, where: str) -> float | None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise CharterError(f"{where}: score {value} is not a probability in [0, 1]")
    return value


def _decision(project: Project, item: ContentItem, prediction: LSPrediction, records: Mapping[str, Any], where: str) -> Decision:
    policy = project_policy(project)
    parsed = parse_results(policy, prediction.result, where)
    labels, scores, rule_ids, path = {}, {}, [], []
    for category_id, answer in parsed.items():
        verdict, rules, nodes, _ = _checked(policy.category(category_id), answer, f"{where} ({category_id})",
                                            outcome_rules=False)
        labels[category_id] = verdict
        rule_ids += [r for r in rules if r not in rule_ids]
        path += [f"{category_id}/{node}" for node in nodes]
        score = _score(answer.score, where)
        if score is None and len(parsed) == 1:
            score = _score(prediction.score, where)
        if score is not None:
            scores[category_id] = score
    record = records.get(prediction.model_version or "")
    if record is None:
        return Decision(item_id=item.id, pathway="external", policy_id=project.policy_id,
                        policy_version=project.policy_version, policy_hash=project.policy_hash, scores=scores,
                        labels=labels, rule_ids=rule_ids, tree_path=path, model_version=prediction.model_version,
                        decided_at=_utc(prediction.created_at, where))
    try:
        decision = Decision.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"])
        raise CharterError(f"{where}: data.{CHARTER_KEY}.decisions[{prediction.model_version!r}].{field_name}: "
                           f"{first['msg']}") from None
    if decision.item_id != item.id:
        raise CharterError(f"{where}: the decision record is for item {decision.item_id!r}, not {item.id!r}")
    differ = [f"{c}: {v} in the results, {decision.labels.get(c)} in the record"
              for c, v in labels.items() if decision.labels.get(c) != v]
    if differ:
        raise CharterError(f"{where}: the prediction's results and its decision record disagree ({'; '.join(differ)})")
    return decision


def _accounts(session: Session, names: set[str], now: dt.datetime) -> dict[str, int]:
    """Existing users by name, and an external annotator account for each new name."""
    ids = dict(session.execute(select(User.username, User.id).where(User.username.in_(list(names)))).all()) if names else {}
    for name in sorted(names - set(ids)):
        ids[name] = create_user(session, name, None, "reviewer", now=now).id
    return ids


def import_labelstudio(
    session: Session,
    project: Project,
    tasks: Sequence[LSTask],
    *,
    categories: Sequence[str] | None = None,
    overlap: int = 1,
    queue_id: str | None = None,
    now: dt.datetime | None = None,
) -> LabelStudioImport:
    """Items and tasks (source dataset_import) for Label Studio tasks, their annotations as
    labels and their predictions as Decisions. A task reviews the categories its
    data.charter.categories names and those its annotations answer, else `categories`; each
    task's overlap is its number of annotators, at least `overlap`."""
    now = resolve_now(now)
    policy = project_policy(project)
    fallback = _wanted(policy, categories) if categories else []
    specs: list[TaskSpec] = []
    imported: list[dict[str, _ImportedLabel]] = []  # aligned with specs: annotator -> label
    items: list[ContentItem] = []
    decisions: list[Decision] = []
    seen: dict[str, int] = {}
    cancelled = 0
    for index, task in enumerate(tasks):
        charter = _charter_data(task, index)
        item = _item(task, index, charter)
        if item.id in seen:
            raise CharterError(f"task {index}: item {item.id!r} is already task {seen[item.id]} of this file")
        seen[item.id] = index
        items.append(item)
        by_category: dict[str, dict[str, _ImportedLabel]] = defaultdict(dict)
        for number, annotation in enumerate(task.annotations):
            if annotation.was_cancelled:
                cancelled += 1
                continue
            where = f"task {index}, annotation {number}"
            for category_id, label in _labels(policy, annotation, where, now).items():
                if label.annotator in by_category[category_id]:
                    raise CharterError(f"{where}: {label.annotator!r} labels {category_id} twice on this task")
                by_category[category_id][label.annotator] = label
        named = charter.get("categories", [])
        unknown = [c for c in named if not isinstance(c, str) or policy.category(c) is None]
        if unknown:
            raise CharterError(f"task {index}: data.{CHARTER_KEY}.categories names {', '.join(map(repr, unknown))}, not "
                               f"categories of policy {policy.id}@{policy.version} ({', '.join(policy.category_ids())})")
        wanted = set(named) | set(by_category)
        if not wanted:
            wanted = set(fallback)
        if not wanted:
            raise CharterError(f"task {index}: names no category to review: list them in data.{CHARTER_KEY}.categories, "
                               "annotate them, or pass categories")
        for category_id in policy.category_ids():
            if category_id in wanted:
                answers = by_category.get(category_id, {})
                specs.append(TaskSpec(item, category_id, "dataset_import", queue_id=queue_id,
                                      overlap=max(len(answers), overlap),
                                      origin={"labelstudio_task": task.id, "imported_annotations": len(answers)}))
                imported.append(answers)
        records = charter.get("decisions", {})
        for number, prediction in enumerate(task.predictions):
            decisions.append(_decision(project, item, prediction, records, f"task {index}, prediction {number}"))
    if not specs:
        raise CharterError("no Label Studio tasks to import")
    created = add_tasks(session, project, specs, now=now)
    if len(created) < len(specs):
        done = {(t.item_id, t.category) for t in created}
        rows = store_items(session, project, items)
        again = [f"{spec.item.id} ({spec.category})" for spec in specs if (rows[spec.item.id].id, spec.category) not in done]
        raise CharterError(f"{len(again)} item/category pair(s) were already imported into project {project.name!r}, "
                           f"e.g. {', '.join(again[:3])}")
    annotators = sorted({name for answers in imported for name in answers})
    users = _accounts(session, set(annotators), now)
    leases = {}
    for task_row, answers in zip(created, imported):
        for name, label in answers.items():
            if label.lead_time is not None:
                leases[(task_row.id, name)] = Assignment(
                    task_id=task_row.id, reviewer_id=users[name], status="submitted", expires_at=label.created_at,
                    leased_at=label.created_at - dt.timedelta(seconds=label.lead_time))
    session.add_all(leases.values())
    session.flush()
    rows = [
        dict(task_id=task_row.id, reviewer_id=users[name], assignment_id=leases[(task_row.id, name)].id
             if (task_row.id, name) in leases else None, supersedes_id=None, verdict=label.verdict,
             tree_path=label.tree_path, answers=label.answers, rule_ids=label.rule_ids, note=label.note,
             skipped_reason=None, origin="import", created_at=label.created_at)
        for task_row, answers in zip(created, imported)
        for name, label in answers.items()
    ]
    if rows:
        session.execute(insert(LabelRow.__table__), rows)
    return LabelStudioImport(tasks=created, items=items, labels=len(rows), annotators=annotators,
                             cancelled=cancelled, decisions=decisions)
