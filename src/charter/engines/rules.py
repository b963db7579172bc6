"""The rules pathway: the policy's exact-match rules (term lists, regular expressions,
known-bad digests) applied to the normalized text of each item, as the bundle's rules.json
says.

Matching is built for large batches: all the term lists of a scope (the policy, or what one
market adds) compile into one regular expression shaped like a trie of the terms, so a text
is scanned once for every term of every category; each matched span is looked up to find
which matchers it belongs to. Regex matchers are searched one by one; digests are one set
lookup. A text gets the base matchers plus those of its market.

A hit of a matcher that `acts_alone` decides its category: violating with the matcher's
action, or needs_review in its queue. A violating hit under a rule whose severity requires a
human goes to the category's review queue instead. Other hits are signals: recorded, and
used by the cascade to keep a category from being cleared automatically, but they decide
nothing here. Categories without a deciding hit get no verdict.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from charter.compile.classifier import classifier_config
from charter.compile.loader import LoadedBundle
from charter.compile.routing import routing_table
from charter.compile.rules import rules_table
from charter.compile.stamp import stamp_dict
from charter.engines.base import Engine
from charter.engines.normalize import Normalized, normalize, normalize_batch
from charter.engines.routing import Routing
from charter.engines.verdicts import CategoryVerdict, combine
from charter.errors import CharterError
from charter.policy.hashing import PolicyIdentity, identity
from charter.policy.matchers import compile_pattern
from charter.policy.spec import Policy
from charter.records import ContentItem, Decision

EVIDENCE_CHARS = 80


def exact_key(normalized_text: str) -> str:
    """What an exact matcher hashes: the normalized text case-folded, whitespace collapsed."""
    return " ".join(normalized_text.casefold().split())


def exact_digest(text: str) -> str:
    """The sha256 an `exact` matcher lists for a known-bad item (normalizes `text` first)."""
    return hashlib.sha256(exact_key(normalize(text).text).encode("utf-8")).hexdigest()


def _term_key(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class MatcherSpec:
    """One compiled matcher of rules.json, with what a hit does already resolved."""

    id: str
    category: str
    kind: str
    rule_ids: tuple[str, ...]
    verdict: str
    action: str | None
    queue: str | None
    acts_alone: bool
    requires_human: bool
    market: str | None

    @classmethod
    def from_json(cls, category: str, data: Mapping[str, Any]) -> MatcherSpec:
        return cls(
            id=data["id"], category=category, kind=data["kind"], rule_ids=tuple(data["rule_ids"]),
            verdict=data["verdict"], action=data["action"], queue=data["queue"], acts_alone=bool(data["acts_alone"]),
            requires_human=bool(data["requires_human"]), market=data["market"],
        )  # fmt: skip


@dataclass(frozen=True)
class Hit:
    """One matcher that fired on one text, and the span (or digest) that fired it."""

    spec: MatcherSpec
    evidence: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self.spec)
        data["rule_ids"] = list(self.spec.rule_ids)
        data["matcher"] = data.pop("id")
        data["evidence"] = self.evidence
        return data


def _trie_pattern(keys: Iterable[str]) -> str:
    """One regex matching any of `keys` (spaces match any whitespace), shaped as a trie so
    that the alternation branches on distinct characters and never retries a shared prefix."""
    trie: dict[str, Any] = {}
    for key in keys:
        node = trie
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        branches = [(r"\s+" if c == " " else re.escape(c)) + render(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        if "" in node:
            return "(?:" + "|".join(branches) + ")?"
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return render(trie)


class _Scope:
    """The matchers of one scope (base policy or one market), compiled for scanning."""

    def __init__(self, specs: Sequence[tuple[MatcherSpec, list[str]]]):
        self.terms: dict[str, list[MatcherSpec]] = {}
        self.regexes: list[tuple[re.Pattern[str], MatcherSpec]] = []
        self.digests: dict[str, list[MatcherSpec]] = {}
        for spec, values in specs:
            for value in values:
                if spec.kind == "terms":
                    key = _term_key(normalize(value).text)
                    if spec not in self.terms.setdefault(key, []):
                        self.terms[key].append(spec)
                elif spec.kind == "regex":
                    try:
                        self.regexes.append((compile_pattern(value), spec))
                    except re.error as exc:
                        raise CharterError(
                            f"rules.json: matcher {spec.id!r} has an invalid pattern {value!r} ({exc}); "
                            "lint the policy and recompile the bundle"
                        ) from None
                else:
                    self.digests.setdefault(value, []).append(spec)
        self.term_pattern = (
            re.compile(r"(?<!\w)" + _trie_pattern(sorted(self.terms)) + r"(?!\w)", re.IGNORECASE) if self.terms else None
        )

    def scan(self, text: str, digest: str | None) -> list[Hit]:
        hits: list[Hit] = []
        if self.term_pattern is not None:
            position = 0
            while (found := self.term_pattern.search(text, position)) is not None:
                words = _term_key(found.group(0)).split(" ")
                for end in range(len(words), 0, -1):  # the longest term, and shorter terms it starts with
                    key = " ".join(words[:end])
                    hits += [Hit(spec, key) for spec in self.terms.get(key, [])]
                position = found.start() + 1
        for pattern, spec in self.regexes:
            found = pattern.search(text)
            if found is not None:
                hits.append(Hit(spec, found.group(0)[:EVIDENCE_CHARS]))
        if digest is not None and digest in self.digests:
            hits += [Hit(spec, "sha256:" + digest[:12]) for spec in self.digests[digest]]
        return hits


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """One hit per matcher (its first evidence), in the order they were found."""
    seen: dict[str, Hit] = {}
    for hit in hits:
        seen.setdefault(hit.spec.id, hit)
    return list(seen.values())


class RulesMatcher:
    """The compiled matchers of a bundle: `match` finds every hit on a normalized text."""

    def __init__(self, rules: Mapping[str, Any]):
        def specs(categories: Mapping[str, Any], nested: bool) -> list[tuple[MatcherSpec, list[str]]]:
            out = []
            for category, entry in categories.items():
                for data in entry["matchers"] if nested else entry:
                    out.append((MatcherSpec.from_json(category, data), list(data["values"])))
            return out

        self.base = _Scope(specs(rules["categories"], nested=True))
        self.markets = {m: _Scope(specs(cats, nested=False)) for m, cats in rules.get("markets", {}).items()}
        self.needs_digest = bool(self.base.digests) or any(s.digests for s in self.markets.values())
        self.human_only = {c: set(e["human_only"]["rule_ids"]) for c, e in rules["categories"].items()}

    def match(self, normalized: Normalized, market: str | None) -> list[Hit]:
        text = normalized.text
        digest = hashlib.sha256(exact_key(text).encode("utf-8")).hexdigest() if self.needs_digest else None
        hits = self.base.scan(text, digest)
        scope = self.markets.get(market) if market else None
        if scope is not None:
            hits += scope.scan(text, digest)
        return _dedupe(hits)


def category_verdicts(hits: Sequence[Hit], routing: Routing) -> dict[str, CategoryVerdict]:
    """The verdict each category's deciding hits give (signals give none).

    Per category: violating hits act with the strongest of their actions; a violating hit
    under a human-only rule goes to the category's queue instead; with no violating hit, a
    needs_review hit escalates to the most urgent of the queues named.
    """
    verdicts: dict[str, CategoryVerdict] = {}
    for category in routing.categories:
        deciding = [h for h in hits if h.spec.category == category and h.spec.acts_alone]
        acting = [h for h in deciding if h.spec.verdict == "violating" and not h.spec.requires_human]
        if acting:
            top = max(acting, key=lambda h: routing.action_strength.get(h.spec.action or "", 0))
            rule_ids = list(dict.fromkeys(r for h in acting for r in h.spec.rule_ids))
            verdicts[category] = CategoryVerdict("violating", "rules", action=top.spec.action, rule_ids=rule_ids,
                                                 reason=f"matcher {top.spec.id}")  # fmt: skip
            continue
        held = [h for h in deciding if h.spec.verdict == "violating"]
        if held:
            rule_ids = list(dict.fromkeys(r for h in held for r in h.spec.rule_ids))
            verdicts[category] = CategoryVerdict(
                "needs_review", "human", queue=routing.categories[category].queue, rule_ids=rule_ids, detected_by="rules",
                reason=f"matcher {held[0].spec.id} applies {', '.join(rule_ids)}, which only a human may enforce",
            )
            continue
        review = [h for h in deciding if h.spec.verdict == "needs_review"]
        if review:
            top = min(review, key=lambda h: routing.queue_priority.get(h.spec.queue or "", float("inf")))
            verdicts[category] = CategoryVerdict("needs_review", "human", queue=top.spec.queue, detected_by="rules",
                                                 reason=f"matcher {top.spec.id}")  # fmt: skip
    return verdicts


class RulesEngine(Engine):
    """The exact-match rules of a bundle as an Engine (pathway "rules").

    Latency is the batch's wall time shared equally among its items. Decisions record every
    hit (`extra["rules"]["hits"]`: matcher, category, kind, rule IDs, verdict, whether it
    acts alone, evidence) and the evasion transformations normalization had to apply.
    """

    pathway = "rules"

    def __init__(self, source: LoadedBundle | Policy, *, name: str = "rules"):
        routing, rules = rules_and_routing(source)
        self.routing = routing
        self.identity: PolicyIdentity = routing.identity
        self.matcher = RulesMatcher(rules)
        self.name = name

    def match_batch(self, normalized: Sequence[Normalized], markets: Sequence[str | None]) -> list[list[Hit]]:
        return [self.matcher.match(n, m) for n, m in zip(normalized, markets)]

    def decide(self, items: Sequence[ContentItem]) -> list[Decision]:
        if not items:
            return []
        started = time.perf_counter()
        normalized = normalize_batch(item.text for item in items)
        hits = self.match_batch(normalized, [item.market for item in items])
        latency = (time.perf_counter() - started) * 1000.0 / len(items)
        return [self._decision(item, n, h, latency) for item, n, h in zip(items, normalized, hits)]

    def _decision(self, item: ContentItem, normalized: Normalized, hits: list[Hit], latency: float) -> Decision:
        verdicts = category_verdicts(hits, self.routing)
        combined = combine(verdicts, self.routing)
        rule_ids = list(dict.fromkeys(r for v in verdicts.values() if v.label == "violating" for r in v.rule_ids))
        extra: dict[str, Any] = {"rules": {"hits": [h.as_dict() for h in hits]}} if hits else {}
        if normalized.fired:
            extra["evasion"] = normalized.fired
        return self.stamped(
            item.id,
            labels={c: v.label for c, v in verdicts.items()},
            rule_ids=rule_ids,
            action=combined.action,
            escalation_queue=combined.queue,
            rationale="; ".join(f"{c}: {v.reason}" for c, v in verdicts.items() if v.reason) or None,
            latency_ms=latency,
            extra=extra,
        )

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        base = self.matcher.base
        info.update(
            matchers={"terms": len(base.terms), "regex": len(base.regexes), "exact": len(base.digests)},
            markets=sorted(self.matcher.markets),
        )
        return info


def rules_and_routing(source: LoadedBundle | Policy) -> tuple[Routing, Mapping[str, Any]]:
    """The routing and rules.json of a verified bundle, or as a policy would compile them."""
    if isinstance(source, Policy):
        ident = identity(source)
        routing = Routing.from_configs(classifier_config(ident, source), routing_table(ident, source))
        return routing, rules_table(ident, source)
    rules = source.rules
    if rules.get("policy") != stamp_dict(source.identity):
        raise CharterError(f"{source.root}: rules.json is stamped {rules.get('policy')}, the bundle {source.identity}; recompile it")
    return Routing.from_bundle(source), rules
