"""Lead pages: queue overview, reviewer accuracy on gold and inter-annotator agreement, the
adjudication queue, a task's full history with reviewers' paths side by side and the
adjudication form, and the consensus download that `charter eval` reads."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import func, select
from starlette.background import BackgroundTask

from charter.review import adjudicate, adjudication_queue, export_consensus, gold_accuracy, node_agreement, review_agreement
from charter.review.clock import utcnow
from charter.review.history import task_history
from charter.review.models import VERDICTS, Item, LabelRow, Task, User
from charter.review.overview import queue_overview
from charter.review.projects import project_category, project_policy
from charter.compile.view import category_view
from charter.server.review.deps import DB, LeadUser, ProjectInPath
from charter.server.review.labeling import compare_paths
from charter.server.review.render import flash, page, redirect

router = APIRouter(prefix="/p/{pid}/lead")

RATIONALE_MAX = 4000


@router.get("")
def overview(request: Request, session: DB, user: LeadUser, project: ProjectInPath) -> Response:
    queues = queue_overview(session, project)
    disputes = adjudication_queue(session, user, project)
    return page(request, "lead_overview.html", {
        "user": user, "project": project, "queues": queues, "n_disputes": len(disputes), "now": utcnow(),
        "totals": {k: sum(getattr(q, k) for q in queues) for k in ("open", "done", "breached", "leased", "gold")},
    })


@router.get("/quality")
def quality(request: Request, session: DB, user: LeadUser, project: ProjectInPath) -> Response:
    nodes = node_agreement(session, project)
    by_category: dict[str, list] = {}
    for row in nodes:
        by_category.setdefault(row.category, []).append(row)
    return page(request, "lead_quality.html", {
        "user": user, "project": project, "gold": gold_accuracy(session, project),
        "agreement": review_agreement(session, project), "nodes": by_category,
    })


@router.get("/disputes")
def disputes(request: Request, session: DB, user: LeadUser, project: ProjectInPath) -> Response:
    names = dict(session.execute(select(User.id, User.username)).all())
    return page(request, "lead_disputes.html", {
        "user": user, "project": project, "disputes": adjudication_queue(session, user, project), "names": names,
    })


@router.get("/tasks")
def tasks(request: Request, session: DB, user: LeadUser, project: ProjectInPath, q: str = "") -> Response:
    """Recently labelled tasks (or those whose item id contains `q`), to open their history."""
    last = func.max(LabelRow.created_at)
    query = (
        select(Task, Item.external_id, func.count(LabelRow.id), last)
        .join(Item, Item.id == Task.item_id)
        .join(LabelRow, LabelRow.task_id == Task.id)
        .where(Task.project_id == project.id)
        .group_by(Task.id, Item.external_id)
        .order_by(last.desc())
        .limit(100)
    )
    if q.strip():
        query = query.where(Item.external_id.contains(q.strip(), autoescape=True))
    return page(request, "lead_tasks.html", {"user": user, "project": project, "rows": session.execute(query).all(),
                                             "q": q})


@router.get("/tasks/{tid}")
def task_page(request: Request, session: DB, user: LeadUser, project: ProjectInPath, tid: int) -> Response:
    history = task_history(session, project, tid)
    policy = project_policy(project)
    category = project_category(project, history.task.category)
    current = [e for e in history.labels if e.verdict is not None and e.superseded_by is None]
    view = category_view(policy, category)
    return page(request, "lead_task.html", {
        "user": user, "project": project, "history": history, "category": category, "current": current,
        "comparison": compare_paths(view, [e.answers for e in current]), "view": view, "verdicts": VERDICTS,
        "rationale_max": RATIONALE_MAX,
        "timeline": sorted([("label", e) for e in history.labels] + [("adjudication", a) for a in history.adjudications],
                           key=lambda pair: (pair[1].created_at, pair[0] == "adjudication")),
    })


@router.post("/tasks/{tid}/adjudicate")
def adjudicate_task(
    request: Request, session: DB, user: LeadUser, project: ProjectInPath, tid: int,
    verdict: Annotated[str, Form(max_length=20)],
    rationale: Annotated[str, Form(max_length=RATIONALE_MAX)] = "",
    rule_id: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    task_history(session, project, tid)  # the task must belong to this project
    adjudicate(session, user, tid, verdict, rationale, rule_ids=rule_id)
    flash(request, f"Adjudicated task {tid}: {verdict.replace('_', ' ')}.")
    remaining = adjudication_queue(session, user, project)
    if remaining:
        return redirect(request, f"/p/{project.id}/lead/tasks/{remaining[0].task_id}")
    return redirect(request, f"/p/{project.id}/lead/disputes")


@router.get("/export")
def export(user: LeadUser, session: DB, project: ProjectInPath) -> Response:
    """The consensus as a labelled-items Parquet file (`charter eval --gold` reads it)."""
    folder = Path(tempfile.mkdtemp(prefix="charter-consensus-"))
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", project.name).strip("-") or "project"
    try:
        path = export_consensus(session, project, folder / f"{name}-consensus.parquet")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(path, media_type="application/vnd.apache.parquet", filename=path.name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
