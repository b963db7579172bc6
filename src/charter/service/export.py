"""Exports of the service's decision log: to a Parquet decision log (what evaluation, audits
and RCA read) and to EU DSA statements of reasons, built from the store alone (it keeps each
item and every enforced policy), page by page so the service keeps writing meanwhile."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from charter.dsa.config import PlatformConfig
from charter.dsa.export import Export, build_statements
from charter.errors import CharterError
from charter.policy.hashing import identity
from charter.service.log import LoggedDecision, enforced_policies, logged_page
from charter.service.store import ServiceStore
from charter.store.decision_log import append_decision_log, write_decision_log

PAGE = 5000


@dataclass(frozen=True)
class Window:
    """Which stored decisions an export takes (all, by default)."""

    policy_hash: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def describe(self) -> str:
        parts = [f"policy {self.policy_hash[:12]}" if self.policy_hash else "",
                 f"since {self.since.isoformat()}" if self.since else "",
                 f"until {self.until.isoformat()}" if self.until else ""]
        return " ".join(p for p in parts if p) or "all"


def pages(store: ServiceStore, window: Window = Window(), size: int = PAGE) -> Iterator[list[LoggedDecision]]:
    after = 0
    while True:
        with store.transaction() as session:
            page, after = logged_page(
                session, after=after, policy_hash=window.policy_hash, since=window.since, until=window.until, limit=size
            )
        if not page:
            return
        yield page


@dataclass(frozen=True)
class LogExport:
    path: Path
    decisions: int
    files: int


def export_decision_log(store: ServiceStore, out: Path, window: Window = Window(), *, page_size: int = PAGE) -> LogExport:
    """Write the decisions to `out`: one file if it ends in .parquet (read whole into memory),
    else a new directory with one part file per page (any size)."""
    out = Path(out)
    single = out.suffix == ".parquet"
    if not single and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CharterError(f"{out} exists and is not an empty directory; export a log into a new directory")
    collected, count, files = [], 0, 0
    for page in pages(store, window, page_size):
        decisions = [logged.decision for logged in page]
        count += len(decisions)
        if single:
            collected += decisions
        else:
            append_decision_log(decisions, out)
            files += 1
    if not count:
        raise CharterError(f"the store at {store.where} holds no decisions ({window.describe()})")
    if single:
        write_decision_log(collected, out)
        files = 1
    return LogExport(out, count, files)


def _unique_items(page: list[LoggedDecision]) -> Iterator[list[LoggedDecision]]:
    """Split decisions so no group repeats an item id (build_statements pairs items by id, and
    an item moderated twice may have changed in between)."""
    layers: list[list[LoggedDecision]] = []
    seen: list[set[str]] = []
    for logged in page:
        item_id = logged.item.id
        for layer, ids in zip(layers, seen):
            if item_id not in ids:
                layer.append(logged)
                ids.add(item_id)
                break
        else:
            layers.append([logged])
            seen.append({item_id})
    yield from layers


@dataclass(frozen=True)
class StoreStatements:
    export: Export
    policies: list[str] = field(default_factory=list)  # "id@version (hash)" of each policy the decisions were made under


def export_statements(store: ServiceStore, config: PlatformConfig, window: Window = Window()) -> StoreStatements:
    """Validated statements of reasons for every restrictive stored decision, each under the
    policy it was made under; all or nothing (a CharterError names every problem)."""
    with store.transaction() as session:
        policies = enforced_policies(session)
    statements, skipped, total, used = [], Counter(), 0, {}
    for page in pages(store, window):
        total += len(page)
        for policy_hash in dict.fromkeys(logged.decision.policy_hash for logged in page):
            used.setdefault(policy_hash, str(identity(policies[policy_hash])))
            group = [logged for logged in page if logged.decision.policy_hash == policy_hash]
            for layer in _unique_items(group):
                built = build_statements(
                    [logged.decision for logged in layer],
                    {logged.item.id: logged.item for logged in layer},
                    policies[policy_hash],
                    config,
                )
                statements += built.statements
                skipped.update(built.skipped)
    if not total:
        raise CharterError(f"the store at {store.where} holds no decisions ({window.describe()})")
    return StoreStatements(Export(statements, skipped), list(used.values()))
