"""`charter review seed` and `create-user` on a temporary SQLite store, and `serve --help`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from charter.cli.review_cmd import app
from charter.review import make_engine, session_factory, session_scope
from charter.review.models import Task, User
from review_web_support import fast_password_hashing  # noqa: F401

runner = CliRunner()


def test_seed_and_create_user(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'review.db'}"
    seeded = runner.invoke(app, ["seed", "--db", url, "--workdir", str(tmp_path)])
    assert seeded.exit_code == 0, seeded.output
    assert "seeded project demo" in seeded.output and "alice, bob" in seeded.output and "charter-demo" in seeded.output
    with session_scope(session_factory(make_engine(url))) as session:
        gold, total = session.execute(select(func.count(Task.id).filter(Task.is_gold), func.count(Task.id))).one()
        overlaps = set(session.scalars(select(Task.overlap)))
    assert total > 0 and 0 < gold < total and overlaps == {2}
    again = runner.invoke(app, ["seed", "--db", url, "--workdir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output

    made = runner.invoke(app, ["create-user", "carol", "--role", "lead", "--db", url, "--password-stdin"],
                         input="a long enough passphrase\n")
    assert made.exit_code == 0, made.output
    with session_scope(session_factory(make_engine(url))) as session:
        assert session.scalar(select(User.role).where(User.username == "carol")) == "lead"
    short = runner.invoke(app, ["create-user", "dave", "--db", url, "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "too short" in short.output
    role = runner.invoke(app, ["create-user", "erin", "--role", "boss", "--db", url, "--password-stdin"],
                         input="a long enough passphrase\n")
    assert role.exit_code == 2 and "unknown role" in role.output


def test_serve_help_names_its_options() -> None:
    shown = runner.invoke(app, ["serve", "--help"])
    assert shown.exit_code == 0
    for option in ("--host", "--port", "--db", "--demo", "--secure-cookies", "--lease-minutes"):
        assert option in shown.output
