"""The durable decision log in the operational store: decisions written with the item they
judged and the policy they were made under, read back by id, and streamed in insertion order
for exports. Every function takes a Session; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.compile.loader import LoadedBundle
from charter.compile.paths import POLICY_FILE
from charter.engines.base import Engine
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision
from charter.service.models import BundleActivation, ServicePolicy, StoredDecision


@dataclass(frozen=True)
class LoggedDecision:
    """A decision as the store holds it: the record, the item, and who asked when."""

    decision: Decision
    item: ContentItem
    decided_by: str
    created_at: dt.datetime
    api_key_id: str | None


def decided_by(decision: Decision) -> str:
    """Which enforcer settled it: a cascade's `extra["decided_by"]`, else the pathway."""
    value = decision.extra.get("decided_by")
    return str(value) if value else decision.pathway


def record_activation(
    session: Session, bundle: LoadedBundle, engine: Engine, *, api_key_id: str | None, now: dt.datetime
) -> BundleActivation:
    """Remember the bundle's policy (once per hash) and that it became active."""
    identity = bundle.identity
    if session.get(ServicePolicy, identity.hash) is None:
        session.add(
            ServicePolicy(
                policy_hash=identity.hash,
                policy_id=identity.id,
                policy_version=identity.version,
                policy_json=bundle.files[POLICY_FILE].decode("utf-8"),
                first_active_at=now,
            )
        )
        session.flush()
    activation = BundleActivation(
        policy_hash=identity.hash,
        bundle_root=str(bundle.root),
        manifest_sha256=manifest_sha256(bundle),
        engine=engine.describe(),
        api_key_id=api_key_id,
        activated_at=now,
    )
    session.add(activation)
    return activation


def manifest_sha256(bundle: LoadedBundle) -> str:
    """What pins a bundle's exact artifacts (its manifest lists every artifact's sha256); taken
    from the verified, loaded manifest, not from a file that may have changed since."""
    return hashlib.sha256(json.dumps(bundle.manifest, sort_keys=True).encode("utf-8")).hexdigest()


def append_decisions(
    session: Session,
    decisions: Sequence[Decision],
    items: Sequence[ContentItem],
    *,
    api_key_id: str | None,
    now: dt.datetime,
) -> None:
    """One row per decision, paired with the item at the same position."""
    session.add_all(
        StoredDecision(
            decision_id=decision.decision_id,
            item_id=decision.item_id,
            pathway=decision.pathway,
            decided_by=decided_by(decision),
            action=decision.action,
            policy_id=decision.policy_id,
            policy_version=decision.policy_version,
            policy_hash=decision.policy_hash,
            created_at=now,
            api_key_id=api_key_id,
            decision=decision.model_dump(mode="json"),
            item=item.model_dump(mode="json"),
        )
        for decision, item in zip(decisions, items, strict=True)
    )


def _logged(row: StoredDecision) -> LoggedDecision:
    return LoggedDecision(
        decision=Decision.model_validate(row.decision),
        item=ContentItem.model_validate(row.item),
        decided_by=row.decided_by,
        created_at=row.created_at,
        api_key_id=row.api_key_id,
    )


def get_decision(session: Session, decision_id: str) -> LoggedDecision | None:
    row = session.scalar(select(StoredDecision).where(StoredDecision.decision_id == decision_id))
    return _logged(row) if row is not None else None


def decisions_by_id(session: Session, decision_ids: Sequence[str]) -> list[Decision]:
    """The decisions with these ids, in the order given."""
    rows = session.scalars(select(StoredDecision).where(StoredDecision.decision_id.in_(decision_ids)))
    found = {row.decision_id: row for row in rows}
    return [Decision.model_validate(found[i].decision) for i in decision_ids if i in found]


def logged_page(
    session: Session,
    *,
    after: int = 0,
    policy_hash: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 1000,
) -> tuple[list[LoggedDecision], int]:
    """Up to `limit` stored decisions after position `after`, in insertion order, and the
    position to continue from (keyset pages: each page is its own short transaction)."""
    query = select(StoredDecision).where(StoredDecision.seq > after)
    if policy_hash is not None:
        query = query.where(StoredDecision.policy_hash == policy_hash)
    if since is not None:
        query = query.where(StoredDecision.created_at >= since)
    if until is not None:
        query = query.where(StoredDecision.created_at < until)
    rows = list(session.scalars(query.order_by(StoredDecision.seq).limit(limit)))
    return [_logged(row) for row in rows], (rows[-1].seq if rows else after)


def enforced_policies(session: Session) -> dict[str, Policy]:
    """Every policy the service has enforced, by content hash."""
    return {
        row.policy_hash: Policy.model_validate_json(row.policy_json) for row in session.scalars(select(ServicePolicy))
    }
