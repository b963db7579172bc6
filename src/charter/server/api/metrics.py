"""Prometheus metrics of one API app (its own registry, so apps side by side do not collide):
decisions by pathway / decided_by / action, escalations, LLM fallbacks (categories the LLM
could not give a valid verdict for), idempotent replays, request / engine / store latency,
request errors by route and code, and bundle swaps."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from charter.records import Decision
from charter.service.active import Snapshot
from charter.service.log import decided_by
from charter.service.moderation import Moderated

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def llm_fallbacks(decision: Decision) -> list[str]:
    """Categories the LLM was asked about but gave no valid verdict for (backend error or an
    unreadable reply after repair), so they went to human review instead: from a cascade's
    `extra["stages"]["llm"]` or an LLM engine's `extra["llm"]`."""
    stages: Any = decision.extra.get("stages")
    llm: Any = stages.get("llm") if isinstance(stages, dict) else decision.extra.get("llm")
    categories = llm.get("categories") or {} if isinstance(llm, dict) else {}
    return [c for c, detail in categories.items() if isinstance(detail, dict) and detail.get("escalated") and "raw" in detail]


class ApiMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.decisions = Counter("charter_decisions", "Decisions returned", ["pathway", "decided_by", "action"], registry=r)
        self.escalations = Counter(
            "charter_escalations", "Decisions sent to a review queue, by the machine stage that flagged them", ["detected_by", "queue"], registry=r
        )
        self.llm_fallbacks = Counter(
            "charter_llm_fallbacks", "Categories the LLM gave no valid verdict for (escalated, never allowed)", ["category"], registry=r
        )
        self.replays = Counter("charter_idempotent_replays", "Requests answered from an Idempotency-Key", registry=r)
        self.requests = Histogram(
            "charter_request_seconds", "HTTP request latency", ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.engine = Histogram(
            "charter_engine_seconds", "Engine decide() time per request", ["engine"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.store = Histogram(
            "charter_store_commit_seconds", "Writing and committing a request's decisions", buckets=LATENCY_BUCKETS, registry=r
        )
        self.errors = Counter("charter_request_errors", "Requests answered with an error", ["route", "status", "code"], registry=r)
        self.swaps = Counter("charter_bundle_swaps", "Hot-swap attempts", ["outcome"], registry=r)
        self.active_policy = Gauge("charter_active_policy", "1 for the active policy", ["id", "version", "hash"], registry=r)

    def observe(self, result: Moderated) -> None:
        if result.replayed:
            self.replays.inc()
            return
        self.engine.labels(result.engine or "unknown").observe(result.engine_seconds)
        self.store.observe(result.store_seconds)
        self._decisions(result.decisions)

    def _decisions(self, decisions: Iterable[Decision]) -> None:
        for decision in decisions:
            by = decided_by(decision)
            self.decisions.labels(decision.pathway, by, decision.action).inc()
            if decision.escalation_queue:
                self.escalations.labels(str(decision.extra.get("detected_by") or by), decision.escalation_queue).inc()
            for category in llm_fallbacks(decision):
                self.llm_fallbacks.labels(category).inc()

    def error(self, route: str, status: int, code: str) -> None:
        self.errors.labels(route, str(status), code).inc()

    def activated(self, snapshot: Snapshot, previous: Snapshot | None) -> None:
        if previous is not None:
            old = previous.identity
            self.active_policy.remove(old.id, old.version, old.hash)
        new = snapshot.identity
        self.active_policy.labels(new.id, new.version, new.hash).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
