"""Static checks on a parsed policy: what pydantic cannot see because it spans several parts
of the document (references, tree shape, examples against the tree, DSA completeness,
severity/action and threshold consistency). Lint runs before anything is compiled or served,
so a policy that passes it can be enforced by every pathway without surprises.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from charter.errors import Location, Problem
from charter.policy.load import Loc, LoadedPolicy, document_path
from charter.policy.matchers import DIGEST, WORD, regex_problem
from charter.policy.spec import (
    ActionKind,
    Category,
    DecisionGround,
    DecisionVisibility,
    Matcher,
    Policy,
    Rule,
    Thresholds,
    Tree,
)
from charter.policy.tree import TreeWalkError, find_cycle, reachable, walk

MIN_EXAMPLES = 6
TERM_REFERENCE = re.compile(r"\[\[([^\[\]]+)\]\]")


@dataclass
class LintReport:
    """The outcome of linting: errors block compiling, warnings are worth a look."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready report (for `charter policy lint --json` and the HTTP API)."""
        return {
            "ok": self.ok,
            "errors": [problem_dict(p, "error") for p in self.errors],
            "warnings": [problem_dict(p, "warning") for p in self.warnings],
        }


def problem_dict(problem: Problem, severity: str) -> dict[str, Any]:
    """One problem as a flat JSON object."""
    loc = problem.location
    return {
        "severity": severity,
        "code": problem.code,
        "message": problem.message,
        "file": loc.file,
        "line": loc.line,
        "column": loc.column,
        "path": loc.path,
    }


class _Collector:
    """Collects problems, locating each document path in the source when there is one."""

    def __init__(self, policy: Policy, source: LoadedPolicy | None):
        self.policy = policy
        self.source = source
        self.report = LintReport()

    def where(self, loc: Loc, at_key: bool = False) -> Location:
        if self.source is not None:
            return self.source.locate(loc, at_key=at_key)
        return Location(path=document_path(self.policy, loc))

    def error(self, code: str, loc: Loc, message: str, at_key: bool = False) -> None:
        self.report.errors.append(Problem(message, self.where(loc, at_key), code=code))

    def warn(self, code: str, loc: Loc, message: str, at_key: bool = False) -> None:
        self.report.warnings.append(Problem(message, self.where(loc, at_key), code=code))


def lint_policy(policy: Policy, source: LoadedPolicy | None = None) -> LintReport:
    """Every cross-reference and consistency check; pass `source` to get file/line locations."""
    lint = _Collector(policy, source)
    _check_duplicates(lint)
    _check_metadata(lint)
    _check_actions(lint)
    for index, category in enumerate(policy.categories):
        base: Loc = ("categories", index)
        _check_category_refs(lint, category, base)
        _check_severities(lint, category, base)
        _check_tree(lint, category, base)
        _check_outcomes(lint, category, base)
        _check_examples(lint, category, base)
        _check_thresholds(lint, category.thresholds, (*base, "thresholds"))
        _check_matchers(lint, category, category.matchers, (*base, "matchers"), category.rules)
    _check_markets(lint)
    _check_terms(lint)
    if source is not None:
        for problems in (lint.report.errors, lint.report.warnings):
            problems.sort(key=lambda p: (p.location.line or 0, p.location.column or 0))
    return lint.report


# --------------------------------------------------------------------------- helpers


def _suggest(value: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest known id, or ''."""
    match = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _known(kind: str, choices: Iterable[str], limit: int = 15) -> str:
    names = sorted(choices)
    if not names:
        return f"no {kind} are defined"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"known {kind}: {', '.join(names[:limit])}{more}"


def _action_kind(policy: Policy, action_id: str | None) -> ActionKind | None:
    action = policy.action(action_id) if action_id else None
    return action.kind if action is not None else None


def _all_rules(policy: Policy) -> Iterable[tuple[Rule, Loc]]:
    """Every rule with its document path: category rules, then market extra rules."""
    for ci, category in enumerate(policy.categories):
        for ri, rule in enumerate(category.rules):
            yield rule, ("categories", ci, "rules", ri)
    for mi, market in enumerate(policy.markets):
        for category_id, override in market.categories.items():
            for ri, rule in enumerate(override.extra_rules):
                yield rule, ("markets", mi, "categories", category_id, "extra_rules", ri)


def _all_matchers(policy: Policy) -> Iterable[tuple[Matcher, Loc]]:
    """Every matcher with its document path: category matchers, then market matchers."""
    for ci, category in enumerate(policy.categories):
        for mi, matcher in enumerate(category.matchers):
            yield matcher, ("categories", ci, "matchers", mi)
    for ki, market in enumerate(policy.markets):
        for category_id, override in market.categories.items():
            for mi, matcher in enumerate(override.matchers):
                yield matcher, ("markets", ki, "categories", category_id, "matchers", mi)


# --------------------------------------------------------------------------- duplicates


def _check_duplicates(lint: _Collector) -> None:
    """IDs that must be unique: a second definition would silently shadow the first."""
    policy = lint.policy

    def unique(kind: str, entries: Iterable[tuple[str, Loc]], code: str = "duplicate-id") -> None:
        first: dict[str, Loc] = {}
        for key, loc in entries:
            norm = key.casefold() if code == "duplicate-term" else key
            if norm in first:
                where = lint.where(first[norm])
                at = f" (line {where.line})" if where.line else ""
                lint.error(code, (*loc, "id") if code == "duplicate-id" else loc,
                           f"{kind} {key!r} is defined twice; first at {where.path}{at}")
            else:
                first[norm] = loc

    unique("category", ((c.id, ("categories", i)) for i, c in enumerate(policy.categories)))
    unique("action", ((a.id, ("actions", i)) for i, a in enumerate(policy.actions)))
    unique("queue", ((q.id, ("queues", i)) for i, q in enumerate(policy.queues)))
    unique("market", ((m.id, ("markets", i)) for i, m in enumerate(policy.markets)))
    unique("rule", ((rule.id, loc) for rule, loc in _all_rules(policy)))
    unique("matcher", ((matcher.id, loc) for matcher, loc in _all_matchers(policy)))
    unique(
        "example",
        ((e.id, ("categories", ci, "examples", ei))
         for ci, c in enumerate(policy.categories) for ei, e in enumerate(c.examples)),
    )
    unique("term", ((d.term, ("definitions", i, "term")) for i, d in enumerate(policy.definitions)), "duplicate-term")
    for ci, category in enumerate(policy.categories):
        unique("severity", ((s.id, ("categories", ci, "severities", si)) for si, s in enumerate(category.severities)))
        for outcome_id in category.tree.outcomes:
            if outcome_id in category.tree.nodes:
                lint.error(
                    "duplicate-id",
                    ("categories", ci, "tree", "outcomes", outcome_id),
                    f"outcome {outcome_id!r} has the same id as a node of this tree; a branch to it is ambiguous",
                    at_key=True,
                )


# --------------------------------------------------------------------------- metadata, actions


def _check_metadata(lint: _Collector) -> None:
    metadata = lint.policy.metadata
    if metadata.changelog and all(entry.version != metadata.version for entry in metadata.changelog):
        lint.warn(
            "changelog-version",
            ("metadata", "changelog"),
            f"the changelog has no entry for the current version {metadata.version}; say what changed",
        )


def _check_actions(lint: _Collector) -> None:
    """Restrictive actions must say how they are reported in a DSA statement of reasons."""
    for ai, action in enumerate(lint.policy.actions):
        loc: Loc = ("actions", ai)
        if action.kind.restricts and (action.dsa is None or action.dsa.is_empty()):
            lint.error(
                "missing-dsa-mapping",
                (*loc, "dsa") if action.dsa is not None else loc,
                f"action {action.id!r} ({action.kind.value}) restricts content but has no DSA mapping; add "
                "dsa.decision_visibility (or decision_account / decision_provision)",
            )
        if action.dsa is not None:
            for vi, visibility in enumerate(action.dsa.decision_visibility):
                if visibility is DecisionVisibility.DECISION_VISIBILITY_OTHER and not action.dsa.decision_visibility_other:
                    lint.error(
                        "missing-visibility-other",
                        (*loc, "dsa", "decision_visibility", vi),
                        "DECISION_VISIBILITY_OTHER needs dsa.decision_visibility_other describing the restriction",
                    )


# --------------------------------------------------------------------------- category references


def _check_ref(lint: _Collector, loc: Loc, value: str | None, known: Iterable[str], kind: str, what: str) -> None:
    """A dangling-reference error when `value` is set but not among `known`."""
    known = list(known)
    if value is not None and value not in known:
        lint.error(
            "dangling-reference",
            loc,
            f"{what} {value!r} is not a defined {kind}{_suggest(value, known)}; {_known(kind + 's', known)}",
        )


def _check_category_refs(lint: _Collector, category: Category, base: Loc) -> None:
    policy = lint.policy
    action_ids = [a.id for a in policy.actions]
    queue_ids = [q.id for q in policy.queues]
    severity_ids = [s.id for s in category.severities]
    _check_ref(lint, (*base, "auto_action"), category.auto_action, action_ids, "action", "auto_action")
    _check_ref(lint, (*base, "escalation_queue"), category.escalation_queue, queue_ids, "queue", "escalation_queue")
    for si, severity in enumerate(category.severities):
        _check_ref(lint, (*base, "severities", si, "default_action"), severity.default_action, action_ids,
                   "action", "default_action")
    for ri, rule in enumerate(category.rules):
        _check_ref(lint, (*base, "rules", ri, "severity"), rule.severity, severity_ids, "severity", "severity")
        if not rule.includes:
            lint.warn("rule-without-includes", (*base, "rules", ri),
                      f"rule {rule.id} lists no includes; give concrete examples of what it covers")
    if category.auto_action in action_ids and not _action_kind(policy, category.auto_action).restricts:
        lint.warn(
            "auto-action-not-restrictive",
            (*base, "auto_action"),
            f"auto_action {category.auto_action!r} does not restrict content; a classifier score above "
            "thresholds.auto_action would then change nothing",
        )
    if category.dsa.ground is DecisionGround.DECISION_GROUND_ILLEGAL_CONTENT and not category.dsa.legal_ground:
        lint.error(
            "missing-legal-ground",
            (*base, "dsa", "ground"),
            "a category restricted as illegal content needs dsa.legal_ground (the law it breaks)",
        )


def _check_severities(lint: _Collector, category: Category, base: Loc) -> None:
    """A more severe tier should not call for a weaker default action than a milder one."""
    strength = {}
    for severity in category.severities:
        kind = _action_kind(lint.policy, severity.default_action)
        if kind is not None and kind is not ActionKind.escalate:
            strength[severity.id] = kind.strength
    for si, severity in enumerate(category.severities):
        if severity.id not in strength:
            continue
        for other in category.severities:
            if other.rank < severity.rank and strength.get(other.id, -1) > strength[severity.id]:
                lint.warn(
                    "severity-order",
                    (*base, "severities", si, "default_action"),
                    f"severity {severity.id!r} (rank {severity.rank}) defaults to {severity.default_action!r}, "
                    f"weaker than {other.default_action!r} of the lower-ranked severity {other.id!r} (rank {other.rank})",
                )
                break


# --------------------------------------------------------------------------- trees


def _has_dangling_targets(tree: Tree) -> bool:
    """A root or branch pointing nowhere: everything below it then looks unreachable, so the
    reachability checks wait until the reference is fixed (one typo, one error)."""
    targets = {*tree.nodes, *tree.outcomes}
    if tree.root not in tree.nodes:
        return True
    return any(target not in targets for node in tree.nodes.values() for target in node.branches().values())


def _check_tree(lint: _Collector, category: Category, base: Loc) -> None:
    """Shape of each node, branch targets, cycles and reachability."""
    tree = category.tree
    tloc: Loc = (*base, "tree")
    targets = [*tree.nodes, *tree.outcomes]
    if tree.root in tree.outcomes:
        lint.error("dangling-reference", (*tloc, "root"),
                   f"root {tree.root!r} is an outcome; the root must be a question node")
    else:
        _check_ref(lint, (*tloc, "root"), tree.root, tree.nodes, "node", "root")
    for node_id, node in tree.nodes.items():
        nloc: Loc = (*tloc, "nodes", node_id)
        if node.type == "yes_no":
            missing = [name for name in ("yes", "no") if getattr(node, name) is None]
            if missing:
                lint.error("node-shape", nloc, f"yes/no node {node_id!r} has no {' or '.join(missing)} branch")
            if node.options is not None:
                lint.error("node-shape", (*nloc, "options"),
                           f"node {node_id!r} has options but type yes_no; set type: choice or use yes/no")
        else:
            if not node.options or len(node.options) < 2:
                lint.error("node-shape", nloc, f"choice node {node_id!r} needs at least two options")
            if node.yes is not None or node.no is not None:
                lint.error("node-shape", nloc, f"choice node {node_id!r} must use options, not yes/no")
        for answer, target in node.branches().items():
            where = (*nloc, answer) if node.type == "yes_no" else (*nloc, "options", answer)
            if target not in targets:
                lint.error(
                    "dangling-reference",
                    where,
                    f"branch {answer!r} of node {node_id!r} leads to {target!r}, which is neither a node nor an "
                    f"outcome of this tree{_suggest(target, targets)} (what lies below it is checked for "
                    "reachability once this is fixed)",
                )
    cycle = find_cycle(tree)
    if cycle:
        lint.error("tree-cycle", (*tloc, "nodes", cycle[0]),
                   f"the tree loops: {' -> '.join(cycle)}; every path must end at an outcome", at_key=True)
    if _has_dangling_targets(tree):
        return
    seen = reachable(tree)
    for node_id in tree.nodes:
        if node_id not in seen:
            lint.error("unreachable-node", (*tloc, "nodes", node_id),
                       f"node {node_id!r} cannot be reached from the root {tree.root!r}", at_key=True)
    for outcome_id in tree.outcomes:
        if outcome_id not in seen:
            lint.warn("unreachable-outcome", (*tloc, "outcomes", outcome_id),
                      f"outcome {outcome_id!r} cannot be reached from the root {tree.root!r}", at_key=True)


def _check_outcomes(lint: _Collector, category: Category, base: Loc) -> None:
    """Each outcome's label, action, escalation and rules agree; every rule is applied."""
    policy = lint.policy
    tree = category.tree
    action_ids = [a.id for a in policy.actions]
    queue_ids = [q.id for q in policy.queues]
    rule_ids = [r.id for r in category.rules]
    seen = reachable(tree)
    applied: dict[str, bool] = {}  # rule id -> applied by a reachable outcome
    for outcome_id, outcome in tree.outcomes.items():
        oloc: Loc = (*base, "tree", "outcomes", outcome_id)
        _check_ref(lint, (*oloc, "action"), outcome.action, action_ids, "action", "action")
        if outcome.escalate is not None:
            _check_ref(lint, (*oloc, "escalate", "queue"), outcome.escalate.queue, queue_ids, "queue", "escalate.queue")
        for k, rule_id in enumerate(outcome.rule_ids):
            if rule_id in rule_ids:
                applied[rule_id] = applied.get(rule_id, False) or outcome_id in seen
            else:
                elsewhere = next((c.id for c in policy.categories if c.rule(rule_id)), None)
                hint = f" (it belongs to category {elsewhere!r})" if elsewhere else _suggest(rule_id, rule_ids)
                lint.error("dangling-reference", (*oloc, "rule_ids", k),
                           f"rule {rule_id!r} is not a rule of category {category.id!r}{hint}")
        kind = _action_kind(policy, outcome.action)
        escalating = outcome.escalate is not None or kind is ActionKind.escalate
        if outcome.label == "violating" and outcome.action is None:
            lint.error("outcome-without-action", oloc,
                       f"outcome {outcome_id!r} is labelled violating but names no action")
        if outcome.label == "allowed" and kind is not None and (kind.restricts or kind is ActionKind.escalate):
            lint.error("label-action-mismatch", (*oloc, "action"),
                       f"outcome {outcome_id!r} is labelled allowed but its action {outcome.action!r} is {kind.value}")
        if outcome.label == "violating" and kind is ActionKind.allow:
            lint.error("label-action-mismatch", (*oloc, "action"),
                       f"outcome {outcome_id!r} is labelled violating but its action {outcome.action!r} allows the content")
        if escalating and outcome.label != "needs_review":
            lint.error("escalate-label", (*oloc, "label"),
                       f"outcome {outcome_id!r} escalates to review but is labelled {outcome.label!r}; "
                       "label it needs_review")
        if outcome.label == "needs_review":
            if outcome.escalate is None and category.escalation_queue is None:
                lint.error("escalation-without-queue", oloc,
                           f"outcome {outcome_id!r} needs review but names no queue; add escalate: {{queue: ...}} "
                           "or set the category's escalation_queue")
            if kind is not None and kind is not ActionKind.escalate:
                lint.error("escalation-action-kind", (*oloc, "action"),
                           f"outcome {outcome_id!r} needs review but its action {outcome.action!r} is {kind.value}, "
                           "not an escalate action")
        _check_rule_strength(lint, category, outcome_id, oloc)
    for ri, rule in enumerate(category.rules):
        if rule.id not in applied:
            lint.error("unapplied-rule", (*base, "rules", ri),
                       f"rule {rule.id} is applied by no outcome of the {category.id!r} tree; add it to an outcome's rule_ids")
        elif not applied[rule.id] and not _has_dangling_targets(tree):
            lint.error("unapplied-rule", (*base, "rules", ri),
                       f"rule {rule.id} is applied only by outcomes that cannot be reached from the root")


def _check_rule_strength(lint: _Collector, category: Category, outcome_id: str, oloc: Loc) -> None:
    """An outcome should act at least as strongly as the severities of the rules it applies."""
    outcome = category.tree.outcomes[outcome_id]
    kind = _action_kind(lint.policy, outcome.action)
    if kind is None or kind is ActionKind.escalate:
        return
    for rule_id in outcome.rule_ids:
        rule = category.rule(rule_id)
        severity = category.severity(rule.severity) if rule else None
        default = _action_kind(lint.policy, severity.default_action) if severity else None
        if default is not None and default is not ActionKind.escalate and default.strength > kind.strength:
            lint.warn(
                "severity-action-mismatch",
                (*oloc, "action"),
                f"outcome {outcome_id!r} applies {rule_id} (severity {severity.id!r}, default action "
                f"{severity.default_action!r}) but takes the weaker action {outcome.action!r}",
            )


# --------------------------------------------------------------------------- examples


def _verdict(label: str, rule_ids: list[str], action: str | None) -> str:
    rules = ", ".join(sorted(rule_ids)) or "none"
    return f"label {label}, rules [{rules}], action {action or 'none'}"


def _check_examples(lint: _Collector, category: Category, base: Loc) -> None:
    """Examples are test cases: their stated path must walk the tree to their expected verdict."""
    policy = lint.policy
    tree = category.tree
    eloc: Loc = (*base, "examples")
    if len(category.examples) < MIN_EXAMPLES:
        lint.warn("few-examples", eloc if category.examples else base,
                  f"category {category.id!r} has {len(category.examples)} examples; at least {MIN_EXAMPLES} "
                  "help reviewers and LLM prompts")
    if not any(example.kind == "borderline" for example in category.examples):
        lint.warn("no-borderline-example", eloc if category.examples else base,
                  f"category {category.id!r} has no borderline example; the hard cases teach the most")
    action_ids = [a.id for a in policy.actions]
    rule_ids = [r.id for r in category.rules]
    for ei, example in enumerate(category.examples):
        loc: Loc = (*eloc, ei)
        expected = example.expected
        for k, rule_id in enumerate(expected.rule_ids):
            _check_ref(lint, (*loc, "expected", "rule_ids", k), rule_id, rule_ids, "rule", "expected rule")
        _check_ref(lint, (*loc, "expected", "action"), expected.action, action_ids, "action", "expected action")
        if example.kind in ("violating", "allowed") and expected.label != example.kind:
            lint.error("example-kind-mismatch", (*loc, "expected", "label"),
                       f"example {example.id!r} is of kind {example.kind} but expects label {expected.label}")
        for node_id in example.answers:
            if node_id not in tree.nodes:
                lint.error("dangling-reference", (*loc, "answers", node_id),
                           f"answer given for {node_id!r}, which is not a node of the {category.id!r} tree"
                           f"{_suggest(node_id, tree.nodes)}", at_key=True)
        try:
            result = walk(tree, example.answers)
        except TreeWalkError as exc:
            if exc.node_id is not None and exc.node_id not in tree.nodes and exc.node_id not in tree.outcomes:
                continue  # a dangling branch or root, already reported once for the tree
            where = (*loc, "answers", exc.node_id) if exc.node_id in example.answers else (*loc, "answers")
            lint.error("example-path-invalid", where,
                       f"example {example.id!r}: the stated answers do not lead to an outcome: {exc}")
            continue
        outcome = result.outcome
        produced = (outcome.label, sorted(outcome.rule_ids), outcome.action)
        wanted = (expected.label, sorted(expected.rule_ids), expected.action)
        if produced != wanted:
            steps = " -> ".join(f"{n}={a}" for n, a in zip(result.path, result.answers))
            lint.error(
                "example-mismatch",
                (*loc, "expected"),
                f"example {example.id!r} expects {_verdict(*wanted)}, but its answers ({steps}) reach outcome "
                f"{result.outcome_id!r}: {_verdict(*produced)}",
            )
        for node_id in example.answers:
            if node_id in tree.nodes and node_id not in result.path:
                lint.warn("unused-answer", (*loc, "answers", node_id),
                          f"example {example.id!r} answers {node_id!r}, which its path does not visit", at_key=True)


# --------------------------------------------------------------------------- thresholds and markets


def _check_thresholds(lint: _Collector, thresholds: Thresholds, loc: Loc) -> None:
    if thresholds.review >= thresholds.auto_action:
        lint.error("threshold-order", (*loc, "review"),
                   f"review threshold {thresholds.review} must be below auto_action {thresholds.auto_action}; "
                   "scores between them go to human review")


def _check_markets(lint: _Collector) -> None:
    """Market overrides may only tighten: lower thresholds, extra rules with known severities."""
    policy = lint.policy
    category_ids = policy.category_ids()
    for mi, market in enumerate(policy.markets):
        for category_id, override in market.categories.items():
            cloc: Loc = ("markets", mi, "categories", category_id)
            category = policy.category(category_id)
            if category is None:
                lint.error("dangling-reference", cloc,
                           f"market {market.id!r} overrides unknown category {category_id!r}"
                           f"{_suggest(category_id, category_ids)}; {_known('categories', category_ids)}",
                           at_key=True)
                continue
            for ri, rule in enumerate(override.extra_rules):
                _check_ref(lint, (*cloc, "extra_rules", ri, "severity"), rule.severity,
                           [s.id for s in category.severities], "severity", "severity")
            _check_matchers(lint, category, override.matchers, (*cloc, "matchers"), [*category.rules, *override.extra_rules])
            if override.thresholds is None:
                continue
            tloc: Loc = (*cloc, "thresholds")
            _check_thresholds(lint, override.thresholds, tloc)
            for name in ("auto_action", "review"):
                value = getattr(override.thresholds, name)
                base_value = getattr(category.thresholds, name)
                if value > base_value:
                    lint.error(
                        "market-loosens-threshold",
                        (*tloc, name),
                        f"market {market.id!r} raises {category_id}.{name} from {base_value} to {value}; a market "
                        "may only tighten (lower) thresholds",
                    )


# --------------------------------------------------------------------------- matchers


def _check_matchers(lint: _Collector, category: Category, matchers: list[Matcher], base: Loc, rules: list[Rule]) -> None:
    """Values the rules engine can run, references that exist, and a hit that says what it does.

    `rules` are the rules a matcher may apply: the category's, plus a market's extra rules
    for that market's matchers."""
    by_id = {r.id: r for r in rules}
    for mi, matcher in enumerate(matchers):
        loc: Loc = (*base, mi)
        _check_matcher_values(lint, matcher, loc)
        for k, rule_id in enumerate(matcher.rule_ids):
            _check_ref(lint, (*loc, "rule_ids", k), rule_id, by_id, "rule", f"rule of category {category.id!r}")
        _check_matcher_hit(lint, category, matcher, loc, by_id)


def _check_matcher_values(lint: _Collector, matcher: Matcher, loc: Loc) -> None:
    if not matcher.values:
        lint.error("empty-matcher", (*loc, "values"),
                   f"matcher {matcher.id!r} has no values; list the {matcher.kind} it matches, or remove it")
    seen: set[str] = set()
    for vi, value in enumerate(matcher.values):
        vloc: Loc = (*loc, "values", vi)
        key = value.casefold() if matcher.kind != "exact" else value
        if key in seen:
            lint.warn("duplicate-value", vloc, f"matcher {matcher.id!r} lists {value!r} twice")
        seen.add(key)
        if not value.strip():
            lint.error("empty-matcher", vloc, f"matcher {matcher.id!r} has an empty value; it would match nothing or everything")
        elif matcher.kind == "terms" and not WORD.search(value):
            lint.error("invalid-term", vloc,
                       f"term {value!r} has no letter or digit, so it cannot be matched as a whole word; use a regex matcher")
        elif matcher.kind == "regex" and (problem := regex_problem(value)):
            code = "invalid-regex" if problem.startswith("invalid") else "unsafe-regex"
            lint.error(code, vloc, f"matcher {matcher.id!r}: {problem}")
        elif matcher.kind == "exact" and not DIGEST.match(value):
            lint.error("invalid-digest", vloc,
                       f"exact-match value {value!r} is not a sha256 digest (64 lowercase hex digits) of a normalized item")


def _check_matcher_hit(lint: _Collector, category: Category, matcher: Matcher, loc: Loc, rules: dict[str, Rule]) -> None:
    """A violating hit restricts under named rules; a review hit names a queue and no action."""
    policy = lint.policy
    queue_ids = [q.id for q in policy.queues]
    _check_ref(lint, (*loc, "action"), matcher.action, [a.id for a in policy.actions], "action", "action")
    _check_ref(lint, (*loc, "queue"), matcher.queue, queue_ids, "queue", "queue")
    if matcher.verdict == "violating":
        if not matcher.rule_ids:
            lint.error("matcher-without-rule", loc,
                       f"matcher {matcher.id!r} is violating but names no rule_ids; say which rule a hit breaks")
        action_id = matcher.action or category.auto_action
        kind = _action_kind(policy, action_id)
        if kind is not None and not kind.restricts:
            lint.error("label-action-mismatch", (*loc, "action") if matcher.action else (*loc, "verdict"),
                       f"matcher {matcher.id!r} is violating but its action {action_id!r} is {kind.value}; "
                       "name a restrictive action, or use verdict: needs_review")
        if matcher.queue is not None:
            lint.error("matcher-queue-without-review", (*loc, "queue"),
                       f"matcher {matcher.id!r} is violating, so it acts and names no queue; drop queue or use verdict: needs_review")
        if matcher.acts_alone:
            needing = [r for r in matcher.rule_ids if r in rules and _requires_human(category, rules[r])]
            if needing:
                lint.warn("matcher-needs-human", (*loc, "acts_alone"),
                          f"matcher {matcher.id!r} acts alone, but {', '.join(needing)} is of a severity that requires "
                          "a human: its hits will wait in review instead of being enforced")
    else:
        if matcher.action is not None:
            lint.error("escalation-action-kind", (*loc, "action"),
                       f"matcher {matcher.id!r} sends hits to review, so it takes no action; drop action or use verdict: violating")
        if matcher.queue is None and category.escalation_queue is None:
            lint.error("escalation-without-queue", loc,
                       f"matcher {matcher.id!r} sends hits to review but names no queue; add queue: or set the "
                       "category's escalation_queue")


def _requires_human(category: Category, rule: Rule) -> bool:
    severity = category.severity(rule.severity)
    return bool(severity and severity.requires_human)


# --------------------------------------------------------------------------- defined terms


def _rule_term_fields(rule: Rule, loc: Loc) -> Iterable[tuple[Loc, str | None]]:
    yield (*loc, "title"), rule.title
    yield (*loc, "statement"), rule.statement
    for key in ("includes", "excludes"):
        for k, text in enumerate(getattr(rule, key)):
            yield (*loc, key, k), text


def _term_fields(category: Category, base: Loc) -> Iterable[tuple[Loc, str | None]]:
    """Every prose field of a category that may reference a defined term as [[term]]."""
    yield (*base, "title"), category.title
    yield (*base, "description"), category.description
    for ri, rule in enumerate(category.rules):
        yield from _rule_term_fields(rule, (*base, "rules", ri))
    for node_id, node in category.tree.nodes.items():
        nloc: Loc = (*base, "tree", "nodes", node_id)
        yield (*nloc, "question"), node.question
        yield (*nloc, "guidance"), node.guidance
    for outcome_id, outcome in category.tree.outcomes.items():
        oloc: Loc = (*base, "tree", "outcomes", outcome_id)
        yield (*oloc, "note"), outcome.note
        yield (*oloc, "escalate", "reason"), outcome.escalate.reason if outcome.escalate else None
    for ei, example in enumerate(category.examples):
        yield (*base, "examples", ei, "text"), example.text
        yield (*base, "examples", ei, "rationale"), example.rationale
    for mi, matcher in enumerate(category.matchers):
        yield (*base, "matchers", mi, "description"), matcher.description


def _policy_term_fields(policy: Policy) -> Iterable[tuple[Loc, str | None]]:
    """Prose outside categories: definitions (which may cite each other) and market rules."""
    for di, definition in enumerate(policy.definitions):
        yield ("definitions", di, "definition"), definition.definition
    for rule, loc in _all_rules(policy):
        if loc[0] == "markets":
            yield from _rule_term_fields(rule, loc)


def _check_terms(lint: _Collector) -> None:
    """`[[term]]` in prose must name a definition, so compiled guidelines can link it."""
    policy = lint.policy
    terms = {d.term.casefold(): d.term for d in policy.definitions}
    fields = [field for ci, c in enumerate(policy.categories) for field in _term_fields(c, ("categories", ci))]
    for loc, text in [*fields, *_policy_term_fields(policy)]:
        for match in TERM_REFERENCE.finditer(text or ""):
            term = match.group(1).strip()
            if term.casefold() not in terms:
                lint.error("unknown-term", loc,
                           f"[[{term}]] is not a defined term{_suggest(term, terms.values())}; "
                           f"{_known('terms', terms.values())}")
