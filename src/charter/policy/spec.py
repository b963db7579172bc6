"""The policy spec: Pydantic models for a moderation policy written as YAML.

Every other part of Charter (compiler, engines, evaluation, change management) reads a
policy through these models, so they are strict: unknown keys are errors, identifiers have
a fixed shape, and enumerations follow the EU DSA Transparency Database schema.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$", max_length=64)]
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*\.[A-Za-z0-9_.\-]+$", max_length=64)]
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.\-]+)?$")


class Strict(BaseModel):
    """Base for every spec model: unknown keys are mistakes, not extensions."""

    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=True)


# --------------------------------------------------------------------------- actions


class ActionKind(str, Enum):
    """What an enforcement action does, ordered from least to most restrictive."""

    allow = "allow"
    label = "label"
    age_restrict = "age_restrict"
    demote = "demote"
    remove = "remove"
    suspend_account = "suspend_account"
    escalate = "escalate"

    @property
    def strength(self) -> int:
        """Rank used to compare actions; escalate is not comparable and ranks -1."""
        return ACTION_STRENGTH[self]

    @property
    def restricts(self) -> bool:
        """Whether the action restricts content or an account (and so needs a DSA SoR)."""
        return self in RESTRICTIVE_KINDS


ACTION_STRENGTH = {
    ActionKind.allow: 0,
    ActionKind.label: 1,
    ActionKind.age_restrict: 2,
    ActionKind.demote: 3,
    ActionKind.remove: 4,
    ActionKind.suspend_account: 5,
    ActionKind.escalate: -1,
}
RESTRICTIVE_KINDS = {
    ActionKind.label,
    ActionKind.age_restrict,
    ActionKind.demote,
    ActionKind.remove,
    ActionKind.suspend_account,
}


class DecisionVisibility(str, Enum):
    DECISION_VISIBILITY_CONTENT_REMOVED = "DECISION_VISIBILITY_CONTENT_REMOVED"
    DECISION_VISIBILITY_CONTENT_DISABLED = "DECISION_VISIBILITY_CONTENT_DISABLED"
    DECISION_VISIBILITY_CONTENT_DEMOTED = "DECISION_VISIBILITY_CONTENT_DEMOTED"
    DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED = "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"
    DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED = "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED"
    DECISION_VISIBILITY_CONTENT_LABELLED = "DECISION_VISIBILITY_CONTENT_LABELLED"
    DECISION_VISIBILITY_OTHER = "DECISION_VISIBILITY_OTHER"


class DecisionAccount(str, Enum):
    DECISION_ACCOUNT_SUSPENDED = "DECISION_ACCOUNT_SUSPENDED"
    DECISION_ACCOUNT_TERMINATED = "DECISION_ACCOUNT_TERMINATED"


class DecisionProvision(str, Enum):
    DECISION_PROVISION_PARTIAL_SUSPENSION = "DECISION_PROVISION_PARTIAL_SUSPENSION"
    DECISION_PROVISION_TOTAL_SUSPENSION = "DECISION_PROVISION_TOTAL_SUSPENSION"
    DECISION_PROVISION_PARTIAL_TERMINATION = "DECISION_PROVISION_PARTIAL_TERMINATION"
    DECISION_PROVISION_TOTAL_TERMINATION = "DECISION_PROVISION_TOTAL_TERMINATION"


class DsaActionMapping(Strict):
    """How an action is reported in a DSA statement of reasons (the decision_* fields)."""

    decision_visibility: list[DecisionVisibility] = Field(default_factory=list)
    decision_visibility_other: str | None = Field(default=None, max_length=500)
    decision_account: DecisionAccount | None = None
    decision_provision: DecisionProvision | None = None

    def is_empty(self) -> bool:
        return not (self.decision_visibility or self.decision_account or self.decision_provision)


class Action(Strict):
    """A named enforcement action, e.g. `remove` or `label_ai`, of one ActionKind."""

    id: Identifier
    kind: ActionKind
    description: str
    dsa: DsaActionMapping | None = None


# --------------------------------------------------------------------------- DSA category


class StatementCategory(str, Enum):
    STATEMENT_CATEGORY_ANIMAL_WELFARE = "STATEMENT_CATEGORY_ANIMAL_WELFARE"
    STATEMENT_CATEGORY_CONSUMER_INFORMATION = "STATEMENT_CATEGORY_CONSUMER_INFORMATION"
    STATEMENT_CATEGORY_CYBER_VIOLENCE = "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN = "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN"
    STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS = "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS = (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    )
    STATEMENT_CATEGORY_OTHER_VIOLATION_TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    STATEMENT_CATEGORY_PROTECTION_OF_MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    STATEMENT_CATEGORY_SCAMS_AND_FRAUD = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    STATEMENT_CATEGORY_SELF_HARM = "STATEMENT_CATEGORY_SELF_HARM"
    STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS = "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    STATEMENT_CATEGORY_VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE"


class DecisionGround(str, Enum):
    DECISION_GROUND_ILLEGAL_CONTENT = "DECISION_GROUND_ILLEGAL_CONTENT"
    DECISION_GROUND_INCOMPATIBLE_CONTENT = "DECISION_GROUND_INCOMPATIBLE_CONTENT"


KeywordId = Annotated[str, StringConstraints(pattern=r"^KEYWORD_[A-Z_]+$")]


class CategoryDsa(Strict):
    """The statement-of-reasons facts shared by every restriction in a category."""

    category: StatementCategory
    keywords: list[KeywordId] = Field(default_factory=list)
    ground: DecisionGround = DecisionGround.DECISION_GROUND_INCOMPATIBLE_CONTENT
    ground_reference_url: str | None = Field(default=None, max_length=500)
    legal_ground: str | None = Field(default=None, max_length=500)


# --------------------------------------------------------------------------- metadata


class ChangelogEntry(Strict):
    version: str
    date: dt.date
    summary: str
    author: str | None = None


class Metadata(Strict):
    id: Identifier
    title: str
    version: str
    owners: list[str] = Field(min_length=1)
    effective_date: dt.date
    changelog: list[ChangelogEntry] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not SEMVER.match(value):
            raise ValueError(f"version {value!r} is not semantic versioning (MAJOR.MINOR.PATCH)")
        return value


class Definition(Strict):
    term: str
    definition: str


# --------------------------------------------------------------------------- categories


class Severity(Strict):
    """A severity tier (low → critical) and the action it calls for by default.

    `requires_human`: machines may flag content of this severity but never act on it alone;
    the cascade sends what it would enforce under such a rule to the category's review queue.
    """

    id: Identifier
    rank: int = Field(ge=0, le=10)
    description: str
    default_action: Identifier
    requires_human: bool = False


class Rule(Strict):
    id: RuleId
    title: str
    severity: Identifier
    statement: str
    includes: list[str] = Field(default_factory=list)
    excludes: list[str] = Field(default_factory=list)


Label = Literal["violating", "allowed", "needs_review"]
ExampleKind = Literal["violating", "allowed", "borderline"]


class Escalation(Strict):
    queue: Identifier
    reason: str | None = None


class Outcome(Strict):
    """A leaf of a decision tree: the verdict, the rules it applies and the action."""

    label: Label
    rule_ids: list[RuleId] = Field(default_factory=list)
    action: Identifier | None = None
    escalate: Escalation | None = None
    note: str | None = None


class Node(Strict):
    """One question of a chain-of-thought decision tree.

    A yes/no node has `yes` and `no` branches; a choice node has `options`. A branch names
    another node or an outcome of the same tree.
    """

    question: str
    guidance: str | None = None
    type: Literal["yes_no", "choice"] = "yes_no"
    yes: Identifier | None = None
    no: Identifier | None = None
    options: dict[Identifier, Identifier] | None = None

    def branches(self) -> dict[str, str]:
        """Answer → target, whatever the node type."""
        if self.type == "yes_no":
            return {k: v for k, v in (("yes", self.yes), ("no", self.no)) if v is not None}
        return dict(self.options or {})


class Tree(Strict):
    root: Identifier
    nodes: dict[Identifier, Node]
    outcomes: dict[Identifier, Outcome]


class Expected(Strict):
    label: Label
    rule_ids: list[RuleId] = Field(default_factory=list)
    action: Identifier | None = None


class Example(Strict):
    """A labelled example; `answers` is the stated path (node id → answer) through the tree."""

    id: Identifier
    kind: ExampleKind
    text: str
    expected: Expected
    answers: dict[Identifier, Identifier]
    rationale: str | None = None


MatcherKind = Literal["terms", "regex", "exact"]
MatcherVerdict = Literal["violating", "needs_review"]


class Matcher(Strict):
    """An exact-match rule: a term list, regular expressions or known-bad item hashes.

    Every kind reads the normalized text (`charter.engines.normalize`): `terms` are words or
    phrases matched whole and case-insensitively; `regex` patterns are searched
    case-insensitively; `exact` values are sha256 digests of the normalized, case-folded,
    whitespace-collapsed text of known-bad items. A hit gives `verdict` for the category:
    violating (with `action`, default the category's auto_action) or needs_review (sent to
    `queue`, default the category's escalation queue). Only an `acts_alone` matcher decides;
    any other hit is a signal that keeps the category from being cleared automatically.
    """

    id: Identifier
    kind: MatcherKind
    description: str | None = None
    values: list[str]
    rule_ids: list[RuleId] = Field(default_factory=list)
    verdict: MatcherVerdict
    action: Identifier | None = None
    queue: Identifier | None = None
    acts_alone: bool = False


class Thresholds(Strict):
    """Classifier score cut-offs for one category: act automatically, or send to review."""

    auto_action: float = Field(ge=0.0, le=1.0)
    review: float = Field(ge=0.0, le=1.0)


class Category(Strict):
    id: Identifier
    title: str
    description: str
    severities: list[Severity] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)
    tree: Tree
    examples: list[Example] = Field(default_factory=list)
    thresholds: Thresholds
    auto_action: Identifier
    dsa: CategoryDsa
    escalation_queue: Identifier | None = None
    matchers: list[Matcher] = Field(default_factory=list)

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def severity(self, severity_id: str) -> Severity | None:
        return next((s for s in self.severities if s.id == severity_id), None)


# --------------------------------------------------------------------------- escalation and markets


class Queue(Strict):
    id: Identifier
    title: str
    priority: int = Field(ge=1, le=5, description="1 = most urgent")
    sla_hours: float = Field(gt=0)
    reviewer_role: Identifier = "reviewer"
    description: str | None = None


class MarketCategoryOverride(Strict):
    thresholds: Thresholds | None = None
    extra_rules: list[Rule] = Field(default_factory=list)
    matchers: list[Matcher] = Field(default_factory=list)


class Market(Strict):
    """A market/locale override: it may tighten thresholds and add rules and matchers, never loosen."""

    id: Identifier
    title: str
    languages: list[str] = Field(default_factory=list)
    legal_basis: str | None = None
    categories: dict[Identifier, MarketCategoryOverride] = Field(default_factory=dict)


# --------------------------------------------------------------------------- the policy


class Policy(Strict):
    metadata: Metadata
    definitions: list[Definition] = Field(default_factory=list)
    actions: list[Action] = Field(min_length=1)
    queues: list[Queue] = Field(default_factory=list)
    categories: list[Category] = Field(min_length=1)
    markets: list[Market] = Field(default_factory=list)

    @property
    def id(self) -> str:
        return self.metadata.id

    @property
    def version(self) -> str:
        return self.metadata.version

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def action(self, action_id: str) -> Action | None:
        return next((a for a in self.actions if a.id == action_id), None)

    def queue(self, queue_id: str) -> Queue | None:
        return next((q for q in self.queues if q.id == queue_id), None)

    def market(self, market_id: str) -> Market | None:
        return next((m for m in self.markets if m.id == market_id), None)

    def category_ids(self) -> list[str]:
        return [c.id for c in self.categories]
