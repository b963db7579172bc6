"""Enforcing many items through the service core without HTTP: the same bundle activation,
cascade, request limits and durable decision log as `charter serve`, in request-sized
batches, so what a script (or `charter demo`) leaves in the store is exactly what
`charter decisions export|dsa` and the review app read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from charter.engines.llm.backend import Backend
from charter.records import ContentItem, Decision
from charter.service.engines import EngineRecipe
from charter.service.moderation import ModerationService
from charter.service.store import ServiceStore
from charter.store.sql import migrate

ROUTE = "batch"


@contextmanager
def open_service(
    url: str, bundle_dir: Path, model_dir: Path | None, *, llm_backend: Backend | None = None, llm_mode: str = "single"
) -> Iterator[ModerationService]:
    """A service on the store at `url` (migrated first) with `bundle_dir` active, enforcing the
    cascade `charter serve` builds (rules, the classifier in `model_dir`, the LLM band when a
    backend is given, human review); the store is closed on exit."""
    migrate(url)
    store = ServiceStore(url)
    try:
        service = ModerationService(store, EngineRecipe(llm_backend=llm_backend, llm_mode=llm_mode))
        service.activate(bundle_dir, model_dir)
        yield service
    finally:
        store.close()


def moderate_all(
    service: ModerationService, items: Sequence[ContentItem], *, api_key_id: str, route: str = ROUTE
) -> list[Decision]:
    """Every item decided under the active bundle, in order, in batches of the service's batch
    limit; each batch is committed to the store before the next is decided."""
    size = service.limits.max_batch_items
    decisions: list[Decision] = []
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        decisions += service.moderate(batch, route=route, batch=True, api_key_id=api_key_id).decisions
    return decisions
