"""Who may see which review queues and pages. A queue names the role that works it
(`reviewer_role`); a reviewer works the queues meant for reviewers, a lead or admin
supervises every queue (specialist queues included) and the lead pages."""

from __future__ import annotations

from charter.policy.spec import Policy, Queue
from charter.review.adjudication import LEAD_ROLES
from charter.review.models import User


def is_lead(user: User) -> bool:
    """Leads and admins: adjudication, quality measures, queue overview, consensus export."""
    return user.role in LEAD_ROLES


def is_admin(user: User) -> bool:
    return user.role == "admin"


def visible_queues(policy: Policy, user: User) -> list[Queue]:
    """The queues `user` may take work from, most urgent first: every queue for a lead or
    admin, else the queues whose reviewer_role is the user's role."""
    queues = policy.queues if is_lead(user) else [q for q in policy.queues if q.reviewer_role == user.role]
    return sorted(queues, key=lambda q: (q.priority, q.id))


def may_work(policy: Policy, user: User, queue_id: str) -> bool:
    return any(q.id == queue_id for q in visible_queues(policy, user))
