"""The active bundle: (bundle, engine) held as one immutable snapshot and swapped atomically.

A request takes one snapshot and is decided entirely under it, so a hot-swap never mixes two
policies in one request. A new bundle is verified (manifest), linted and given its engine
before it can become active; if any step fails it is refused and the old snapshot stays."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charter.compile.loader import LoadedBundle, load_bundle
from charter.engines.base import Engine
from charter.errors import CharterError, Problem
from charter.policy.hashing import PolicyIdentity
from charter.policy.lint import lint_policy
from charter.service.errors import BundleRefused, Unavailable

# Builds the serving engine for a verified bundle; the Path is the classifier model directory
# to use with it (None when the factory needs none).
EngineFactory = Callable[[LoadedBundle, Path | None], Engine]


@dataclass(frozen=True)
class Snapshot:
    """One bundle and the engine built from it; never changed, only replaced."""

    bundle: LoadedBundle
    engine: Engine
    model_dir: Path | None
    activated_at: dt.datetime

    @property
    def identity(self) -> PolicyIdentity:
        return self.bundle.identity

    def describe(self) -> dict[str, Any]:
        """The active bundle's identity, artifacts and engine, as GET /v1/bundle shows them."""
        return {
            "policy": {"id": self.identity.id, "version": self.identity.version, "hash": self.identity.hash},
            "bundle_root": str(self.bundle.root),
            "artifacts": self.bundle.manifest["artifacts"],
            "model_dir": str(self.model_dir) if self.model_dir else None,
            "engine": self.engine.describe(),
            "activated_at": self.activated_at.isoformat(),
        }


def prepare(bundle_dir: Path, model_dir: Path | None, factory: EngineFactory) -> Snapshot:
    """Verify, lint and build; BundleRefused (naming every problem) if anything fails."""
    try:
        bundle = load_bundle(Path(bundle_dir))
    except CharterError as exc:
        raise BundleRefused(f"bundle refused: {exc.message}", field="bundle", problems=exc.problems) from None
    report = lint_policy(bundle.policy)
    if report.errors:
        raise BundleRefused(
            f"bundle refused: its policy {bundle.identity} fails lint ({len(report.errors)} errors)",
            field="bundle",
            problems=report.errors,
        )
    try:
        engine = factory(bundle, model_dir)
    except CharterError as exc:
        raise BundleRefused(f"bundle refused: no engine for it: {exc.message}", problems=exc.problems) from None
    if engine.identity.hash != bundle.identity.hash:
        raise BundleRefused(
            f"bundle refused: the engine built for {bundle.identity} is stamped {engine.identity}",
            problems=[Problem("the engine factory must build the engine from the bundle it is given")],
        )
    return Snapshot(bundle, engine, model_dir, dt.datetime.now(dt.UTC))


class ActiveBundle:
    """Holds the current Snapshot; `snapshot()` is one atomic read, `publish()` one atomic write."""

    def __init__(self) -> None:
        self._current: Snapshot | None = None
        self.swap_lock = threading.Lock()

    @property
    def current(self) -> Snapshot | None:
        return self._current

    def snapshot(self) -> Snapshot:
        """The active snapshot (Unavailable before the first bundle is published)."""
        current = self._current
        if current is None:
            raise Unavailable("no bundle is active yet")
        return current

    def publish(self, snapshot: Snapshot) -> Snapshot | None:
        """Make `snapshot` the active one; returns the one it replaced."""
        previous, self._current = self._current, snapshot
        return previous
