"""A reviewer's day: projects, their queues, taking the next task, the labeling page (walk the
tree, submit, skip with a reason, hand back), their own work and corrections. Routes are
thin: every rule lives in `charter.review`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.policy.hashing import short_hash
from charter.review import correct_label, next_task, release_task, skip_task, submit_label
from charter.review.access import is_admin, visible_queues
from charter.review.clock import utcnow
from charter.review.history import own_label, reviewer_work
from charter.review.leases import TaskView, current_lease, open_lease
from charter.review.models import Item, Project, Task, User
from charter.review.overview import waiting_for
from charter.review.projects import project_category, project_policy
from charter.records import ContentItem
from charter.server.review.deps import DB, CurrentUser, Forbidden, NotFound, ProjectInPath
from charter.server.review.labeling import full_guidelines, guideline_panel, parse_steps, tree_payload
from charter.server.review.render import flash, page, redirect

router = APIRouter()

SKIP_REASONS = (
    "Not in a language I read well enough",
    "Media is missing or will not load",
    "Conflict of interest",
    "Needs a specialist queue",
    "Too distressing for me right now",
)
NOTE_MAX = 4000


def _queue_ids(project: Project, user: User, queue: str | None) -> list[str]:
    """The queues to take work from: the one asked for (if the user may work it), else all theirs."""
    mine = [q.id for q in visible_queues(project_policy(project), user)]
    if queue:
        if queue not in mine:
            raise Forbidden(f"You do not work the queue {queue!r}.")
        return [queue]
    return mine


def _next(request: Request, session: Session, project: Project, user: User, queue: str | None) -> Response:
    """Lease the next task and open it, or go back to the queues when nothing is waiting."""
    queue_ids = _queue_ids(project, user, queue)
    view = next_task(session, user, project, queue_ids, lease_minutes=request.app.state.settings.lease_minutes) \
        if queue_ids else None
    if view is None:
        flash(request, "Nothing is waiting for you right now. Check back later.", "info")
        return redirect(request, f"/p/{project.id}")
    suffix = f"?queue={queue}" if queue else ""
    return redirect(request, f"/p/{project.id}/task/{view.assignment_id}{suffix}")


def _lease_in_project(session: Session, project: Project, user: User, assignment_id: int) -> TaskView:
    view = open_lease(session, user, assignment_id)
    if session.get(Task, view.task_id).project_id != project.id:
        raise NotFound("This task belongs to another project.")
    return view


def _labeling_context(project: Project, category_id: str, item: ContentItem) -> dict[str, Any]:
    policy = project_policy(project)
    category = project_category(project, category_id)
    return {
        "project": project,
        "policy": policy,
        "policy_hash": short_hash(project.policy_hash),
        "category": category,
        "item": item,
        "panel": guideline_panel(policy, category, item.market),
        "tree": tree_payload(policy, category),
        "skip_reasons": SKIP_REASONS,
        "note_max": NOTE_MAX,
    }


@router.get("/")
def home(request: Request, session: DB, user: CurrentUser) -> Response:
    projects = list(session.scalars(select(Project).order_by(Project.name)))
    if len(projects) == 1 and not is_admin(user):
        return redirect(request, f"/p/{projects[0].id}")
    rows = []
    for project in projects:
        queues = [q.id for q in visible_queues(project_policy(project), user)]
        rows.append((project, sum(waiting_for(session, project, user, queues).values())))
    return page(request, "home.html", {"user": user, "rows": rows})


@router.get("/p/{pid}")
def dashboard(request: Request, session: DB, user: CurrentUser, project: ProjectInPath) -> Response:
    policy = project_policy(project)
    queues = visible_queues(policy, user)
    waiting = waiting_for(session, project, user, [q.id for q in queues])
    work = reviewer_work(session, project, user, limit=1000)
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return page(request, "dashboard.html", {
        "user": user, "project": project, "policy": policy, "queues": queues, "waiting": waiting,
        "current": current_lease(session, user, project), "total_waiting": sum(waiting.values()),
        "done_today": sum(1 for w in work if w.created_at >= midnight and w.verdict is not None),
        "recent": work[:8],
    })


@router.post("/p/{pid}/next")
def take_next(
    request: Request, session: DB, user: CurrentUser, project: ProjectInPath,
    queue: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    return _next(request, session, project, user, queue or None)


@router.get("/p/{pid}/task/{aid}")
def label_page(
    request: Request, session: DB, user: CurrentUser, project: ProjectInPath, aid: int, queue: str | None = None
) -> Response:
    view = _lease_in_project(session, project, user, aid)
    queue_title = next((q.title for q in project_policy(project).queues if q.id == view.queue_id), view.queue_id)
    now = utcnow()
    return page(request, "label.html", {
        **_labeling_context(project, view.category, view.item),
        "user": user, "mode": "lease", "task": view, "queue_title": queue_title, "queue_filter": queue or "",
        "action": f"/p/{project.id}/task/{aid}/submit", "previous": None,
        "lease_seconds": max(0, int((view.expires_at - now).total_seconds())),
    })


@router.post("/p/{pid}/task/{aid}/submit")
def submit(
    request: Request, session: DB, user: CurrentUser, project: ProjectInPath, aid: int,
    step: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    queue: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    _lease_in_project(session, project, user, aid)
    answers, path = parse_steps(step)
    label = submit_label(session, user, aid, answers, tree_path=path, note=note.strip() or None)
    rules = f" · {', '.join(label.rule_ids)}" if label.rule_ids else ""
    flash(request, f"Saved: {label.verdict.replace('_', ' ')}{rules}")
    return _next(request, session, project, user, queue or None)


@router.post("/p/{pid}/task/{aid}/skip")
def skip(
    request: Request, session: DB, user: CurrentUser, project: ProjectInPath, aid: int,
    reason: Annotated[str, Form(max_length=500)] = "",
    detail: Annotated[str, Form(max_length=500)] = "",
    queue: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    _lease_in_project(session, project, user, aid)
    text = "; ".join(part.strip() for part in (reason, detail) if part.strip())
    skip_task(session, user, aid, text)
    flash(request, "Skipped. The task goes to another reviewer.", "info")
    return _next(request, session, project, user, queue or None)


@router.post("/p/{pid}/task/{aid}/release")
def release(request: Request, session: DB, user: CurrentUser, project: ProjectInPath, aid: int) -> Response:
    _lease_in_project(session, project, user, aid)
    release_task(session, user, aid)
    flash(request, "Task handed back. You can pick up again whenever you are ready.", "info")
    return redirect(request, f"/p/{project.id}")


@router.get("/p/{pid}/mine")
def my_work(request: Request, session: DB, user: CurrentUser, project: ProjectInPath) -> Response:
    return page(request, "mine.html", {"user": user, "project": project,
                                       "work": reviewer_work(session, project, user)})


def _correctable(session: Session, project: Project, user: User, label_id: int) -> tuple[Any, Task]:
    label = own_label(session, user, label_id)
    task = session.get(Task, label.task_id)
    if task.project_id != project.id:
        raise NotFound("This label belongs to another project.")
    return label, task


@router.get("/p/{pid}/labels/{lid}/correct")
def correction_page(request: Request, session: DB, user: CurrentUser, project: ProjectInPath, lid: int) -> Response:
    label, task = _correctable(session, project, user, lid)
    if label.verdict is None:
        raise CharterError("a skip cannot be corrected; only labels can")
    item = ContentItem.model_validate(session.get(Item, task.item_id).content)
    return page(request, "label.html", {
        **_labeling_context(project, task.category, item),
        "user": user, "mode": "correction", "task": None, "queue_title": None, "queue_filter": "",
        "action": f"/p/{project.id}/labels/{lid}/correct", "lease_seconds": None,
        "previous": {"verdict": label.verdict, "path": [(n, label.answers.get(n)) for n in label.tree_path],
                     "rule_ids": label.rule_ids, "note": label.note, "at": label.created_at},
    })


@router.post("/p/{pid}/labels/{lid}/correct")
def correct(
    request: Request, session: DB, user: CurrentUser, project: ProjectInPath, lid: int,
    step: Annotated[list[str], Form()] = [],  # noqa: B006
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
) -> Response:
    _correctable(session, project, user, lid)
    answers, path = parse_steps(step)
    label = correct_label(session, user, lid, answers, tree_path=path, note=note.strip() or None)
    flash(request, f"Correction saved: {label.verdict.replace('_', ' ')}. Your earlier label is kept in the history.")
    return redirect(request, f"/p/{project.id}/mine")


@router.get("/p/{pid}/guidelines")
def guidelines(user: CurrentUser, project: ProjectInPath) -> Response:
    """The full compiled guidelines page; it carries its own inline style and script."""
    csp = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return Response(full_guidelines(project_policy(project)), media_type="text/html; charset=utf-8",
                    headers={"content-security-policy": csp})
