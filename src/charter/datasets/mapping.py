"""Label mappings: versioned YAML files that say how a dataset's labels read under a policy.

A mapping gives, for each policy category it covers, the raw label values that count as
*violating* and those that count as *allowed*; an item matching neither is *unknown* for that
category (no gold label), never silently allowed. The file format:

    dataset: olid
    version: 1.0.0
    policy: charter-example          # the id of the policy it was written for
    description: ...
    categories:
      harassment:
        violating:                   # a list of conditions; an item matching any one counts
          - {subtask_c: [IND]}       # column: values  -> the value is one of these
        allowed:
          - {subtask_a: [NOT]}
          - {subtask_b: [UNT]}
        caveats: ...                 # why, and where the mapping is noisy

A condition maps columns to tests and matches when every test does. A test is a list of
values (the cell is one of them; for multi-label columns, one of the cell's labels is) or a
map with any of `any`, `only` (every label of the cell is listed) and `none` (no label of
the cell is listed). Values are compared as strings; YAML null means the "NULL" value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from charter.datasets.core import MISSING, DatasetInfo
from charter.datasets.paths import MAPPINGS_DIR
from charter.datasets.registry import REGISTRY
from charter.errors import CharterError, Location, Problem
from charter.policy.spec import SEMVER, Policy

OPERATORS = ("any", "only", "none")
SIDES = ("violating", "allowed")
TOP_KEYS = ("dataset", "version", "policy", "description", "categories")


@dataclass(frozen=True)
class ColumnTest:
    """One column's test within a condition; empty tuples mean "not tested"."""

    column: str
    any: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    location: Location = field(default_factory=Location)


@dataclass(frozen=True)
class Condition:
    tests: tuple[ColumnTest, ...]
    location: Location = field(default_factory=Location)

    def describe(self) -> str:
        parts = []
        for t in self.tests:
            for op in OPERATORS:
                values = getattr(t, op)
                if values:
                    parts.append(f"{t.column} {op} [{', '.join(values)}]")
        return " and ".join(parts)


@dataclass(frozen=True)
class CategoryRule:
    category: str
    violating: tuple[Condition, ...]
    allowed: tuple[Condition, ...]
    caveats: str | None
    location: Location = field(default_factory=Location)


@dataclass(frozen=True)
class LabelMapping:
    """A parsed mapping file; `locations` lets later checks point at the offending line."""

    dataset: str
    version: str
    policy: str
    description: str
    rules: dict[str, CategoryRule]
    file: str
    locations: dict[str, Location] = field(default_factory=dict)

    @property
    def categories(self) -> list[str]:
        return list(self.rules)

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"


# --------------------------------------------------------------------------- parsing


class _Parser:
    """Walks the round-trip YAML, collecting located problems instead of stopping at the first."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def at(self, node: Any, key: Any = None, index: int | None = None, value: bool = False) -> Location:
        try:
            if index is not None:
                line, col = node.lc.item(index)
            elif key is not None:
                line, col = node.lc.value(key) if value else node.lc.key(key)
            else:
                line, col = node.lc.line, node.lc.col
        except (AttributeError, KeyError, TypeError, IndexError):
            return Location(file=self.file)
        return Location(file=self.file, line=line + 1, column=col + 1)

    def problem(self, message: str, location: Location) -> None:
        self.problems.append(Problem(message, location))

    def values(self, node: Any, where: Location) -> tuple[str, ...] | None:
        if not isinstance(node, list):
            node = [node]
        out = []
        for i, value in enumerate(node):
            if isinstance(value, (dict, list)):
                self.problem(
                    "a label value must be a plain value, not a list or map",
                    self.at(node, index=i) if isinstance(node, CommentedSeq) else where,
                )
                return None
            out.append(_value_text(value))
        if not out:
            self.problem("an empty list of values matches nothing", where)
            return None
        return tuple(out)

    def column_test(self, column: str, node: Any, parent: CommentedMap) -> ColumnTest | None:
        where = self.at(parent, column)
        if isinstance(node, dict):
            unknown = [k for k in node if k not in OPERATORS]
            for k in unknown:
                self.problem(f"unknown test {k!r} for column {column!r}; use any, only or none", self.at(node, k))
            if unknown:
                return None
            if not node:
                self.problem(f"column {column!r} has an empty test; give any, only or none", where)
                return None
            parsed = {op: self.values(node[op], self.at(node, op, value=True)) for op in node}
            if any(v is None for v in parsed.values()):
                return None
            return ColumnTest(column, location=where, **parsed)  # type: ignore[arg-type]
        values = self.values(node, self.at(parent, column, value=True))
        return None if values is None else ColumnTest(column, any=values, location=where)

    def condition(self, node: Any, where: Location) -> Condition | None:
        if not isinstance(node, dict) or not node:
            self.problem("a condition must be a map of column: values", where)
            return None
        tests = [self.column_test(str(column), node[column], node) for column in node]
        if any(t is None for t in tests):
            return None
        return Condition(tuple(tests), where)  # type: ignore[arg-type]

    def side(self, rule: CommentedMap, side: str) -> tuple[Condition, ...]:
        node = rule.get(side)
        if node is None:
            return ()
        where = self.at(rule, side)
        items = node if isinstance(node, list) else [node]
        conditions = []
        for i, item in enumerate(items):
            loc = self.at(node, index=i) if isinstance(node, CommentedSeq) else where
            parsed = self.condition(item, loc)
            if parsed is not None:
                conditions.append(parsed)
        return tuple(conditions)

    def rule(self, category: str, node: Any, where: Location) -> CategoryRule | None:
        if not isinstance(node, dict):
            self.problem(f"category {category!r} must map to violating/allowed conditions", where)
            return None
        for key in node:
            if key not in (*SIDES, "caveats"):
                self.problem(
                    f"unknown key {key!r} in category {category!r}; use violating, allowed, caveats", self.at(node, key)
                )
        if not any(node.get(side) for side in SIDES):
            self.problem(f"category {category!r} has neither violating nor allowed conditions", where)
            return None
        caveats = node.get("caveats")
        return CategoryRule(
            category,
            self.side(node, "violating"),
            self.side(node, "allowed"),
            None if caveats is None else str(caveats),
            where,
        )


def _value_text(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_mapping_text(text: str, file: str) -> LabelMapping:
    """Parse (structure only) a mapping; dataset columns and values are checked by `check_mapping`."""
    try:
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        location = Location(file=file, line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None)
        raise CharterError(f"label mapping {file} is not valid YAML", [Problem(str(exc.problem), location)]) from None
    parser = _Parser(file)
    if not isinstance(document, CommentedMap):
        raise CharterError(f"label mapping {file} must be a YAML map with {', '.join(TOP_KEYS)}")
    for key in document:
        if key not in TOP_KEYS:
            parser.problem(f"unknown key {key!r}; a mapping has {', '.join(TOP_KEYS)}", parser.at(document, key))
    for key in TOP_KEYS:
        if key not in document:
            parser.problem(f"missing key {key!r}", Location(file=file, line=1))
    version = str(document.get("version", ""))
    if "version" in document and not SEMVER.match(version):
        parser.problem(
            f"version {version!r} is not semantic versioning (MAJOR.MINOR.PATCH)",
            parser.at(document, "version", value=True),
        )
    rules: dict[str, CategoryRule] = {}
    categories = document.get("categories")
    if "categories" in document and (not isinstance(categories, dict) or not categories):
        parser.problem("categories must be a non-empty map of category id to rules", parser.at(document, "categories"))
    elif isinstance(categories, dict):
        for category in categories:
            rule = parser.rule(str(category), categories[category], parser.at(categories, category))
            if rule is not None:
                rules[str(category)] = rule
    if parser.problems:
        raise CharterError(f"label mapping {file} has {len(parser.problems)} problem(s)", parser.problems)
    locations = {key: parser.at(document, key, value=True) for key in TOP_KEYS}
    locations.update({f"categories.{c}": r.location for c, r in rules.items()})
    return LabelMapping(
        dataset=str(document["dataset"]),
        version=version,
        policy=str(document["policy"]),
        description=str(document["description"]),
        rules=rules,
        file=file,
        locations=locations,
    )


# --------------------------------------------------------------------------- checking


def _check_test(test: ColumnTest, info: DatasetInfo, file: str) -> list[Problem]:
    column = info.label_columns.get(test.column)
    if column is None:
        known = ", ".join(info.label_columns)
        return [
            Problem(
                f"column {test.column!r} is not a label column of dataset {info.name} (label columns: {known})",
                test.location,
            )
        ]
    problems = []
    for op in OPERATORS:
        for value in getattr(test, op):
            if value not in column.values:
                problems.append(
                    Problem(
                        f"value {value!r} does not occur in column {test.column!r} of dataset {info.name} "
                        f"(values: {', '.join(column.values)})",
                        test.location,
                    )
                )
    return problems


def check_mapping(mapping: LabelMapping, policy: Policy) -> None:
    """Every category must exist in `policy`, every column and value in the dataset."""
    problems: list[Problem] = []
    loc = mapping.locations
    info = REGISTRY[mapping.dataset].info if mapping.dataset in REGISTRY else None
    if info is None:
        problems.append(
            Problem(
                f"unknown dataset {mapping.dataset!r}; known: {', '.join(REGISTRY)}",
                loc.get("dataset", Location(mapping.file)),
            )
        )
    if mapping.policy != policy.id:
        problems.append(
            Problem(
                f"mapping targets policy {mapping.policy!r}, but the policy given is {policy.id!r}",
                loc.get("policy", Location(mapping.file)),
            )
        )
    known = policy.category_ids()
    for category, rule in mapping.rules.items():
        if category not in known:
            problems.append(
                Problem(
                    f"category {category!r} is not in policy {policy.id!r} (categories: {', '.join(known)})",
                    rule.location,
                )
            )
        if info is not None:
            for condition in (*rule.violating, *rule.allowed):
                for test in condition.tests:
                    problems.extend(_check_test(test, info, mapping.file))
    if problems:
        raise CharterError(
            f"label mapping {mapping.file} does not fit policy {policy.id!r} and dataset {mapping.dataset!r}", problems
        )


def mapping_path(name_or_path: str | Path) -> Path:
    """A dataset name means its shipped mapping; anything else is a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    shipped = MAPPINGS_DIR / f"{name_or_path}.yaml"
    if not shipped.is_file():
        info = REGISTRY.get(str(name_or_path))
        if info is not None and info.info.mapping is None:
            raise CharterError(f"dataset {name_or_path} has no label mapping: {info.info.mapping_note}")
        raise CharterError(f"no label mapping named {name_or_path!r}: {shipped} does not exist")
    return shipped


def load_mapping(name_or_path: str | Path, policy: Policy) -> LabelMapping:
    """Read and check a mapping: a shipped one by dataset name, or a YAML file by path."""
    path = mapping_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CharterError(f"label mapping file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise CharterError(f"label mapping {path} is not UTF-8 (byte {exc.start})") from None
    mapping = parse_mapping_text(text, str(path))
    check_mapping(mapping, policy)
    return mapping


def shipped_mappings() -> list[Path]:
    return sorted(MAPPINGS_DIR.glob("*.yaml"))
