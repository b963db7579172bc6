"""Administering reviewer accounts: listing, changing a role, deactivating and setting a new
password. The users table has no active flag; an account without a password hash is one
that cannot log in (the model's "external annotator"), so deactivating removes the hash and
reactivating sets a new password. The user row stays, so every label remains attributed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.review.models import ROLES, User
from charter.review.users import hash_password, require_role


def is_active(user: User) -> bool:
    """Whether the account can log in."""
    return user.password_hash is not None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def _target(session: Session, admin: User, user_id: int, action: str) -> User:
    require_role(admin, "admin")
    user = session.get(User, user_id)
    if user is None:
        raise CharterError(f"no user with id {user_id}")
    if user.id == admin.id:  # so the last admin can never lock everyone out
        raise CharterError(f"you cannot {action} your own account; ask another admin")
    return user


def set_role(session: Session, admin: User, user_id: int, role: str) -> User:
    """Give another user `role`."""
    if role not in ROLES:
        raise CharterError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    user = _target(session, admin, user_id, "change the role of")
    user.role = role
    session.flush()
    return user


def deactivate_user(session: Session, admin: User, user_id: int) -> User:
    """Stop another user logging in; their labels and adjudications stay attributed to them."""
    user = _target(session, admin, user_id, "deactivate")
    user.password_hash = None
    session.flush()
    return user


def set_password(session: Session, admin: User, user_id: int, password: str) -> User:
    """Set a new password for another user (which also reactivates a deactivated account)."""
    user = _target(session, admin, user_id, "reset the password of")
    user.password_hash = hash_password(password)
    session.flush()
    return user
