"""Reviewer accounts: creation under a password policy, argon2 hashes, authentication, roles."""

from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.review.clock import resolve_now
from charter.review.models import ROLES, User

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()


def check_password(password: str, min_length: int = MIN_PASSWORD_LENGTH) -> None:
    """The password policy: a minimum length, and not only whitespace."""
    if len(password) < min_length:
        raise CharterError(f"password is too short: {len(password)} characters, the minimum is {min_length}")
    if not password.strip():
        raise CharterError("password must not be only whitespace")


def hash_password(password: str, min_length: int = MIN_PASSWORD_LENGTH) -> str:
    """The argon2 hash of a password that meets the password policy."""
    check_password(password, min_length)
    return _hasher.hash(password)


def create_user(
    session: Session,
    username: str,
    password: str | None,
    role: str = "reviewer",
    *,
    min_length: int = MIN_PASSWORD_LENGTH,
    now: dt.datetime | None = None,
) -> User:
    """A new user; `password=None` makes an external annotator (imported labels) who cannot log in."""
    username = username.strip()
    if not username:
        raise CharterError("username must not be empty")
    if role not in ROLES:
        raise CharterError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if password is not None:
        check_password(password, min_length)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise CharterError(f"user {username!r} already exists")
    user = User(
        username=username,
        role=role,
        password_hash=_hasher.hash(password) if password is not None else None,
        created_at=resolve_now(now),
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise CharterError(f"no user {username!r}")
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if the password matches, else None (unknown users and external annotators too).

    A hash made with older argon2 parameters is upgraded in place on a successful login.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.password_hash is None:
        _hasher.hash(password)  # spend the same time whether or not the user exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def require_role(user: User, *roles: str) -> None:
    """Refuse an action to a user without one of `roles`."""
    if user.role not in roles:
        raise CharterError(f"user {user.username!r} is a {user.role}; this needs the role {' or '.join(roles)}")
