"""`charter serve`, `charter keys ...` and `charter decisions ...`: run the enforcement API,
manage its API keys, and export its decision log (to Parquet for evaluation, and to DSA
statements of reasons).

Admin access on first start: with $CHARTER_ADMIN_KEY set (at least 32 characters, e.g. from
a secret manager), that token is registered as an admin key and nothing secret is printed.
Without it, a store that has no live admin key gets a generated one, printed once; only its
sha256 is stored, so it cannot be shown again (create another with `charter keys create`)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich import box
from rich.table import Table

from charter.cli.common import console, user_errors
from charter.cli.demo_cmd import example_policy_path, train_sample_classifier
from charter.cli.dsa_cmd import check_out, print_summary, write_statements
from charter.compile import compile_policy, load_bundle, write_bundle
from charter.dsa.config import PlatformConfig, load_platform_config
from charter.engines.classifier import read_card, save_model
from charter.errors import CharterError
from charter.policy.hashing import identity as policy_identity
from charter.policy.load import load_policy_source
from charter.service.export import Window, export_decision_log, export_statements
from charter.service.keys import ADMIN_KEY_ENV, KeyInfo, bootstrap_admin, create_api_key, list_api_keys, revoke_api_key
from charter.service.models import SCOPES
from charter.service.store import ServiceStore
from charter.store.sql import ENV_VAR, database_url, migrate

keys_app = typer.Typer(help="Create, list and revoke the enforcement API's keys.", no_args_is_help=True)
decisions_app = typer.Typer(help="Export the service's decision log.", no_args_is_help=True)

DbOption = typer.Option(None, "--db", help=f"Operational store URL (default ${ENV_VAR}, else sqlite:///charter.db).")
EXAMPLE_DIR = Path(".charter/example")


def example_artifacts(directory: Path) -> tuple[Path, Path]:
    """The example bundle and a classifier trained on the vendored sample, in `directory`;
    each is reused while it still matches the example policy and rebuilt otherwise."""
    source = load_policy_source(example_policy_path())
    wanted = policy_identity(source.policy)
    bundle_dir, model_dir = directory / "bundle", directory / "model"
    if not _holds(lambda: load_bundle(bundle_dir).identity == wanted):
        write_bundle(compile_policy(source.policy, source), bundle_dir)
    if not _holds(lambda: read_card(model_dir).policy.hash == wanted.hash):
        console.print(f"training the example classifier on the vendored sample into {model_dir} (seconds, once) ...")
        save_model(train_sample_classifier(source.policy).model, model_dir)
    return bundle_dir, model_dir


def _holds(check: Callable[[], bool]) -> bool:
    """Whether an artifact on disk is there, intact and the one wanted."""
    try:
        return check()
    except (CharterError, OSError, ValueError):
        return False


def _admin_access(url: str) -> None:
    """Register $CHARTER_ADMIN_KEY, or print a generated admin key once (see the module doc)."""
    with _store(url) as store, store.transaction() as session:
        issued = bootstrap_admin(session)
    if issued is None:
        return
    if os.environ.get(ADMIN_KEY_ENV):
        console.print(f"admin key {issued.info.id} registered from ${ADMIN_KEY_ENV}", highlight=False)
        return
    console.print(
        f"[bold]admin API key[/] {issued.info.id} (shown once; only its sha256 is stored): {issued.token}\n"
        f"send it in the X-API-Key header; set ${ADMIN_KEY_ENV} to provision your own instead",
        highlight=False,
    )


@contextmanager
def _store(url: str | None) -> Iterator[ServiceStore]:
    store = ServiceStore(url)
    try:
        yield store
    finally:
        store.close()


@user_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    bundle: Path | None = typer.Option(None, "--bundle", "-b", help="Compiled bundle (default: the example policy)."),
    model: Path | None = typer.Option(None, "--model", help="Fast classifier model directory for the bundle."),
    db: str | None = DbOption,
    llm_url: str | None = typer.Option(None, "--llm-url", help="OpenAI-compatible server for the cascade's LLM band."),
    llm_model: str | None = typer.Option(None, "--llm-model", help="Model name on that server."),
    llm_mode: str = typer.Option("single", "--llm-mode", help="single or tree."),
    allow_policy_mismatch: bool = typer.Option(False, "--allow-policy-mismatch", help="Serve a model trained for other policy content."),
    max_text_bytes: int = typer.Option(100_000, "--max-text-bytes", min=1, help="Largest item text (UTF-8 bytes)."),
    max_batch_items: int = typer.Option(100, "--max-batch-items", min=1, help="Most items in one batch request."),
    example_dir: Path = typer.Option(EXAMPLE_DIR, "--example-dir", help="Where the zero-setup example artifacts live."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Run the enforcement API (docs at /docs). With no --bundle, serves the example policy
    with a classifier trained on the vendored sample. Migrates the store first.

    Admin access: set $CHARTER_ADMIN_KEY (32+ characters, e.g. from a secret manager) to
    register that token as an admin key; otherwise a store without a live admin key gets a
    generated one, printed once (only its sha256 is stored)."""
    import uvicorn

    from charter.server.api import ApiSettings, create_api_app

    if llm_mode not in ("single", "tree"):
        raise CharterError(f"--llm-mode must be single or tree, not {llm_mode!r}")
    if bundle is None:
        if model is not None:
            raise CharterError("--model needs --bundle (the model must be trained for that bundle's policy)")
        bundle, model = example_artifacts(example_dir)
    url = database_url(db)
    migrate(url)
    _admin_access(url)
    settings = ApiSettings(
        bundle=bundle, model=model, database_url=url, llm_url=llm_url, llm_model=llm_model, llm_mode=llm_mode,  # type: ignore[arg-type]
        allow_policy_mismatch=allow_policy_mismatch, max_text_bytes=max_text_bytes, max_batch_items=max_batch_items,
    )
    app = create_api_app(settings)
    snapshot = app.state.service.active.snapshot()
    console.print(
        f"Charter enforcement API on http://{host}:{port} (docs http://{host}:{port}/docs) serving {snapshot.identity} "
        f"with {snapshot.engine.name}; decisions → {app.state.service.store.where}",
        highlight=False,
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level)


# --------------------------------------------------------------------------- keys


def _keys_table(keys: list[KeyInfo]) -> Table:
    table = Table("id", "name", "scopes", "created", "revoked", box=box.SIMPLE)
    for key in keys:
        revoked = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else ""
        table.add_row(key.id, key.name, ",".join(key.scopes), key.created_at.isoformat(timespec="seconds"), revoked)
    return table


@keys_app.command("create")
@user_errors
def keys_create(
    name: str = typer.Argument(..., help="Who or what uses the key."),
    scope: list[str] = typer.Option(..., "--scope", "-s", help=f"Repeat for each scope: {', '.join(SCOPES)}."),
    db: str | None = DbOption,
) -> None:
    """Create a key and print its token (once; only its sha256 is stored). Migrates the store first."""
    migrate(db)
    with _store(db) as store, store.transaction() as session:
        issued = create_api_key(session, name, scope)
    console.print(f"key {issued.info.id} ({issued.info.name}; {', '.join(issued.info.scopes)})", highlight=False)
    typer.echo(issued.token)


@keys_app.command("list")
@user_errors
def keys_list(db: str | None = DbOption) -> None:
    """Every key with its scopes and revocation time (never a token)."""
    with _store(db) as store, store.transaction() as session:
        keys = list_api_keys(session)
    if not keys:
        console.print("no API keys yet (`charter serve` creates an admin key on first start)")
        return
    console.print(_keys_table(keys))


@keys_app.command("revoke")
@user_errors
def keys_revoke(key_id: str = typer.Argument(..., help="The key's id (from `charter keys list`)."), db: str | None = DbOption) -> None:
    """Revoke a key: every request with it is refused from now on."""
    with _store(db) as store, store.transaction() as session:
        key = revoke_api_key(session, key_id)
    console.print(f"key {key.id} ({key.name}) revoked at {key.revoked_at.isoformat(timespec='seconds') if key.revoked_at else ''}", highlight=False)


# --------------------------------------------------------------------------- decisions


def _moment(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CharterError(f"{option} {value!r} is not an ISO date or time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _window(policy_hash: str | None, since: str | None, until: str | None) -> Window:
    return Window(policy_hash, _moment(since, "--since"), _moment(until, "--until"))


PolicyHashOption = typer.Option(None, "--policy-hash", help="Only decisions made under this policy hash.")
SinceOption = typer.Option(None, "--since", help="Only decisions stored at or after this ISO time (UTC if no zone).")
UntilOption = typer.Option(None, "--until", help="Only decisions stored before this ISO time.")


@decisions_app.command("export")
@user_errors
def decisions_export(
    out: Path = typer.Option(..., "-o", "--out", help="A .parquet file, or a new directory of part files (any size)."),
    db: str | None = DbOption,
    policy_hash: str | None = PolicyHashOption,
    since: str | None = SinceOption,
    until: str | None = UntilOption,
) -> None:
    """Write the stored decisions as a Parquet decision log (what `charter eval` reads)."""
    with _store(db) as store:
        result = export_decision_log(store, out, _window(policy_hash, since, until))
    console.print(f"{result.decisions} decisions → {result.path} ({result.files} file(s))", highlight=False)


@decisions_app.command("dsa")
@user_errors
def decisions_dsa(
    out: Path = typer.Option(..., "-o", "--out", help="Directory for batch_0001.json ... and summary.json."),
    db: str | None = DbOption,
    platform_config: Path | None = typer.Option(
        None, "--platform-config", help="YAML: puid_prefix, default_territorial_scope, ToS URL, source_type."
    ),
    policy_hash: str | None = PolicyHashOption,
    since: str | None = SinceOption,
    until: str | None = UntilOption,
) -> None:
    """EU DSA statements of reasons for the stored restrictive decisions, each under the policy it
    was made under (the store keeps items and policies): batches of at most 100, all validated."""
    check_out(out)
    config = load_platform_config(platform_config) if platform_config else PlatformConfig()
    with _store(db) as store:
        result = export_statements(store, config, _window(policy_hash, since, until))
    print_summary(write_statements(result.export, ", ".join(result.policies), out), out)
