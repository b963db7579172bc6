"""`charter review`: the labeling web app (serve), its demo project (seed), and accounts
(create-user). Everything here is a thin wrapper over `charter.review` and
`charter.server.review`."""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from pathlib import Path

import typer
from sqlalchemy import select

from charter.cli.common import console, err_console, fail, user_errors
from charter.review import create_user, make_engine, migrate, session_factory, session_scope
from charter.review.demo import DEMO_PASSWORD, DemoSeed, example_bundle, seed_demo
from charter.review.models import ROLES, Project
from charter.store.sql import ENV_VAR, database_url

app = typer.Typer(no_args_is_help=True, help="Human review: the labeling web app, its demo project and accounts.")

DEMO_DIR = Path("review-demo")
DEMO_PROJECT = "demo"
DB_HELP = f"Operational database URL (default: ${ENV_VAR}, else sqlite:///charter.db, the store `charter serve` uses)."


def _print_seed(seed: DemoSeed) -> None:
    console.print(f"seeded project [bold]{seed.project.name}[/]: {seed.tasks} tasks ({seed.gold} gold questions) "
                  f"from the vendored dataset sample, overlap 2", highlight=False)


def _print_logins(password: str) -> None:
    console.print("Log in as one of the demo accounts, password "
                  f"[bold]{password}[/]:\n  alice, bob   reviewers (label in the Standard review queue)\n"
                  "  lena         lead (queues, quality, disputes, adjudication, consensus export)\n"
                  "  ada          admin (users and projects)", highlight=False)


def _seed_if_missing(url: str, workdir: Path, bundle: Path | None) -> None:
    factory = session_factory(make_engine(url))
    with session_scope(factory) as session:
        if session.scalar(select(Project.id).where(Project.name == DEMO_PROJECT)) is not None:
            return
        loaded = example_bundle(bundle or workdir / "bundle")
        _print_seed(seed_demo(session, loaded, project_name=DEMO_PROJECT))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command("serve")
@user_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8700, help="Port to listen on."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    workdir: Path = typer.Option(DEMO_DIR, "--workdir", help="Where the demo bundle is compiled."),
    bundle: Path | None = typer.Option(None, "--bundle", help="Compiled bundle for the demo project (default: the example policy)."),
    demo: bool = typer.Option(True, "--demo/--no-demo", help="Seed the demo project and accounts if missing."),
    secure_cookies: bool | None = typer.Option(
        None, "--secure-cookies/--insecure-cookies",
        help="Send the session cookie over HTTPS only (default: on, except on a loopback address over plain HTTP)."),
    lease_minutes: float = typer.Option(30.0, "--lease-minutes", min=1.0, help="How long a reviewer holds a task."),
) -> None:
    """Start the review web app (the demo project and accounts are created on first start)."""
    import uvicorn

    from charter.server.review import ReviewSettings, create_review_app

    url = database_url(db)  # the one store every command shares: reviews beside the service's decisions
    migrate(url)
    if demo:
        _seed_if_missing(url, workdir, bundle)
    secret = os.environ.get("CHARTER_REVIEW_SECRET")
    if not secret:
        secret = secrets.token_urlsafe(48)
        err_console.print("note: $CHARTER_REVIEW_SECRET is not set; using a random session key, so logins end "
                          "when the server stops", highlight=False)
    secure = secure_cookies if secure_cookies is not None else not _loopback(host)
    settings = ReviewSettings(database_url=url, secret_key=secret, cookie_secure=secure, lease_minutes=lease_minutes)
    shown = "localhost" if _loopback(host) else host
    console.print(f"Charter review on [bold]http://{shown}:{port}/[/] (database {url})", highlight=False)
    if demo:
        _print_logins(DEMO_PASSWORD)
    if secure and not _loopback(host):
        console.print("session cookies are Secure: serve this behind HTTPS (TLS proxy)", highlight=False)
    sys.stdout.flush()
    uvicorn.run(create_review_app(settings), host=host, port=port, log_level="warning")


@app.command("seed")
@user_errors
def seed(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    workdir: Path = typer.Option(DEMO_DIR, "--workdir", help="Where the demo bundle is compiled."),
    bundle: Path | None = typer.Option(None, "--bundle", help="Compiled bundle (default: the example policy, compiled into <workdir>/bundle)."),
    project: str = typer.Option(DEMO_PROJECT, "--project", help="Name of the project to create."),
    password: str = typer.Option(DEMO_PASSWORD, "--password", help="Password of the demo accounts created."),
    overlap: int = typer.Option(2, "--overlap", min=1, help="Reviewers per task."),
    gold_share: float = typer.Option(0.2, "--gold-share", min=0.0, max=1.0, help="Share of known-label items made gold questions."),
) -> None:
    """Create the demo accounts and a project filled from the vendored dataset sample."""
    url = database_url(db)  # the one store every command shares: reviews beside the service's decisions
    migrate(url)
    loaded = example_bundle(bundle or workdir / "bundle")
    with session_scope(session_factory(make_engine(url))) as session:
        result = seed_demo(session, loaded, project_name=project, password=password, overlap=overlap, gold_share=gold_share)
        _print_seed(result)
    _print_logins(password)


@app.command("create-user")
@user_errors
def create_user_command(
    username: str = typer.Argument(..., help="The new account's username."),
    role: str = typer.Option("reviewer", "--role", help=f"One of {', '.join(ROLES)}."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create a login for the review app (the password is asked for, never taken as an argument)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        fail("no password given")
    url = database_url(db)  # the one store every command shares: reviews beside the service's decisions
    migrate(url)
    with session_scope(session_factory(make_engine(url))) as session:
        user = create_user(session, username, password, role)
        console.print(f"created {user.role} [bold]{user.username}[/] in {url}", highlight=False)
