"""The store functions behind the review web app, on SQLite and PostgreSQL: typed lease
errors, resuming and handing back leases, queue overview and per-reviewer waiting counts,
task history and a reviewer's own work, queue access by role, account administration."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.errors import CharterError
from charter.io.labelled import LabelledItems
from charter.records import Label
from charter.review import adjudicate, correct_label, create_user, import_dataset, next_task, skip_task, submit_label
from charter.review.access import visible_queues
from charter.review.accounts import deactivate_user, is_active, set_password, set_role
from charter.review.history import reviewer_work, task_history
from charter.review.leases import LeaseError, current_lease, open_lease, release_open_leases
from charter.review.overview import queue_overview, waiting_for
from charter.review.projects import project_category, project_policy
from charter.review.users import authenticate
from review_support import T0, Store, answers_for, bundle, items, postgres_url, project, reviewers, store  # noqa: F401
from review_web_support import fast_password_hashing  # noqa: F401

MIN = dt.timedelta(minutes=1)


def _dataset(bundle, n: int, prefix: str = "ds") -> LabelledItems:  # noqa: F811
    content = items(n, prefix)
    stamp = dict(policy_id=bundle.identity.id, policy_version=bundle.identity.version, policy_hash=bundle.identity.hash)
    labels = [Label(item_id=i.id, labels={"hate": "violating" if k % 2 else "allowed"}, pathway="dataset", **stamp)
              for k, i in enumerate(content)]
    return LabelledItems(content, labels, ["hate"], {"dataset": "unit", "split": "test"})


def test_lease_errors_say_why_and_leases_resume_and_release(store: Store, bundle) -> None:  # noqa: F811
    with store.session() as session, session.begin():
        p = project(session, bundle)
        import_dataset(session, p, _dataset(bundle, 2), queue_id="standard_review", overlap=2, now=T0)
        a, b = reviewers(session, 2)
        view = next_task(session, a, p, lease_minutes=10, now=T0)
        assert current_lease(session, a, p, now=T0 + MIN).assignment_id == view.assignment_id
        assert current_lease(session, b, p, now=T0) is None
        assert open_lease(session, a, view.assignment_id, now=T0).item == view.item
        for who, aid, when, problem in ((b, view.assignment_id, T0, "not_held"), (a, 10_000, T0, "missing"),
                                        (a, view.assignment_id, T0 + 11 * MIN, "expired")):
            with pytest.raises(LeaseError) as caught:
                open_lease(session, who, aid, now=when)
            assert caught.value.problem == problem
        with pytest.raises(LeaseError) as late:
            submit_label(session, a, view.assignment_id, {"targets_group": "no"}, now=T0 + 11 * MIN)
        assert late.value.problem == "expired"
        other = next_task(session, b, p, now=T0)
        assert release_open_leases(session, b, now=T0) == 1
        with pytest.raises(LeaseError) as closed:
            open_lease(session, b, other.assignment_id, now=T0)
        assert closed.value.problem == "closed"


def test_queue_overview_and_waiting_counts_follow_next_task(store: Store, bundle) -> None:  # noqa: F811
    with store.session() as session, session.begin():
        p = project(session, bundle, gold_rate=0.5)
        import_dataset(session, p, _dataset(bundle, 4), queue_id="standard_review", overlap=2, gold_share=0.5, seed=1, now=T0)
        import_dataset(session, p, _dataset(bundle, 1, "sp"), overlap=1, now=T0)  # hate's default: specialist_hate
        a, b = reviewers(session, 2)
        before = waiting_for(session, p, a, ["standard_review"], now=T0)["standard_review"]
        served = 0
        hate = project_category(p, "hate")
        while (view := next_task(session, a, p, queues=["standard_review"], now=T0)) is not None:
            submit_label(session, a, view.assignment_id, answers_for(hate, "allowed"), now=T0)
            served += 1
        assert before == served == 4  # 2 ordinary + 2 gold, nothing tells them apart in the count
        assert waiting_for(session, p, a, ["standard_review"], now=T0) == {"standard_review": 0}
        leased = next_task(session, b, p, queues=["standard_review"], now=T0)
        status = {q.queue_id: q for q in queue_overview(session, p, now=T0 + dt.timedelta(hours=25))}
        standard = status["standard_review"]
        assert (standard.open, standard.done, standard.gold, standard.leased) == (2, 0, 2, 0)  # lease lapsed by then
        assert standard.breached == 2 and standard.oldest_due == T0 + dt.timedelta(hours=24)
        assert "harassment" in standard.categories and status["specialist_hate"].categories == ["hate"]
        assert status["specialist_hate"].open == 1 and status["specialist_hate"].priority == 2
        assert queue_overview(session, p, now=T0)[0].priority == 1
        assert {q.queue_id: q.leased for q in queue_overview(session, p, now=T0)}["standard_review"] == 1
        assert leased is not None


def test_history_and_own_work_keep_every_label(store: Store, bundle) -> None:  # noqa: F811
    with store.session() as session, session.begin():
        p = project(session, bundle)
        import_dataset(session, p, _dataset(bundle, 2), queue_id="standard_review", overlap=2, now=T0)
        a, b = reviewers(session, 2)
        lead = create_user(session, "lead", None, "lead", now=T0)
        hate = project_category(p, "hate")
        first = next_task(session, a, p, now=T0)
        label = submit_label(session, a, first.assignment_id, answers_for(hate, "violating"), note="n1", now=T0)
        correction = correct_label(session, a, label.id, answers_for(hate, "allowed"), now=T0 + MIN)
        second = next_task(session, a, p, now=T0 + MIN)
        skip_task(session, a, second.assignment_id, "not my language", now=T0 + 2 * MIN)
        work = reviewer_work(session, p, a)
        assert [(w.label_id, w.verdict, w.superseded, w.correctable) for w in work] == [
            (work[0].label_id, None, False, False), (correction.id, "allowed", False, True), (label.id, "violating", True, False)]
        other = next_task(session, b, p, now=T0)
        submit_label(session, b, other.assignment_id, answers_for(hate, "violating"), now=T0 + 3 * MIN)
        adjudicate(session, lead, first.task_id, "violating", "a slur", rule_ids=["HATE.1a"], now=T0 + 4 * MIN)
        assert not any(w.correctable for w in reviewer_work(session, p, a))
        history = task_history(session, p, first.task_id)
        assert [(e.reviewer, e.origin, e.verdict, e.superseded_by) for e in history.labels] == [
            ("rev0", "review", "violating", correction.id), ("rev0", "correction", "allowed", None),
            ("rev1", "review", "violating", None)]
        assert history.final.lead == "lead" and history.final.rule_ids == ["HATE.1a"]
        with pytest.raises(CharterError, match="has no task"):
            task_history(session, p, 10_000)


def test_queue_access_and_account_administration(store: Store, bundle) -> None:  # noqa: F811
    with store.session() as session, session.begin():
        p = project(session, bundle)
        policy = project_policy(p)
        admin = create_user(session, "root", "an admin passphrase", "admin", now=T0)
        user = create_user(session, "rita", "a reviewer passphrase", "reviewer", now=T0)
        lead = create_user(session, "lee", None, "lead", now=T0)
        assert [q.id for q in visible_queues(policy, user)] == ["standard_review"]
        assert {q.id for q in visible_queues(policy, lead)} == {q.id for q in policy.queues}
        with pytest.raises(CharterError, match="needs the role admin"):
            set_role(session, lead, user.id, "lead")
        with pytest.raises(CharterError, match="your own account"):
            deactivate_user(session, admin, admin.id)
        with pytest.raises(CharterError, match="unknown role"):
            set_role(session, admin, user.id, "boss")
        assert set_role(session, admin, user.id, "lead").role == "lead"
        deactivate_user(session, admin, user.id)
        assert not is_active(user) and authenticate(session, "rita", "a reviewer passphrase") is None
        with pytest.raises(CharterError, match="too short"):
            set_password(session, admin, user.id, "short")
        set_password(session, admin, user.id, "a fresh passphrase")
        assert authenticate(session, "rita", "a fresh passphrase") is not None
