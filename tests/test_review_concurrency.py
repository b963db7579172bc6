"""Concurrent reviewers: eight threads, each with its own session, pull and label tasks at
once. No lease slot is handed out twice and no submitted label is lost. PostgreSQL is the
target (SELECT ... FOR UPDATE SKIP LOCKED); SQLite must stay correct by serialising."""

from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import select

from charter.records import Decision
from charter.review import enqueue_escalations, next_task, submit_label
from charter.review.models import Assignment, LabelRow, Project, User
from charter.review.projects import project_category
from review_support import T0, Store, answers_for, bundle, items, postgres_url, project, reviewers, store  # noqa: F401

THREADS = 8


def _setup(store: Store, bundle, n_tasks: int, overlap: int) -> tuple[int, list[int]]:
    identity = bundle.identity
    decisions = [Decision(item_id=i.id, pathway="llm", policy_id=identity.id, policy_version=identity.version,
                          policy_hash=identity.hash, labels={"harassment": "needs_review"}) for i in items(n_tasks)]
    with store.session() as session, session.begin():
        p = project(session, bundle)
        enqueue_escalations(session, p, decisions, items(n_tasks), overlap=overlap, now=T0)
        return p.id, [r.id for r in reviewers(session, THREADS)]


def _run(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)


def test_simultaneous_pulls_never_share_a_slot(store: Store, bundle) -> None:
    project_id, reviewer_ids = _setup(store, bundle, n_tasks=THREADS, overlap=1)
    barrier = threading.Barrier(THREADS)
    got: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def pull(reviewer_id: int) -> None:
        try:
            barrier.wait()
            with store.session() as session, session.begin():
                reviewer, p = session.get(User, reviewer_id), session.get(Project, project_id)
                view = next_task(session, reviewer, p, now=T0)
                got[reviewer_id] = view.task_id if view else None
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    _run([threading.Thread(target=pull, args=(r,)) for r in reviewer_ids])
    assert not errors, errors
    assert None not in got.values() and len(set(got.values())) == THREADS  # one task each, none shared


def test_concurrent_review_loses_no_label_and_respects_overlap(store: Store, bundle) -> None:
    n_tasks, overlap = 12, 2
    project_id, reviewer_ids = _setup(store, bundle, n_tasks=n_tasks, overlap=overlap)
    barrier = threading.Barrier(THREADS)
    submitted: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(reviewer_id: int) -> None:
        try:
            barrier.wait()
            idle = 0
            while idle < 5:  # None can mean "every open task is being claimed right now"
                with store.session() as session, session.begin():
                    reviewer, p = session.get(User, reviewer_id), session.get(Project, project_id)
                    view = next_task(session, reviewer, p, now=T0)
                if view is None:
                    idle += 1
                    time.sleep(0.02)
                    continue
                idle = 0
                with store.session() as session, session.begin():
                    reviewer, p = session.get(User, reviewer_id), session.get(Project, project_id)
                    answers = answers_for(project_category(p, view.category), "violating")
                    submit_label(session, reviewer, view.assignment_id, answers, now=T0)
                with lock:
                    submitted.append((view.task_id, reviewer_id))
        except BaseException as exc:
            errors.append(exc)

    _run([threading.Thread(target=work, args=(r,)) for r in reviewer_ids])
    assert not errors, errors
    with store.session() as session:
        rows = session.execute(select(LabelRow.task_id, LabelRow.reviewer_id)).all()
        leases = session.execute(select(Assignment.task_id, Assignment.reviewer_id)).all()
    assert sorted(rows) == sorted(submitted)  # every acknowledged label is stored
    assert len(rows) == n_tasks * overlap and len(set(rows)) == len(rows)  # no reviewer twice on a task
    assert set(Counter(task for task, _ in rows).values()) == {overlap}
    assert len(leases) == len(rows)  # no slot was leased beyond the overlap
