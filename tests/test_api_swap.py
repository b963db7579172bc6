"""Hot-swap under load: requests that race a series of swaps are each decided entirely under
one bundle (every decision, the response and the stored row name the same policy)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select

from charter.compile.loader import LoadedBundle
from charter.records import ContentItem
from charter.service.models import StoredDecision
from charter.store.sql import make_engine
from service_support import make_api, slow_factory, sqlite_url
from service_support import bundle, model_dir, next_bundle, sample_items  # noqa: F401


def test_requests_racing_swaps_are_each_decided_under_exactly_one_policy(
    tmp_path: Path, bundle: LoadedBundle, next_bundle: LoadedBundle, model_dir: Path, sample_items: list[ContentItem]
) -> None:
    api = make_api(sqlite_url(tmp_path), bundle.root, model_dir, slow_factory(0.01))
    responses: list[dict] = []
    failures: list[str] = []
    stop = threading.Event()

    def client(worker: int) -> None:
        n = 0
        while not stop.is_set() or n < 3:
            items = [item.model_dump(mode="json") for item in sample_items[(worker * 5 + n) % 70:][:4]]
            response = api.client.post("/v1/moderate/batch", json={"items": items}, headers=api.headers(api.moderator))
            if response.status_code != 200:
                failures.append(response.text)
            else:
                responses.append(response.json())
            n += 1

    with api.client:
        workers = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for worker in workers:
            worker.start()
        for target in [next_bundle, bundle] * 3:
            swapped = api.client.post("/v1/admin/bundle", json={"bundle": str(target.root)}, headers=api.headers(api.admin))
            assert swapped.status_code == 200, swapped.text
        stop.set()
        for worker in workers:
            worker.join()

    assert not failures
    seen = set()
    for body in responses:
        hashes = {d["policy_hash"] for d in body["decisions"]}
        assert hashes == {body["policy"]["hash"]}
        seen |= hashes
    assert seen == {bundle.identity.hash, next_bundle.identity.hash}
    answered = {d["decision_id"]: d["policy_hash"] for body in responses for d in body["decisions"]}
    engine = make_engine(api.url)
    with engine.connect() as connection:
        stored = dict(connection.execute(select(StoredDecision.decision_id, StoredDecision.policy_hash)).all())
    engine.dispose()
    assert stored == answered
