"""The review store's tables (SQLAlchemy 2.x): users, projects, items, tasks, leases, labels,
adjudications. Labels and adjudications are append-only: a correction is a new row that
points at the row it supersedes, so the history of every verdict stays."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charter.store.sql import Base, one_of

ROLES = ("reviewer", "lead", "admin")
SOURCES = ("escalation", "qa_sample", "dataset_import")
LEASE_STATUSES = ("active", "submitted", "skipped", "released")
VERDICTS = ("violating", "allowed", "needs_review")
LABEL_ORIGINS = ("review", "correction", "import")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES, "ck_users_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200), doc="NULL: an external annotator who cannot log in")
    created_at: Mapped[dt.datetime]


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(64))
    policy_hash: Mapped[str] = mapped_column(String(64))
    policy_json: Mapped[str] = mapped_column(Text, doc="the bundle's policy.json, so labels validate without the bundle")
    bundle_path: Mapped[str | None] = mapped_column(String(1000))
    gold_rate: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime]


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("project_id", "external_id", name="uq_items_project_external"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    external_id: Mapped[str] = mapped_column(String(500))
    content: Mapped[dict[str, Any]] = mapped_column(doc="the ContentItem as JSON")


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("item_id", "category", "source", name="uq_tasks_item_category_source"),
        Index("ix_tasks_pick", "project_id", "priority", "due_at", "id"),
        one_of("source", SOURCES, "ck_tasks_source"),
        CheckConstraint("overlap >= 1", name="ck_tasks_overlap"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    category: Mapped[str] = mapped_column(String(64))
    queue_id: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, doc="the queue's priority; 1 = most urgent")
    due_at: Mapped[dt.datetime] = mapped_column(doc="created_at + the queue's SLA")
    source: Mapped[str] = mapped_column(String(20))
    overlap: Mapped[int] = mapped_column(Integer, doc="distinct reviewers who must label it")
    is_gold: Mapped[bool] = mapped_column(default=False)
    gold_answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="never shown to reviewers")
    origin: Mapped[dict[str, Any]] = mapped_column(doc="where the task came from (decision id, score band, dataset)")
    created_at: Mapped[dt.datetime]

    item: Mapped[Item] = relationship()


class Assignment(Base):
    """A lease: one reviewer holds one of a task's overlap slots until it expires."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_task_status", "task_id", "status"),
        one_of("status", LEASE_STATUSES, "ck_assignments_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    leased_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(20))


class LabelRow(Base):
    """One reviewer's verdict on one task (or a skip). Never updated: corrections supersede."""

    __tablename__ = "labels"
    __table_args__ = (
        Index("ix_labels_task", "task_id"),
        one_of("origin", LABEL_ORIGINS, "ck_labels_origin"),
        CheckConstraint(f"verdict IS NULL OR verdict IN ({', '.join(repr(v) for v in VERDICTS)})", name="ck_labels_verdict"),
        CheckConstraint("(verdict IS NULL) <> (skipped_reason IS NULL)", name="ck_labels_verdict_or_skip"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"), unique=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id"), unique=True)
    verdict: Mapped[str | None] = mapped_column(String(20), doc="NULL for a skip")
    tree_path: Mapped[list[str]]
    answers: Mapped[dict[str, Any]]
    rule_ids: Mapped[list[str]]
    note: Mapped[str | None] = mapped_column(Text)
    skipped_reason: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20), doc="review, correction or import")
    created_at: Mapped[dt.datetime]


class Adjudication(Base):
    """A lead's final verdict on a disputed task; the newest one for a task counts."""

    __tablename__ = "adjudications"
    __table_args__ = (one_of("verdict", VERDICTS, "ck_adjudications_verdict"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(20))
    rule_ids: Mapped[list[str]]
    rationale: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
