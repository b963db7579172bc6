"""Review workflows on both backends: enqueueing, leases, overlap, gold, labels, corrections,
adjudication, agreement and the consensus export."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from charter.errors import CharterError
from charter.evaluate.joined import join_decisions
from charter.io.labelled import LabelledItems, read_labelled_items
from charter.records import Decision, Label
from charter.review import (
    adjudicate,
    adjudication_queue,
    consensus,
    correct_label,
    current_labels,
    enqueue_escalations,
    enqueue_qa_sample,
    export_consensus,
    gold_accuracy,
    import_dataset,
    label_history,
    next_task,
    qa_sample,
    release_task,
    node_agreement,
    review_agreement,
    skip_task,
    submit_label,
)
from charter.review.models import Assignment, LabelRow, Task
from charter.review.projects import project_category
from review_support import T0, Store, answers_for, bundle, items, postgres_url, project, reviewers, store  # noqa: F401

MIN = dt.timedelta(minutes=1)


def _decision(bundle, item_id: str, labels: dict, scores: dict | None = None, queue: str | None = None) -> Decision:
    identity = bundle.identity
    return Decision(item_id=item_id, pathway="classifier", policy_id=identity.id, policy_version=identity.version,
                    policy_hash=identity.hash, labels=labels, scores=scores or {}, escalation_queue=queue,
                    decision_id=f"d-{item_id}")


def _label(session, reviewer, view, label: str, index: int = 0, now=T0):
    category = project_category(project_of(session), view.category)
    return submit_label(session, reviewer, view.assignment_id, answers_for(category, label, index), now=now)


def project_of(session):
    from charter.review.models import Project

    return session.scalar(select(Project))


def _dataset(bundle, n: int, category: str = "hate") -> LabelledItems:
    content = items(n, "ds")
    stamp = dict(policy_id=bundle.identity.id, policy_version=bundle.identity.version, policy_hash=bundle.identity.hash)
    labels = [Label(item_id=i.id, labels={category: "violating" if k % 2 else "allowed"}, pathway="dataset", **stamp)
              for k, i in enumerate(content)]
    return LabelledItems(content, labels, [category], {"dataset": "unit", "split": "test"})


def test_escalations_become_tasks_with_queue_priority_and_sla(store: Store, bundle) -> None:
    content = items(4)
    decisions = [
        _decision(bundle, "item-0", {"hate": "needs_review", "spam_scams": "allowed"}),
        _decision(bundle, "item-1", {"self_harm": "needs_review"}),
        _decision(bundle, "item-2", {"harassment": "violating"}, queue="standard_review"),
        _decision(bundle, "item-3", {"hate": "allowed"}),
    ]
    with store.session() as session, session.begin():
        p = project(session, bundle)
        created = enqueue_escalations(session, p, decisions, content, overlap=2, now=T0)
        again = enqueue_escalations(session, p, decisions, content, overlap=2, now=T0)
        got = {(t.category, t.queue_id, t.priority, t.due_at - T0, t.overlap) for t in created}
        assert got == {
            ("hate", "specialist_hate", 2, dt.timedelta(hours=12), 2),
            ("self_harm", "urgent_safety", 1, dt.timedelta(hours=1), 2),
            ("harassment", "standard_review", 3, dt.timedelta(hours=24), 2),
        }
        assert again == []
        other = decisions[0].model_copy(update={"policy_hash": "0" * 64})
        with pytest.raises(CharterError, match="reviews under"):
            enqueue_escalations(session, p, [other], content)
        with pytest.raises(CharterError, match="no content item"):
            enqueue_escalations(session, p, decisions, content[:1])


def test_qa_sample_is_seeded_and_stratified(store: Store, bundle) -> None:
    content = items(60)
    decisions = [_decision(bundle, i.id, {"hate": "allowed", "spam_scams": "allowed"},
                           {"hate": 0.95 if k < 5 else 0.05, "spam_scams": 0.5}) for k, i in enumerate(content)]
    with store.session() as session, session.begin():
        p = project(session, bundle)
        tasks = enqueue_qa_sample(session, p, decisions, content, 9, method="stratified", seed=3, now=T0)
        strata = sorted(t.origin["stratum"] for t in tasks)
        # three strata (hate high, hate low, spam middle), three picks each: the rare band is sampled
        assert strata == ["hate:0-0.2"] * 3 + ["hate:0.8-1"] * 3 + ["spam_scams:0.4-0.6"] * 3
        weights = {t.origin["stratum"]: t.origin["weight"] for t in tasks}
        assert weights == {"hate:0-0.2": 55 / 3, "hate:0.8-1": 5 / 3, "spam_scams:0.4-0.6": 20.0}
        assert all(t.source == "qa_sample" and t.queue_id == "standard_review" or t.category == "hate" for t in tasks)
    with store.session() as session, session.begin():
        p2 = session.scalar(select(type(p)))
        before = {(t.origin["decision_id"], t.category) for t in session.scalars(select(Task))}
        second = enqueue_qa_sample(session, p2, decisions, content, 9, method="stratified", seed=3, now=T0)
        assert second == []  # same seed, same picks: nothing new
        picks = qa_sample(decisions, 5, method="random", seed=1)
        assert [(x.decision.item_id, x.category) for x in picks] == [
            (x.decision.item_id, x.category) for x in qa_sample(decisions, 5, method="random", seed=1)]
        fresh = enqueue_qa_sample(session, p2, decisions, content, 5, method="random", seed=1, now=T0)
        new = {(x.decision.decision_id, x.category) for x in picks} - before
        assert {(t.origin["decision_id"], t.category) for t in fresh} == new
        assert all(t.origin["weight"] == 120 / 5 for t in fresh)


def test_leases_priority_overlap_expiry_and_never_twice(store: Store, bundle) -> None:
    content = items(2)
    decisions = [_decision(bundle, "item-0", {"hate": "needs_review"}),
                 _decision(bundle, "item-1", {"self_harm": "needs_review"})]
    with store.session() as session, session.begin():
        p = project(session, bundle)
        enqueue_escalations(session, p, decisions, content, overlap=2, now=T0)
        a, b, c = reviewers(session, 3)
    with store.session() as session, session.begin():
        first = next_task(session, a, p, lease_minutes=10, now=T0)
        assert first.category == "self_harm" and first.item.id == "item-1"  # priority 1 before 2
        assert next_task(session, a, p, now=T0 + MIN).assignment_id == first.assignment_id  # resumes its lease
        second = next_task(session, b, p, lease_minutes=10, now=T0)
        assert second.task_id == first.task_id  # overlap 2: two slots
        third = next_task(session, c, p, lease_minutes=10, now=T0)
        assert third.task_id != first.task_id  # both slots leased
        assert not hasattr(third, "is_gold") and not hasattr(third, "source")
        assert next_task(session, c, p, queues=["standard_review"], now=T0) is None  # nothing queued there
        with pytest.raises(CharterError, match="no queue 'nope'"):
            next_task(session, c, p, queues=["nope"], now=T0)
    with store.session() as session, session.begin():
        _label(session, a, first, "violating")
        # b's lease expires: c takes the freed slot once done with its own task
        _label(session, c, third, "allowed", now=T0 + MIN)
        late = T0 + dt.timedelta(minutes=11)
        with pytest.raises(CharterError, match="expired"):
            _label(session, b, second, "allowed", now=late)
        reclaimed = next_task(session, c, p, now=late)
        assert reclaimed.task_id == first.task_id
        assert next_task(session, a, p, now=late).task_id == third.task_id  # a never gets task 1 again
    with store.session() as session, session.begin():
        _label(session, c, reclaimed, "violating", now=late)
        # task 1 is full (a, c); task 2 has c's label and a's open lease: nothing for b
        assert next_task(session, b, p, now=late) is None
        later = late + dt.timedelta(minutes=31)  # a's 30-minute lease on task 2 lapses
        assert next_task(session, b, p, now=later).task_id == third.task_id
        assert next_task(session, c, p, now=later) is None
        counts = dict(session.execute(select(Assignment.task_id, func.count()).where(
            Assignment.status == "active", Assignment.expires_at > later).group_by(Assignment.task_id)).all())
        assert counts == {third.task_id: 1}


def test_submit_validates_tree_walk_and_lease(store: Store, bundle) -> None:
    with store.session() as session, session.begin():
        p = project(session, bundle)
        enqueue_escalations(session, p, [_decision(bundle, "item-0", {"hate": "needs_review"})], items(1), now=T0)
        a, b = reviewers(session, 2)
        view = next_task(session, a, p, now=T0)
        hate = project_category(p, "hate")
        good = answers_for(hate, "violating")
        with pytest.raises(CharterError, match="no answer given for node"):
            submit_label(session, a, view.assignment_id, {"targets_group": "yes"}, now=T0)
        with pytest.raises(CharterError, match="not an option"):
            submit_label(session, a, view.assignment_id, {"targets_group": "perhaps"}, now=T0)
        with pytest.raises(CharterError, match="not in the hate tree"):
            submit_label(session, a, view.assignment_id, {**good, "bogus": "yes"}, now=T0)
        with pytest.raises(CharterError, match="not the reached outcome"):
            submit_label(session, a, view.assignment_id, good, verdict="allowed", now=T0)
        with pytest.raises(CharterError, match="rule ids"):
            submit_label(session, a, view.assignment_id, good, rule_ids=["HATE.1a"], now=T0)
        with pytest.raises(CharterError, match="not held by"):
            submit_label(session, b, view.assignment_id, good, now=T0)
        label = submit_label(session, a, view.assignment_id, good, verdict="violating", rule_ids=["HATE.3a"],
                             tree_path=list(good), note="calls for violence", now=T0)
        assert (label.verdict, label.rule_ids, label.tree_path) == ("violating", ["HATE.3a"], list(good))
        with pytest.raises(CharterError, match="already submitted"):
            submit_label(session, a, view.assignment_id, good, now=T0)


def test_skip_frees_the_slot_for_others_release_for_anyone(store: Store, bundle) -> None:
    with store.session() as session, session.begin():
        p = project(session, bundle)
        enqueue_escalations(session, p, [_decision(bundle, "item-0", {"hate": "needs_review"})], items(1), now=T0)
        a, b = reviewers(session, 2)
        view = next_task(session, a, p, now=T0)
        with pytest.raises(CharterError, match="needs a reason"):
            skip_task(session, a, view.assignment_id, "  ", now=T0)
        skip_task(session, a, view.assignment_id, "not my language", now=T0)
        assert next_task(session, a, p, now=T0) is None
        taken = next_task(session, b, p, now=T0)
        assert taken.task_id == view.task_id
        assert current_labels(session, p) == []
        # a release (unlike a skip) lets the same reviewer have the task again later
        release_task(session, b, taken.assignment_id, now=T0)
        with pytest.raises(CharterError, match="no longer open"):
            release_task(session, b, taken.assignment_id, now=T0)
        again = next_task(session, b, p, now=T0)
        assert again.task_id == view.task_id and again.assignment_id != taken.assignment_id


def test_correction_supersedes_and_keeps_history(store: Store, bundle) -> None:
    with store.session() as session, session.begin():
        p = project(session, bundle)
        enqueue_escalations(session, p, [_decision(bundle, "item-0", {"hate": "needs_review"})], items(1), now=T0)
        (a,) = reviewers(session, 1)
        view = next_task(session, a, p, now=T0)
        first = _label(session, a, view, "violating")
        hate = project_category(p, "hate")
        fixed = correct_label(session, a, first.id, answers_for(hate, "allowed"), note="misread", now=T0 + MIN)
        with pytest.raises(CharterError, match="already corrected"):
            correct_label(session, a, first.id, answers_for(hate, "allowed"), now=T0 + MIN)
        history = label_history(session, view.task_id, a)
        assert [(h.verdict, h.supersedes_id, h.origin) for h in history] == [
            ("violating", None, "review"), ("allowed", first.id, "correction")]
        assert [c.id for c in current_labels(session, p)] == [fixed.id]
        assert session.get(LabelRow, first.id).verdict == "violating"  # the old row is never rewritten


def test_disagreement_goes_to_leads_and_consensus_exports(store: Store, bundle, tmp_path) -> None:
    decisions = [_decision(bundle, f"item-{i}", {"hate": "needs_review"}) for i in range(3)]
    with store.session() as session, session.begin():
        p = project(session, bundle)
        enqueue_escalations(session, p, decisions, items(3), overlap=2, now=T0)
        a, b = reviewers(session, 2)
        (lead,) = reviewers(session, 1, "lead", "lead")
        verdicts = {0: ("violating", "violating"), 1: ("violating", "allowed"), 2: ("allowed", "allowed")}
        for _ in range(3):
            for reviewer, slot in ((a, 0), (b, 1)):
                view = next_task(session, reviewer, p, now=T0)
                number = int(view.item.id.split("-")[1])
                _label(session, reviewer, view, verdicts[number][slot])
        with pytest.raises(CharterError, match="needs the role lead or admin"):
            adjudication_queue(session, a, p)
        queue = adjudication_queue(session, lead, p)
        assert [(d.item.id, sorted(label.verdict for label in d.labels)) for d in queue] == [
            ("item-1", ["allowed", "violating"])]
        with pytest.raises(CharterError, match="rationale"):
            adjudicate(session, lead, queue[0].task_id, "violating", " ")
        with pytest.raises(CharterError, match="not rules of category"):
            adjudicate(session, lead, queue[0].task_id, "violating", "slur", rule_ids=["SPAM.1a"])
        adjudicate(session, lead, queue[0].task_id, "violating", "reclaimed slur used as attack", rule_ids=["HATE.1a"],
                   now=T0)
        assert adjudication_queue(session, lead, p) == []
        resolved = {(v.item_id, v.verdict, v.basis) for v in consensus(session, p)}
        assert resolved == {("item-0", "violating", "unanimous"), ("item-1", "violating", "adjudicated"),
                            ("item-2", "allowed", "unanimous")}
        path = export_consensus(session, p, tmp_path / "consensus.parquet")
    back = read_labelled_items(path)
    assert [(i.id, label.labels) for i, label in zip(back.items, back.labels)] == [
        ("item-0", {"hate": "violating"}), ("item-1", {"hate": "violating"}), ("item-2", {"hate": "allowed"})]
    assert back.labels[0].pathway == "human" and back.labels[0].policy_hash == bundle.identity.hash
    assert back.categories == ["hate"] and back.meta["consensus"] == {"adjudicated": 1, "unanimous": 2}
    # what `charter eval` does with it: join a pathway's decisions to the reviewed gold
    joined = join_decisions(decisions, back.items, back.labels)
    assert joined.frame["gold:hate"].tolist() == [1.0, 1.0, 0.0]


def test_gold_questions_rate_hidden_answer_and_accuracy(store: Store, bundle) -> None:
    with store.session() as session, session.begin():
        p = project(session, bundle, gold_rate=0.25)
        tasks = import_dataset(session, p, _dataset(bundle, 16), overlap=1, gold_share=0.5, seed=7, now=T0)
        gold_ids = {t.id for t in tasks if t.is_gold}
        assert len(gold_ids) == 8 and all(t.gold_answer["verdict"] in ("violating", "allowed") for t in tasks if t.is_gold)
        good, sloppy = reviewers(session, 2)
        hate = project_category(p, "hate")
        served = []
        for _ in range(8):
            view = next_task(session, good, p, now=T0)
            served.append(view.task_id in gold_ids)
            truth = session.get(Task, view.task_id).gold_answer
            verdict = truth["verdict"] if truth else "allowed"
            submit_label(session, good, view.assignment_id, answers_for(hate, verdict), now=T0)
        assert sum(served) == 2  # 25% of 8
        for _ in range(8):
            view = next_task(session, sloppy, p, now=T0)
            submit_label(session, sloppy, view.assignment_id, answers_for(hate, "violating"), now=T0)
        report = {r.reviewer: r for r in gold_accuracy(session, p)}
        assert (report["rev0"].n, report["rev0"].correct, report["rev0"].accuracy) == (2, 2, 1.0)
        assert report["rev0"].interval.method == "wilson" and report["rev0"].interval.low < 1.0
        sloppy_gold = [lab for lab in current_labels(session, p, gold=True) if lab.reviewer_id == sloppy.id]
        right = sum(session.get(Task, lab.task_id).gold_answer["verdict"] == "violating" for lab in sloppy_gold)
        assert (report["rev1"].n, report["rev1"].correct) == (len(sloppy_gold), right)
        assert report["rev1"].interval.low <= report["rev1"].accuracy <= report["rev1"].interval.high
        # gold tasks never reach agreement, adjudication or the consensus
        assert all(v.item_id not in {session.get(Task, t).item.external_id for t in gold_ids} for v in consensus(session, p))


def test_agreement_per_category_and_node(store: Store, bundle) -> None:
    with store.session() as session, session.begin():
        p = project(session, bundle)
        import_dataset(session, p, _dataset(bundle, 6), overlap=2, now=T0)
        a, b = reviewers(session, 2)
        hate = project_category(p, "hate")
        plan = ["violating", "allowed", "violating", "allowed", "violating", "violating"]
        other = ["violating", "allowed", "allowed", "allowed", "violating", "violating"]
        for reviewer, verdicts in ((a, plan), (b, other)):
            for _ in range(6):
                view = next_task(session, reviewer, p, now=T0)
                number = int(view.item.id.split("-")[1])
                submit_label(session, reviewer, view.assignment_id, answers_for(hate, verdicts[number]), now=T0)
        result = review_agreement(session, p)["hate"]
        from charter.evaluate import cohen_kappa, krippendorff_alpha

        assert result.cohen_kappa.value == pytest.approx(cohen_kappa(plan, other).value)
        assert result.krippendorff_alpha.value == pytest.approx(
            krippendorff_alpha([[x, y] for x, y in zip(plan, other)]).value)
        nodes = {n.node: n for n in node_agreement(session, p)}
        root = nodes[hate.tree.root]
        assert (root.n_items, root.n_pairs, root.observed) == (6, 6, 1.0)  # every path starts "targets_group: yes"
        disputed = [n for n in nodes.values() if n.observed is not None and n.observed < 1.0]
        assert disputed and all(n.n_pairs >= 1 for n in disputed)
