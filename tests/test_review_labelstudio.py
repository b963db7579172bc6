"""Label Studio interoperability: export a reviewed project as Label Studio JSON plus a
labeling config, import Label Studio exports back (labels from external annotators,
predictions as Decisions), and round-trip without loss.

tests/fixtures/labelstudio/export.json follows Label Studio's documented JSON export: tasks
with `data`, `annotations` (`completed_by`, `created_at`, `lead_time`, `was_cancelled`,
`result` regions with `from_name`/`to_name`/`type`/`value`) and `predictions`
(`model_version`, `score`, `result`), as at https://labelstud.io/guide/task_format and
https://labelstud.io/guide/predictions; `completed_by` appears both as a user object with an
email and as a bare user id (HumanSignal/label-studio#1184).
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from charter.cli import review_interop_cmd
from charter.errors import CharterError
from charter.policy.tree import walk
from charter.records import Decision
from charter.review import (
    Annotation,
    consensus,
    correct_label,
    create_project,
    enqueue_escalations,
    import_annotations,
    make_engine,
    migrate,
    next_task,
    project_policy,
    session_factory,
    skip_task,
    submit_label,
)
from charter.review.labelstudio import export_labelstudio, import_labelstudio
from charter.review.labelstudio_config import labeling_config
from charter.review.labelstudio_format import parse_tasks, read_tasks
from charter.review.models import Assignment, LabelRow, Task, User
from charter.review.tasks import TaskSpec, add_tasks
from review_support import T0, Store, answers_for, bundle, items, postgres_url, project, reviewers, store  # noqa: F401

FIXTURE = Path(__file__).parent / "fixtures" / "labelstudio" / "export.json"
MINUTE = dt.timedelta(minutes=1)


def _llm_decision(p, item_id: str, category, label: str) -> Decision:
    """An LLM-style decision whose tree path walks `category`'s tree to an outcome with `label`."""
    answers = answers_for(category, label)
    reached = walk(category.tree, answers)
    return Decision(item_id=item_id, pathway="llm", policy_id=p.policy_id, policy_version=p.policy_version,
                    policy_hash=p.policy_hash, labels={category.id: label}, scores={category.id: 0.55},
                    tree_path=[f"{category.id}/{n}" for n in reached.path], model_version="qwen-0.5b",
                    decision_id=f"d-{item_id}", decided_at=T0 - MINUTE, escalation_queue=None)


def _reviewed_project(session, bundle):
    """A project with escalations labelled by two reviewers through the tree (notes, a
    correction, a skip), verdict-only imported labels, a gold task, and the decisions."""
    p = project(session, bundle)
    policy = project_policy(p)
    hate = policy.category("hate")
    work = items(3)
    decisions = [_llm_decision(p, item.id, hate, "needs_review") for item in work]
    decisions.append(Decision(item_id=work[0].id, pathway="classifier", policy_id=p.policy_id,
                              policy_version=p.policy_version, policy_hash=p.policy_hash,
                              scores={"hate": 0.81, "spam_scams": 0.07},
                              labels={"hate": "violating", "spam_scams": "allowed"}, rule_ids=["HATE.1a"],
                              model_version="fast-1"))
    enqueue_escalations(session, p, decisions[:3], work, overlap=2, now=T0)
    import_annotations(session, p, "spam_scams", [Annotation(work[0], "vendor-a", "violating"),
                                                  Annotation(work[0], "vendor-b", "allowed")], now=T0)
    add_tasks(session, p, [TaskSpec(items(1, "gold")[0], "hate", "dataset_import", is_gold=True,
                                    gold_answer={"verdict": "allowed"})], now=T0)
    rev0, rev1, rev2 = reviewers(session, 3)
    skip_task(session, rev2, next_task(session, rev2, p, now=T0).assignment_id, "not my language", now=T0)
    first = None
    for step in range(3):
        for k, reviewer in enumerate((rev0, rev1)):
            now = T0 + (2 * step + k) * MINUTE
            view = next_task(session, reviewer, p, now=now)
            verdict = "violating" if (step + k) % 2 else "allowed"
            label = submit_label(session, reviewer, view.assignment_id,
                                 answers_for(hate, verdict, index=step % 2 if verdict == "violating" else 0),
                                 note="reclaimed slur?" if k else None, now=now + dt.timedelta(seconds=37.25))
            first = first or label
    correct_label(session, rev0, first.id, answers_for(hate, "violating", index=1), note="second look",
                  now=T0 + 30 * MINUTE)
    return p, decisions


def _fresh(tmp_path: Path, name: str):
    url = f"sqlite:///{tmp_path / name}"
    migrate(url)
    return session_factory(make_engine(url))


def test_export_import_export_round_trips(store: Store, bundle, tmp_path: Path) -> None:
    with store.session() as session, session.begin():
        p, decisions = _reviewed_project(session, bundle)
    with store.session() as session:
        exported = export_labelstudio(session, p, decisions=decisions)
    assert [t["data"]["charter"]["item"]["id"] for t in exported] == ["item-0", "item-1", "item-2"]  # gold left out
    assert exported[0]["data"]["charter"]["categories"] == ["hate", "spam_scams"]
    annotations = [a for t in exported for a in t["annotations"]]
    assert len(annotations) == 6 + 2  # current labels only: the correction replaces rev0's first label
    by_name = {}
    for a in annotations:
        by_name.setdefault(a["completed_by"]["email"], []).append(a)
    assert {len(v) for k, v in by_name.items() if k.startswith("rev")} == {3} and "rev2" not in by_name
    assert all("lead_time" not in a for a in by_name["vendor-a"] + by_name["vendor-b"])
    leased = [a for a in by_name["rev1"] if "lead_time" in a]
    assert leased and all(a["lead_time"] == 37.25 for a in leased)
    assert any(r["from_name"] == "hate.note" for a in by_name["rev1"] for r in a["result"])
    llm = [pr for t in exported for pr in t["predictions"] if pr["model_version"] == "llm:qwen-0.5b"]
    assert len(llm) == 3 and all(any(r["from_name"] == "hate/targets_group" for r in pr["result"]) for pr in llm)

    text = json.dumps(exported)
    factory = _fresh(tmp_path, "fresh.db")
    with factory() as session, session.begin():
        fresh = create_project(session, "copy", bundle, now=T0)
        result = import_labelstudio(session, fresh, parse_tasks(json.loads(text)), now=T0 + 60 * MINUTE)
    assert result.labels == len(annotations) and result.cancelled == 0
    assert result.decisions == [decisions[0], decisions[3], decisions[1], decisions[2]]  # by item, then log order
    with factory() as session:
        again = export_labelstudio(session, fresh, decisions=result.decisions)
        assert session.scalar(select(User.password_hash).where(User.username == "rev1")) is None
    assert again == exported


def test_labeling_config_declares_every_exported_control(store: Store, bundle) -> None:
    with store.session() as session, session.begin():
        p, decisions = _reviewed_project(session, bundle)
    with store.session() as session:
        exported = export_labelstudio(session, p, decisions=decisions)
    root = ET.fromstring(labeling_config(project_policy(p)))
    assert root.find("Text").get("value") == "$text"
    controls = {c.get("name"): ("choices", {x.get("value") for x in c.iter("Choice")}) for c in root.iter("Choices")}
    controls |= {t.get("name"): ("textarea", None) for t in root.iter("TextArea")}
    policy = project_policy(p)
    assert len([n for n in controls if "/" in n]) == sum(len(c.tree.nodes) for c in policy.categories)
    for view in root.iter("View"):
        if view.get("visibleWhen"):
            kind, values = controls[view.get("whenTagName")]
            assert view.get("whenChoiceValue") in values
    results = [r for t in exported for part in ("annotations", "predictions") for a in t[part] for r in a["result"]]
    assert {r["type"] for r in results} == {"choices", "textarea"}
    for result in results:
        kind, values = controls[result["from_name"]]
        assert result["type"] == kind and result["to_name"] == "text"
        if kind == "choices":
            assert set(result["value"]["choices"]) <= values
    only = ET.fromstring(labeling_config(policy, ["spam_scams"]))
    assert {c.get("name").split("/")[0].split(".")[0] for c in only.iter("Choices")} == {"spam_scams"}
    with pytest.raises(CharterError, match="no category nope"):
        labeling_config(policy, ["nope"])


def test_import_of_a_label_studio_export(store: Store, bundle) -> None:
    tasks = read_tasks(FIXTURE)
    with store.session() as session, session.begin():
        p = project(session, bundle)
        result = import_labelstudio(session, p, tasks, now=T0)
    assert [i.id for i in result.items] == ["ls-1", "labelstudio-102"]
    assert result.items[0].market == "DE" and result.items[0].metadata == {"source": "forum"}
    assert result.annotators == ["ana@example.org", "ben@example.org", "labelstudio-user-13"]
    assert result.labels == 5 and result.cancelled == 1
    assert [(t.category, t.overlap) for t in result.tasks] == [("hate", 2), ("spam_scams", 1), ("spam_scams", 2)]
    with store.session() as session:
        rows = session.execute(select(User.username, LabelRow.verdict, LabelRow.tree_path, LabelRow.rule_ids,
                                      LabelRow.note, LabelRow.created_at, LabelRow.assignment_id, Task.category)
                               .join(User, User.id == LabelRow.reviewer_id).join(Task, Task.id == LabelRow.task_id)
                               .order_by(LabelRow.id)).all()
        ana = rows[0]
        assert (ana.category, ana.verdict, ana.rule_ids, ana.note) == ("hate", "violating", ["HATE.1a"],
                                                                       "slur aimed at a protected group")
        assert ana.tree_path == ["targets_group", "author_stance", "supports_violence", "uses_slur"]
        assert ana.created_at == dt.datetime(2024, 5, 2, 9, 16, 8, 728353, tzinfo=dt.UTC)
        lease = session.get(Assignment, ana.assignment_id)
        assert lease.status == "submitted" and (lease.expires_at - lease.leased_at).total_seconds() == pytest.approx(4.288)
        phishing = [r for r in rows if r.username == "labelstudio-user-13"][0]
        assert (phishing.verdict, phishing.rule_ids) == ("violating", ["SPAM.2a"])  # derived from the tree walk
        assert {r.username for r in rows if r.assignment_id is None} == {"ana@example.org"}  # no lead_time on task 102
        assert session.scalar(select(User.password_hash).where(User.username == "ben@example.org")) is None
        verdicts = {(v.item_id, v.category): v.verdict for v in consensus(session, p)}
    assert verdicts == {("labelstudio-102", "spam_scams"): "violating", ("ls-1", "spam_scams"): "allowed"}
    toxicity, spam = result.decisions
    assert (toxicity.pathway, toxicity.model_version, toxicity.labels, toxicity.scores) == (
        "external", "toxicity-v3", {"hate": "violating"}, {"hate": 0.93})
    assert toxicity.policy_hash == p.policy_hash and toxicity.decided_at == dt.datetime(2024, 5, 2, 6, 10, tzinfo=dt.UTC)
    assert spam.scores == {"spam_scams": 0.88}  # the prediction's score, as it has one category
    with store.session() as session, session.begin(), pytest.raises(CharterError, match="already imported"):
        import_labelstudio(session, p, tasks, now=T0)


def _broken(edit) -> list:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    edit(data)
    return data


def _set(path, value):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


ANNOTATION = (0, "annotations", 0)
BROKEN = {
    "not a list": (lambda data: data.clear() or data.append(3), "task 0"),
    "no data": (lambda data: data[1].pop("data"), "task 1: data: Field required"),
    "no text": (_set((1, "data"), {"body": "x"}), "task 1: data.text is missing"),
    "bad item field": (_set((0, "data", "charter", "item", "language"), 7), "task 0: data.charter.item.language"),
    "unknown category": (_set((*ANNOTATION, "result", 0, "from_name"), "gore/targets_group"),
                         "task 0, annotation 0, result 0: 'gore/targets_group' names no category"),
    "unknown node": (_set((*ANNOTATION, "result", 0, "from_name"), "hate/slurs"), "'slurs' is not a node of the hate tree"),
    "answer not an option": (_set((*ANNOTATION, "result", 1, "value"), {"choices": ["approves"]}),
                             "'approves' is not an answer at node 'author_stance'"),
    "not a verdict": (_set((*ANNOTATION, "result", 4, "value"), {"choices": ["maybe"]}), "'maybe' is not a verdict"),
    "rule of another category": (_set((*ANNOTATION, "result", 5, "value"), {"choices": ["SPAM.2a"]}),
                                 "SPAM.2a are not rules of category 'hate'"),
    "verdict contradicts the tree": (_set((*ANNOTATION, "result", 4, "value"), {"choices": ["allowed"]}),
                                     "task 0, annotation 0 (hate): label does not match the hate tree walk"),
    "tree walk stops short": (lambda data: data[0]["annotations"][0]["result"].pop(3),
                              "task 0, annotation 0 (hate): answers do not lead to an outcome"),
    "two choices": (_set((*ANNOTATION, "result", 4, "value"), {"choices": ["allowed", "violating"]}),
                    "'hate.verdict' must have exactly one choice"),
    "unknown field": (_set((*ANNOTATION, "result", 6, "from_name"), "hate.comment"), "'comment' is not a control"),
    "no annotator": (lambda data: data[0]["annotations"][0].pop("completed_by"),
                     "task 0, annotation 0: completed_by is missing"),
    "naive time": (_set((*ANNOTATION, "created_at"), "2024-05-02T09:16:08"), "has no time zone"),
    "negative lead time": (_set((*ANNOTATION, "lead_time"), -1), "task 0: annotations.0.lead_time"),
    "same annotator twice": (lambda data: data[0]["annotations"][1].update(completed_by={"email": "ana@example.org"}),
                             "task 0, annotation 1: 'ana@example.org' labels hate twice"),
    "score outside [0, 1]": (_set((0, "predictions", 0, "result", 0, "score"), 93), "score 93.0 is not a probability"),
    "no category at all": (lambda data: data[1].update(annotations=[], predictions=[]),
                           "task 1: names no category to review"),
    "record disagrees": (lambda data: data[0]["data"]["charter"].update(decisions={"toxicity-v3": {
        "item_id": "ls-1", "pathway": "classifier", "policy_id": "x", "policy_version": "1", "policy_hash": "h",
        "labels": {"hate": "allowed"}}}), "task 0, prediction 0: the prediction's results and its decision record disagree"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_malformed_files_name_the_task_and_field(store: Store, bundle, case: str) -> None:
    edit, message = BROKEN[case]
    with store.session() as session, session.begin():
        p = project(session, bundle)
        with pytest.raises(CharterError) as raised:
            import_labelstudio(session, p, parse_tasks(_broken(edit)), now=T0)
    assert message in str(raised.value)
    with store.session() as session:
        assert session.scalar(select(Task.id)) is None  # nothing half-imported


def test_unreadable_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text('[{"data": {"text": "x"}},\n {"data": }]', encoding="utf-8")
    with pytest.raises(CharterError) as raised:
        read_tasks(path)
    assert f"{path}:2:" in str(raised.value)


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("export-labelstudio")(review_interop_cmd.export_labelstudio)
    app.command("import-labelstudio")(review_interop_cmd.import_labelstudio)
    return app


def test_cli_exports_and_imports(tmp_path: Path, bundle) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    for path in (source, target):
        migrate(f"sqlite:///{path}")
    with session_factory(make_engine(f"sqlite:///{source}"))() as session, session.begin():
        _, decisions = _reviewed_project(session, bundle)
    with session_factory(make_engine(f"sqlite:///{target}"))() as session, session.begin():
        create_project(session, "copy", bundle, now=T0)
    log = tmp_path / "log.jsonl"
    log.write_text("".join(d.model_dump_json() + "\n" for d in decisions), encoding="utf-8")
    runner, app = CliRunner(), _cli()
    out = tmp_path / "ls" / "tasks.json"
    done = runner.invoke(app, ["export-labelstudio", "p", "-o", str(out), "--decisions", str(log), "--db",
                               f"sqlite:///{source}"])
    assert done.exit_code == 0, done.output
    assert "3 tasks (8 annotations, 4 predictions)" in done.output
    assert ET.parse(out.with_suffix(".xml")).getroot().tag == "View"
    back = tmp_path / "back.jsonl"
    done = runner.invoke(app, ["import-labelstudio", "copy", str(out), "--decisions-out", str(back), "--db",
                               f"sqlite:///{target}"])
    assert done.exit_code == 0, done.output
    assert "3 items, 4 tasks, 8 labels from 4 annotators" in done.output
    assert len(back.read_text(encoding="utf-8").splitlines()) == 4

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(_broken(BROKEN["unknown node"][0])), encoding="utf-8")
    done = runner.invoke(app, ["import-labelstudio", "copy", str(broken), "--db", f"sqlite:///{target}"])
    assert done.exit_code == 2 and "'slurs' is not a node of the hate tree" in done.output
    assert "Traceback" not in done.output
    done = runner.invoke(app, ["export-labelstudio", "nope", "-o", str(out), "--db", f"sqlite:///{target}"])
    assert done.exit_code == 2 and "no review project 'nope'" in done.output
    unmigrated = tmp_path / "empty.db"
    done = runner.invoke(app, ["export-labelstudio", "p", "-o", str(out), "--db", f"sqlite:///{unmigrated}"])
    assert done.exit_code == 2 and "is it reachable and migrated?" in done.output
