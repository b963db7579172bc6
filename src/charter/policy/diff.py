"""The semantic diff between two policy versions: what changed, where, and who it affects.

A textual diff of two YAML files says which lines moved; reviewers of a policy change need
to know that a rule was reworded, a threshold loosened or a tree branch rewired, and which
enforcement pathways (LLM prompts, classifier thresholds, human guidelines, routing) must
be rebuilt and back-tested. Entities are matched by id, so reordering a file is no change,
and the diff reports a content change exactly when the content hash changes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from enum import Enum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from charter.policy.hashing import PolicyIdentity, identity
from charter.policy.spec import (
    Category,
    Market,
    MarketCategoryOverride,
    Matcher,
    Node,
    Outcome,
    Policy,
    Rule,
    Thresholds,
)

ChangeKind = Literal[
    "metadata-changed",
    "definition-added",
    "definition-removed",
    "definition-changed",
    "action-added",
    "action-removed",
    "action-changed",
    "queue-added",
    "queue-removed",
    "queue-changed",
    "category-added",
    "category-removed",
    "category-changed",
    "rule-added",
    "rule-removed",
    "rule-reworded",
    "severity-changed",
    "node-added",
    "node-removed",
    "question-changed",
    "branch-changed",
    "guidance-changed",
    "outcome-added",
    "outcome-removed",
    "outcome-changed",
    "threshold-changed",
    "auto-action-changed",
    "example-added",
    "example-removed",
    "example-changed",
    "market-added",
    "market-removed",
    "market-changed",
    "market-rule-added",
    "market-rule-removed",
    "matcher-added",
    "matcher-removed",
    "matcher-changed",
    "dsa-changed",
]
Impact = Literal[
    "llm_prompts",
    "classifier_thresholds",
    "human_guidelines",
    "routing",
    "enforcement_actions",
    "dsa_reporting",
    "rules",
]
Bump = Literal["none", "patch", "minor", "major"]
Direction = Literal["tightened", "loosened"]

BUMP_ORDER: dict[str, int] = {"none": 0, "patch": 1, "minor": 2, "major": 3}
ALL_IMPACTS: list[Impact] = [
    "llm_prompts",
    "classifier_thresholds",
    "human_guidelines",
    "routing",
    "enforcement_actions",
    "dsa_reporting",
    "rules",
]
TEXT: list[Impact] = ["llm_prompts", "human_guidelines"]
# How strict a verdict is: moving up tightens enforcement, moving down loosens it.
LABEL_STRICTNESS = {"allowed": 0, "needs_review": 1, "violating": 2}


class Change(BaseModel):
    """One semantic change.

    `path` locates it (`categories[hate].rules[HATE.1a].statement`); `old`/`new` are JSON
    values (None where the thing did not exist); `direction` says whether enforcement got
    stricter or laxer where that is knowable; `bump` is the smallest version bump the change
    calls for (none: release info only; patch: wording and examples; minor: new rules, nodes
    or tighter enforcement; major: removals and looser enforcement); `impact` names the
    enforcement pathways whose artifacts the change reaches.
    """

    kind: ChangeKind
    path: str
    category: str | None = None
    market: str | None = None
    old: Any = None
    new: Any = None
    direction: Direction | None = None
    bump: Bump
    impact: list[Impact] = Field(default_factory=list)


class PolicyDiff(BaseModel):
    """Every semantic change from `old` to `new`, in the order of the new file's layout."""

    old: PolicyIdentity
    new: PolicyIdentity
    changes: list[Change] = Field(default_factory=list)

    @property
    def content_changed(self) -> bool:
        return self.old.hash != self.new.hash

    def kinds(self) -> set[str]:
        return {c.kind for c in self.changes}

    def required_bump(self) -> Bump:
        """The largest bump any change calls for ("none" if only release info changed)."""
        return max((c.bump for c in self.changes), key=BUMP_ORDER.__getitem__, default="none")

    def impacts(self) -> list[Impact]:
        """The pathways reached by at least one change, in a fixed order."""
        reached = {i for c in self.changes for i in c.impact}
        return [i for i in ALL_IMPACTS if i in reached]


def _dump(value: Any) -> Any:
    """A model (or list of models) as JSON data; plain values pass through."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


T = TypeVar("T")


def _pair(old: list[T], new: list[T], key: str) -> tuple[list[T], list[tuple[T, T]], list[T]]:
    """Match two keyed lists: (removed, matched pairs, added), in file order."""
    old_by = {getattr(o, key): o for o in old}
    new_by = {getattr(n, key): n for n in new}
    removed = [o for o in old if getattr(o, key) not in new_by]
    matched = [(old_by[getattr(n, key)], n) for n in new if getattr(n, key) in old_by]
    added = [n for n in new if getattr(n, key) not in old_by]
    return removed, matched, added


def _direction(old_rank: int | None, new_rank: int | None) -> Direction | None:
    """Higher rank = stricter; None when either side cannot be ranked or nothing moved."""
    if old_rank is None or new_rank is None or old_rank == new_rank:
        return None
    return "tightened" if new_rank > old_rank else "loosened"


def _bump_for(direction: Direction | None) -> Bump:
    """Tightening (or an unrankable change) is MINOR; loosening enforcement is MAJOR."""
    return "major" if direction == "loosened" else "minor"


class _Differ:
    """Walks two policies side by side and collects Changes."""

    def __init__(self, old: Policy, new: Policy):
        self.old = old
        self.new = new
        self.changes: list[Change] = []

    def add(self, kind: ChangeKind, path: str, old: Any, new: Any, bump: Bump, impact: list[Impact], **extra: Any) -> None:
        self.changes.append(
            Change(kind=kind, path=path, old=_dump(old), new=_dump(new), bump=bump, impact=list(impact), **extra)
        )

    # ----------------------------------------------------------------- helpers on policies

    @staticmethod
    def _action_rank(policy: Policy, action_id: str | None) -> int | None:
        """An action's strength, or None if unknown or not comparable (escalate)."""
        action = policy.action(action_id) if action_id else None
        if action is None or action.kind.strength < 0:
            return None
        return action.kind.strength

    @staticmethod
    def _severity_rank(policy: Policy, category_id: str, severity_id: str) -> int | None:
        category = policy.category(category_id)
        severity = category.severity(severity_id) if category else None
        return severity.rank if severity else None

    # ----------------------------------------------------------------- sections

    def run(self) -> list[Change]:
        self.metadata()
        self.definitions()
        self.actions()
        self.queues()
        self.categories()
        self.markets()
        return self.changes

    def metadata(self) -> None:
        old, new = self.old.metadata, self.new.metadata
        if old.id != new.id:
            self.add("metadata-changed", "metadata.id", old.id, new.id, "major", [])
        if old.title != new.title:
            self.add("metadata-changed", "metadata.title", old.title, new.title, "patch", ["human_guidelines"])
        if sorted(old.owners) != sorted(new.owners):
            self.add("metadata-changed", "metadata.owners", old.owners, new.owners, "patch", [])
        if old.effective_date != new.effective_date:
            self.add("metadata-changed", "metadata.effective_date", old.effective_date, new.effective_date, "patch", [])
        if old.version != new.version:
            self.add("metadata-changed", "metadata.version", old.version, new.version, "none", [])
        removed, matched, added = _pair(old.changelog, new.changelog, "version")
        for entry in removed:
            self.add("metadata-changed", f"metadata.changelog[{entry.version}]", entry, None, "none", [])
        for before, after in matched:
            if before != after:
                self.add("metadata-changed", f"metadata.changelog[{after.version}]", before, after, "none", [])
        for entry in added:
            self.add("metadata-changed", f"metadata.changelog[{entry.version}]", None, entry, "none", [])

    def definitions(self) -> None:
        removed, matched, added = _pair(self.old.definitions, self.new.definitions, "term")
        for d in removed:
            self.add("definition-removed", f"definitions[{d.term}]", d.definition, None, "patch", TEXT)
        for before, after in matched:
            if before.definition != after.definition:
                self.add("definition-changed", f"definitions[{after.term}]", before.definition, after.definition, "patch", TEXT)
        for d in added:
            self.add("definition-added", f"definitions[{d.term}]", None, d.definition, "patch", TEXT)

    def actions(self) -> None:
        removed, matched, added = _pair(self.old.actions, self.new.actions, "id")
        for a in removed:
            self.add("action-removed", f"actions[{a.id}]", a, None, "major", ["enforcement_actions"])
        for before, after in matched:
            path = f"actions[{after.id}]"
            if before.kind != after.kind:
                direction = _direction(
                    self._action_rank(self.old, before.id), self._action_rank(self.new, after.id)
                )
                self.add(
                    "action-changed", f"{path}.kind", before.kind, after.kind, _bump_for(direction),
                    ["enforcement_actions"], direction=direction,
                )
            if before.description != after.description:
                self.add("action-changed", f"{path}.description", before.description, after.description, "patch", ["human_guidelines"])
            if _dsa_key(before.dsa) != _dsa_key(after.dsa):
                self.add("dsa-changed", f"{path}.dsa", before.dsa, after.dsa, "minor", ["dsa_reporting"])
        for a in added:
            self.add("action-added", f"actions[{a.id}]", None, a, "minor", ["enforcement_actions"])

    def queues(self) -> None:
        removed, matched, added = _pair(self.old.queues, self.new.queues, "id")
        for q in removed:
            self.add("queue-removed", f"queues[{q.id}]", q, None, "major", ["routing"])
        for before, after in matched:
            for field in ("title", "description", "priority", "sla_hours", "reviewer_role"):
                b, a = getattr(before, field), getattr(after, field)
                if b != a:
                    bump: Bump = "patch" if field in ("title", "description") else "minor"
                    self.add("queue-changed", f"queues[{after.id}].{field}", b, a, bump, ["routing"])
        for q in added:
            self.add("queue-added", f"queues[{q.id}]", None, q, "minor", ["routing"])

    def categories(self) -> None:
        removed, matched, added = _pair(self.old.categories, self.new.categories, "id")
        for c in removed:
            self.add("category-removed", f"categories[{c.id}]", {"title": c.title}, None, "major", ALL_IMPACTS, category=c.id)
        for before, after in matched:
            self.category(before, after)
        for c in added:
            self.add("category-added", f"categories[{c.id}]", None, {"title": c.title}, "minor", ALL_IMPACTS, category=c.id)

    def category(self, old: Category, new: Category) -> None:
        cid = new.id
        base = f"categories[{cid}]"
        for field in ("title", "description"):
            if getattr(old, field) != getattr(new, field):
                self.add("category-changed", f"{base}.{field}", getattr(old, field), getattr(new, field), "patch", TEXT, category=cid)
        if old.escalation_queue != new.escalation_queue:
            self.add(
                "category-changed", f"{base}.escalation_queue", old.escalation_queue, new.escalation_queue,
                "minor", ["routing"], category=cid,
            )
        self.severities(old, new)
        self.rules(old.rules, new.rules, f"{base}.rules", cid, market=None)
        self.tree(old, new)
        self.examples(old, new)
        self.thresholds(old.thresholds, new.thresholds, f"{base}.thresholds", cid, market=None)
        self.matchers(old.matchers, new.matchers, f"{base}.matchers", cid, market=None)
        if old.auto_action != new.auto_action:
            direction = _direction(self._action_rank(self.old, old.auto_action), self._action_rank(self.new, new.auto_action))
            self.add(
                "auto-action-changed", f"{base}.auto_action", old.auto_action, new.auto_action, _bump_for(direction),
                ["classifier_thresholds", "enforcement_actions"], category=cid, direction=direction,
            )
        old_dsa, new_dsa = old.dsa.model_dump(mode="json"), new.dsa.model_dump(mode="json")
        for field in old_dsa:
            b, a = old_dsa[field], new_dsa[field]
            if (sorted(b) != sorted(a)) if field == "keywords" else (b != a):
                self.add("dsa-changed", f"{base}.dsa.{field}", b, a, "minor", ["dsa_reporting"], category=cid)

    def severities(self, old: Category, new: Category) -> None:
        cid = new.id
        base = f"categories[{cid}].severities"
        impact: list[Impact] = ["llm_prompts", "human_guidelines", "enforcement_actions"]
        removed, matched, added = _pair(old.severities, new.severities, "id")
        for s in removed:
            self.add("category-changed", f"{base}[{s.id}]", s, None, "major", impact, category=cid)
        for before, after in matched:
            path = f"{base}[{after.id}]"
            if before.description != after.description:
                self.add("category-changed", f"{path}.description", before.description, after.description, "patch", TEXT, category=cid)
            if before.rank != after.rank:
                self.add("category-changed", f"{path}.rank", before.rank, after.rank, "minor", impact, category=cid)
            if before.requires_human != after.requires_human:
                self.add(
                    "category-changed", f"{path}.requires_human", before.requires_human, after.requires_human,
                    "minor", ["routing", "enforcement_actions"], category=cid,
                )
            if before.default_action != after.default_action:
                direction = _direction(
                    self._action_rank(self.old, before.default_action), self._action_rank(self.new, after.default_action)
                )
                self.add(
                    "category-changed", f"{path}.default_action", before.default_action, after.default_action,
                    _bump_for(direction), ["enforcement_actions"], category=cid, direction=direction,
                )
        for s in added:
            self.add("category-changed", f"{base}[{s.id}]", None, s, "minor", impact, category=cid)

    def rules(self, old: list[Rule], new: list[Rule], base: str, cid: str, market: str | None) -> None:
        """Rules of a category, or a market's extra rules for it (then kinds say market-rule)."""
        added_kind: ChangeKind = "market-rule-added" if market else "rule-added"
        removed_kind: ChangeKind = "market-rule-removed" if market else "rule-removed"
        where = {"category": cid, "market": market}
        removed, matched, added = _pair(old, new, "id")
        for r in removed:
            self.add(removed_kind, f"{base}[{r.id}]", r, None, "major", TEXT, **where)
        for before, after in matched:
            path = f"{base}[{after.id}]"
            for field in ("title", "statement", "includes", "excludes"):
                b, a = getattr(before, field), getattr(after, field)
                if b != a:
                    self.add("rule-reworded", f"{path}.{field}", b, a, "patch", TEXT, **where)
            if before.severity != after.severity:
                direction = _direction(
                    self._severity_rank(self.old, cid, before.severity), self._severity_rank(self.new, cid, after.severity)
                )
                self.add(
                    "severity-changed", f"{path}.severity", before.severity, after.severity, _bump_for(direction),
                    [*TEXT, "enforcement_actions"], direction=direction, **where,
                )
        for r in added:
            self.add(added_kind, f"{base}[{r.id}]", None, r, "minor", TEXT, **where)

    def matchers(self, old: list[Matcher], new: list[Matcher], base: str, cid: str, market: str | None) -> None:
        """Exact-match rules: a new or stricter one acts on more content (MINOR); removing one,
        or letting fewer values hit, loosens enforcement (MAJOR)."""
        where = {"category": cid, "market": market}
        impact: list[Impact] = ["rules", "enforcement_actions"]
        removed, matched, added = _pair(old, new, "id")
        for m in removed:
            self.add("matcher-removed", f"{base}[{m.id}]", m, None, "major", impact, direction="loosened", **where)
        for before, after in matched:
            path = f"{base}[{after.id}]"
            if set(before.values) != set(after.values):
                dropped = set(before.values) - set(after.values)
                direction: Direction | None = "loosened" if dropped else "tightened"
                self.add(
                    "matcher-changed", f"{path}.values", sorted(before.values), sorted(after.values),
                    _bump_for(direction), impact, direction=direction, **where,
                )
            if before.verdict != after.verdict:
                direction = _direction(LABEL_STRICTNESS[before.verdict], LABEL_STRICTNESS[after.verdict])
                self.add("matcher-changed", f"{path}.verdict", before.verdict, after.verdict, _bump_for(direction),
                         impact, direction=direction, **where)  # fmt: skip
            if before.acts_alone != after.acts_alone:
                direction = "tightened" if after.acts_alone else "loosened"
                self.add("matcher-changed", f"{path}.acts_alone", before.acts_alone, after.acts_alone,
                         _bump_for(direction), impact, direction=direction, **where)  # fmt: skip
            if before.action != after.action:
                direction = _direction(self._action_rank(self.old, before.action), self._action_rank(self.new, after.action))
                self.add("matcher-changed", f"{path}.action", before.action, after.action, _bump_for(direction),
                         impact, direction=direction, **where)  # fmt: skip
            for field in ("kind", "rule_ids", "queue"):
                b, a = getattr(before, field), getattr(after, field)
                if b != a:
                    self.add("matcher-changed", f"{path}.{field}", b, a, "major" if field == "kind" else "minor", impact, **where)
            if before.description != after.description:
                self.add("matcher-changed", f"{path}.description", before.description, after.description, "patch", ["rules"], **where)
        for m in added:
            self.add("matcher-added", f"{base}[{m.id}]", None, m, "minor", impact, direction="tightened", **where)

    def tree(self, old: Category, new: Category) -> None:
        cid = new.id
        base = f"categories[{cid}].tree"
        if old.tree.root != new.tree.root:
            self.add("branch-changed", f"{base}.root", old.tree.root, new.tree.root, "minor", TEXT, category=cid)
        self.nodes(old.tree.nodes, new.tree.nodes, f"{base}.nodes", cid)
        self.outcomes(old.tree.outcomes, new.tree.outcomes, f"{base}.outcomes", cid)

    def nodes(self, old: dict[str, Node], new: dict[str, Node], base: str, cid: str) -> None:
        for node_id in old.keys() - new.keys():
            self.add("node-removed", f"{base}[{node_id}]", old[node_id], None, "minor", TEXT, category=cid)
        for node_id, after in new.items():
            path = f"{base}[{node_id}]"
            before = old.get(node_id)
            if before is None:
                self.add("node-added", path, None, after, "minor", TEXT, category=cid)
                continue
            if before.question != after.question:
                self.add("question-changed", f"{path}.question", before.question, after.question, "patch", TEXT, category=cid)
            if before.guidance != after.guidance:
                self.add("guidance-changed", f"{path}.guidance", before.guidance, after.guidance, "patch", TEXT, category=cid)
            if _wiring(before) != _wiring(after):
                self.add("branch-changed", f"{path}.branches", _wiring(before), _wiring(after), "minor", TEXT, category=cid)

    def outcomes(self, old: dict[str, Outcome], new: dict[str, Outcome], base: str, cid: str) -> None:
        impact: list[Impact] = [*TEXT, "enforcement_actions"]
        for outcome_id in old.keys() - new.keys():
            self.add("outcome-removed", f"{base}[{outcome_id}]", old[outcome_id], None, "minor", impact, category=cid)
        for outcome_id, after in new.items():
            path = f"{base}[{outcome_id}]"
            before = old.get(outcome_id)
            if before is None:
                self.add("outcome-added", path, None, after, "minor", impact, category=cid)
                continue
            if before.label != after.label:
                direction = _direction(LABEL_STRICTNESS[before.label], LABEL_STRICTNESS[after.label])
                self.add(
                    "outcome-changed", f"{path}.label", before.label, after.label, _bump_for(direction), impact,
                    category=cid, direction=direction,
                )
            if before.rule_ids != after.rule_ids:
                self.add("outcome-changed", f"{path}.rule_ids", before.rule_ids, after.rule_ids, "minor", TEXT, category=cid)
            if before.action != after.action:
                direction = _direction(self._action_rank(self.old, before.action), self._action_rank(self.new, after.action))
                self.add(
                    "action-changed", f"{path}.action", before.action, after.action, _bump_for(direction),
                    ["enforcement_actions"], category=cid, direction=direction,
                )
            if before.escalate != after.escalate:
                self.add("outcome-changed", f"{path}.escalate", before.escalate, after.escalate, "minor", ["routing"], category=cid)
            if before.note != after.note:
                self.add("outcome-changed", f"{path}.note", before.note, after.note, "patch", TEXT, category=cid)

    def examples(self, old: Category, new: Category) -> None:
        cid = new.id
        base = f"categories[{cid}].examples"
        removed, matched, added = _pair(old.examples, new.examples, "id")
        for e in removed:
            self.add("example-removed", f"{base}[{e.id}]", e, None, "patch", TEXT, category=cid)
        for before, after in matched:
            for field in ("kind", "text", "expected", "answers", "rationale"):
                b, a = getattr(before, field), getattr(after, field)
                if b != a:
                    self.add("example-changed", f"{base}[{after.id}].{field}", b, a, "patch", TEXT, category=cid)
        for e in added:
            self.add("example-added", f"{base}[{e.id}]", None, e, "patch", TEXT, category=cid)

    def thresholds(
        self,
        old: Thresholds | None,
        new: Thresholds | None,
        base: str,
        cid: str,
        market: str | None,
        old_effective: Thresholds | None = None,
        new_effective: Thresholds | None = None,
    ) -> None:
        """A lower cut-off acts on more content (tightened); a higher one on less (loosened).

        For a market override the direction compares the effective cut-offs (override, or
        the category's own where there is none), so adding an override equal to the
        category's value is a no-op in enforcement and only a PATCH.
        """
        for field in ("auto_action", "review"):
            b = getattr(old, field) if old else None
            a = getattr(new, field) if new else None
            if b == a:
                continue
            eff_b = b if b is not None else getattr(old_effective, field, None)
            eff_a = a if a is not None else getattr(new_effective, field, None)
            direction: Direction | None = None
            if eff_b is not None and eff_a is not None and eff_b != eff_a:
                direction = "tightened" if eff_a < eff_b else "loosened"
            bump: Bump = _bump_for(direction) if direction else ("patch" if eff_b == eff_a else "minor")
            self.add(
                "threshold-changed", f"{base}.{field}", b, a, bump, ["classifier_thresholds"],
                category=cid, market=market, direction=direction,
            )

    def markets(self) -> None:
        removed, matched, added = _pair(self.old.markets, self.new.markets, "id")
        everything: list[Impact] = ["classifier_thresholds", *TEXT, "routing"]
        for m in removed:
            self.add("market-removed", f"markets[{m.id}]", {"title": m.title}, None, "major", everything, market=m.id)
        for before, after in matched:
            self.market(before, after)
        for m in added:
            self.add("market-added", f"markets[{m.id}]", None, {"title": m.title}, "minor", everything, market=m.id)

    def market(self, old: Market, new: Market) -> None:
        mid = new.id
        base = f"markets[{mid}]"
        if old.title != new.title:
            self.add("market-changed", f"{base}.title", old.title, new.title, "patch", [], market=mid)
        if sorted(old.languages) != sorted(new.languages):
            self.add("market-changed", f"{base}.languages", old.languages, new.languages, "minor", ["routing"], market=mid)
        if old.legal_basis != new.legal_basis:
            self.add("market-changed", f"{base}.legal_basis", old.legal_basis, new.legal_basis, "patch", ["dsa_reporting"], market=mid)
        for cid in [*old.categories, *(c for c in new.categories if c not in old.categories)]:
            before = old.categories.get(cid)
            after = new.categories.get(cid)
            path = f"{base}.categories[{cid}]"
            if before is None or after is None:
                present = after if before is None else before
                if present == MarketCategoryOverride():
                    self.add("market-changed", path, _dump(before), _dump(after), "patch", [], category=cid, market=mid)
                    continue
            before = before or MarketCategoryOverride()
            after = after or MarketCategoryOverride()
            old_category, new_category = self.old.category(cid), self.new.category(cid)
            self.thresholds(
                before.thresholds, after.thresholds, f"{path}.thresholds", cid, market=mid,
                old_effective=old_category.thresholds if old_category else None,
                new_effective=new_category.thresholds if new_category else None,
            )
            self.rules(before.extra_rules, after.extra_rules, f"{path}.extra_rules", cid, market=mid)
            self.matchers(before.matchers, after.matchers, f"{path}.matchers", cid, market=mid)


def _wiring(node: Node) -> dict[str, Any]:
    """What a node's answers lead to (and its type): the part of a node that routes a walk."""
    wiring: dict[str, Any] = {"type": node.type}
    for field in ("yes", "no", "options"):
        if getattr(node, field) is not None:
            wiring[field] = getattr(node, field)
    return wiring


def _dsa_key(dsa: Any) -> Any:
    """A DSA mapping compared as the hash compares it: visibility values are a set."""
    if dsa is None:
        return None
    data = dsa.model_dump(mode="json")
    data["decision_visibility"] = sorted(data["decision_visibility"])
    return data


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """Every semantic change from `old` to `new`, with both identities (id, version, hash)."""
    return PolicyDiff(old=identity(old), new=identity(new), changes=_Differ(old, new).run())


# --------------------------------------------------------------------------- rendering

_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> str:
    """Inline word-level diff in git's style: `[-removed-]{+added+}`."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append("".join(a[i1:i2]))
            continue
        if op in ("delete", "replace"):
            out.append("[-" + "".join(a[i1:i2]) + "-]")
        if op in ("insert", "replace"):
            out.append("{+" + "".join(b[j1:j2]) + "+}")
    return "".join(out)


def _brief(value: Any, limit: int = 100) -> str:
    """A one-line rendering of a value: its title/text if it has one, else compact JSON."""
    if isinstance(value, dict):
        for key in ("title", "question", "statement", "text", "summary", "description"):
            if isinstance(value.get(key), str):
                value = value[key]
                break
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _marker(change: Change) -> str:
    if change.old is None and change.new is not None:
        return "+"
    if change.new is None and change.old is not None:
        return "-"
    return "~"


def _detail(change: Change) -> list[str]:
    """The lines under a change's heading: what it was and what it is."""
    old, new = change.old, change.new
    if old is None or new is None:
        return [_brief(new if old is None else old)]
    if isinstance(old, str) and isinstance(new, str) and (len(old) > 40 or len(new) > 40 or " " in old + new):
        return [word_diff(old, new)]
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            f"{key}: {_brief(old.get(key, '(none)'))} -> {_brief(new.get(key, '(none)'))}"
            for key in sorted(old.keys() | new.keys())
            if old.get(key) != new.get(key)
        ]
    if isinstance(old, list) and isinstance(new, list) and all(isinstance(v, str) for v in old + new):
        lines = [f"- {v}" for v in old if v not in new] + [f"+ {v}" for v in new if v not in old]
        return lines or [f"order: {_brief(old)} -> {_brief(new)}"]
    return [f"{_brief(old)} -> {_brief(new)}"]


def _group(change: Change) -> str:
    if change.category:
        return f"category {change.category}"
    if change.market:
        return f"market {change.market}"
    return "policy"


def render_text(diff: PolicyDiff) -> str:
    """The diff for people: a header, then changes grouped by category, marked +/-/~."""
    lines = [f"{diff.old} -> {diff.new}"]
    if diff.old.id != diff.new.id:
        lines.append(f"warning: comparing two different policies ({diff.old.id!r} and {diff.new.id!r})")
    if not diff.changes:
        lines.append("no changes")
        return "\n".join(lines) + "\n"
    content = "content changed" if diff.content_changed else "content unchanged (same hash)"
    lines.append(
        f"{len(diff.changes)} change(s); {content}; calls for a {diff.required_bump().upper()} version bump"
    )
    if diff.impacts():
        lines.append("affects: " + ", ".join(diff.impacts()))
    groups: dict[str, list[Change]] = {}
    for change in diff.changes:
        groups.setdefault(_group(change), []).append(change)
    for group, changes in groups.items():
        lines.append("")
        lines.append(group)
        for change in changes:
            tag = f" ({change.direction})" if change.direction else ""
            lines.append(f"  {_marker(change)} {change.kind}: {change.path}{tag}")
            lines.extend(f"      {line}" for line in _detail(change))
    return "\n".join(lines) + "\n"
