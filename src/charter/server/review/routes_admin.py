"""Admin pages: accounts (create, role, deactivate, new password) and projects (create from a
compiled bundle, fill from a dataset sample)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from charter.compile.loader import load_bundle
from charter.policy.hashing import short_hash
from charter.review import create_project, create_user, import_dataset
from charter.review.accounts import deactivate_user, is_active, list_users, set_password, set_role
from charter.review.demo import sample_datasets, sample_labelled
from charter.review.models import ROLES, LabelRow, Project, Task
from charter.review.projects import project_policy
from charter.server.review.deps import DB, AdminUser, ProjectInPath
from charter.server.review.render import flash, page, redirect

router = APIRouter(prefix="/admin")


@router.get("/users")
def users(request: Request, session: DB, user: AdminUser) -> Response:
    counts = dict(session.execute(select(LabelRow.reviewer_id, func.count(LabelRow.id)).group_by(LabelRow.reviewer_id)).all())
    return page(request, "admin_users.html", {"user": user, "users": list_users(session), "roles": ROLES,
                                              "counts": counts, "is_active": is_active})


@router.post("/users")
def add_user(
    request: Request, session: DB, user: AdminUser,
    username: Annotated[str, Form(min_length=1, max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    role: Annotated[str, Form(max_length=20)] = "reviewer",
) -> Response:
    created = create_user(session, username, password, role)
    flash(request, f"Created {created.role} {created.username!r}.")
    return redirect(request, "/admin/users")


@router.post("/users/{uid}/role")
def change_role(request: Request, session: DB, user: AdminUser, uid: int,
                role: Annotated[str, Form(max_length=20)]) -> Response:
    changed = set_role(session, user, uid, role)
    flash(request, f"{changed.username!r} is now a {changed.role}.")
    return redirect(request, "/admin/users")


@router.post("/users/{uid}/deactivate")
def deactivate(request: Request, session: DB, user: AdminUser, uid: int) -> Response:
    changed = deactivate_user(session, user, uid)
    flash(request, f"{changed.username!r} can no longer log in; their labels stay attributed to them.")
    return redirect(request, "/admin/users")


@router.post("/users/{uid}/password")
def new_password(request: Request, session: DB, user: AdminUser, uid: int,
                 password: Annotated[str, Form(max_length=1000)]) -> Response:
    changed = set_password(session, user, uid, password)
    flash(request, f"New password set for {changed.username!r}; their other sessions have ended.")
    return redirect(request, "/admin/users")


@router.get("/projects")
def projects(request: Request, session: DB, user: AdminUser) -> Response:
    rows = session.execute(
        select(Project, func.count(Task.id), func.count(Task.id).filter(Task.is_gold))
        .outerjoin(Task, Task.project_id == Project.id)
        .group_by(Project.id)
        .order_by(Project.name)
    ).all()
    return page(request, "admin_projects.html", {
        "user": user, "rows": rows, "datasets": sample_datasets(), "short_hash": short_hash,
        "queues": {p.id: project_policy(p).queues for p, _, _ in rows},
        "categories": {p.id: project_policy(p).category_ids() for p, _, _ in rows},
    })


@router.post("/projects")
def add_project(
    request: Request, session: DB, user: AdminUser,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    bundle: Annotated[str, Form(min_length=1, max_length=1000)],
    gold_rate: Annotated[float, Form(ge=0.0, lt=1.0)] = 0.0,
) -> Response:
    created = create_project(session, name, load_bundle(Path(bundle).expanduser()), gold_rate=gold_rate)
    flash(request, f"Created project {created.name!r} under {created.policy_id} v{created.policy_version}.")
    return redirect(request, "/admin/projects")


@router.post("/projects/{pid}/import")
def import_sample(
    request: Request, session: DB, user: AdminUser, project: ProjectInPath,
    dataset: Annotated[str, Form(max_length=100)],
    category: Annotated[str, Form(max_length=64)],
    split: Annotated[str, Form(max_length=20)] = "test",
    limit: Annotated[int, Form(ge=1, le=5000)] = 50,
    overlap: Annotated[int, Form(ge=1, le=10)] = 2,
    gold_share: Annotated[float, Form(ge=0.0, le=1.0)] = 0.0,
    queue: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    labelled = sample_labelled(project_policy(project), dataset, split, [category], limit)
    created = import_dataset(session, project, labelled, queue_id=queue or None, overlap=overlap, gold_share=gold_share)
    flash(request, f"Imported {len(created)} tasks from {dataset} ({split}) into {project.name!r}.")
    return redirect(request, "/admin/projects")
