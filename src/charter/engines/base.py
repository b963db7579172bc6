"""The Engine contract: a batch of ContentItems in, one Decision per item out, in order.

Every enforcement pathway (rules, classifier, LLM, human queue, the cascade that composes
them) is an Engine, so every evaluation, audit and report works on any of them alike, and
one conformance check (`charter.engines.contract.check_engine`) holds them all to it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from charter.policy.hashing import PolicyIdentity
from charter.records import ContentItem, Decision, Pathway


class Engine(ABC):
    """Turns a batch of items into Decisions stamped with the policy they were made under.

    Subclasses set `name`, `pathway` and `identity`, and implement `decide`, which must:
    return exactly one Decision per item, in input order, with `item_id` equal to the item's
    id; stamp pathway and policy id/version/hash; keep scores in [0, 1] and only for policy
    categories; use only the policy's action ids (or "allow"); record `latency_ms`; return
    [] for an empty batch; and give the same verdicts when run again on the same items.
    """

    name: str
    pathway: Pathway
    identity: PolicyIdentity

    @property
    def policy_id(self) -> str:
        return self.identity.id

    @property
    def policy_version(self) -> str:
        return self.identity.version

    @property
    def policy_hash(self) -> str:
        return self.identity.hash

    @abstractmethod
    def decide(self, items: Sequence[ContentItem]) -> list[Decision]:
        """One Decision per item, same order, same ids."""

    def describe(self) -> dict[str, Any]:
        """What a decision log or report needs to say which enforcer this was."""
        return {
            "name": self.name,
            "pathway": self.pathway,
            "policy": {"id": self.policy_id, "version": self.policy_version, "hash": self.policy_hash},
        }

    def stamped(self, item_id: str, **fields: Any) -> Decision:
        """A Decision carrying this engine's pathway and policy stamp, a unique id and the time
        it was made (a statement of reasons and an audit need both)."""
        fields.setdefault("decision_id", uuid.uuid4().hex)
        fields.setdefault("decided_at", dt.datetime.now(dt.timezone.utc))
        return Decision(
            item_id=item_id,
            pathway=self.pathway,
            policy_id=self.policy_id,
            policy_version=self.policy_version,
            policy_hash=self.policy_hash,
            **fields,
        )
