"""The Label Studio JSON shapes Charter reads and writes, and how a policy's answers map onto
Label Studio results.

Label Studio's JSON export is a list of tasks, each with `data`, `annotations` and
`predictions`; an annotation or prediction holds `result` regions with `from_name`, `to_name`,
`type` and a tag-specific `value` (documented at https://labelstud.io/guide/task_format and
https://labelstud.io/guide/predictions; `completed_by` as a user object with an `email`, as
exports since Label Studio 1.0.1 write it, or as a bare user id, the older form, see
HumanSignal/label-studio#1184).

Control names (the `from_name` of every result; policy identifiers never contain "." or "/"):

| control | tag | result value |
|---|---|---|
| `<category>/<node>` | Choices, one per tree node | `{"choices": [answer]}`: the answer at that node |
| `<category>.verdict` | Choices | `{"choices": [verdict]}`, plus `score` on predictions |
| `<category>.rules` | Choices, multiple | `{"choices": [rule ids]}` |
| `<category>.note` | TextArea | `{"text": [note]}` |

Every result points at the `text` object (`to_name`). A label's tree path is the walk its node
answers take from the root, so path, verdict and rule ids are recomputed (and checked) on
import; a verdict given without node answers is a label with no tree path.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from charter.errors import CharterError, Location, Problem
from charter.policy.spec import Policy
from charter.review.models import VERDICTS

TEXT_OBJECT = "text"
VERDICT, RULES, NOTE = "verdict", "rules", "note"
MAX_REPORTED = 5


class _Shape(BaseModel):
    """Label Studio writes many more keys (ids, timestamps, project, drafts): they are kept, not checked."""

    model_config = ConfigDict(extra="allow")


class LSResult(_Shape):
    from_name: str
    to_name: str | None = None
    type: str
    value: dict[str, Any]
    score: float | None = None


class LSAnnotation(_Shape):
    result: list[LSResult] = Field(default_factory=list)
    completed_by: int | str | dict[str, Any] | None = None
    created_at: dt.datetime | None = None
    lead_time: float | None = Field(default=None, ge=0)
    was_cancelled: bool = False


class LSPrediction(_Shape):
    model_version: str | None = None
    score: float | None = None
    result: list[LSResult] = Field(default_factory=list)
    created_at: dt.datetime | None = None


class LSTask(_Shape):
    id: int | str | None = None
    data: dict[str, Any]
    annotations: list[LSAnnotation] = Field(default_factory=list)
    predictions: list[LSPrediction] = Field(default_factory=list)


def verdict_control(category: str) -> str:
    return f"{category}.{VERDICT}"


def rules_control(category: str) -> str:
    return f"{category}.{RULES}"


def note_control(category: str) -> str:
    return f"{category}.{NOTE}"


def node_control(category: str, node: str) -> str:
    return f"{category}/{node}"


@dataclass
class CategoryAnswer:
    """What one annotation or prediction says about one category (None: not stated)."""

    verdict: str | None = None
    rule_ids: list[str] | None = None
    answers: dict[str, str] = field(default_factory=dict)
    note: str | None = None
    score: float | None = None


def _problems(exc: ValidationError, file: str | None, prefix: str) -> list[Problem]:
    out = []
    for error in exc.errors()[:MAX_REPORTED]:
        path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        out.append(Problem(error["msg"], Location(file=file, path=path)))
    return out


def parse_tasks(data: Any, file: str | None = None) -> list[LSTask]:
    """Tasks from a parsed Label Studio JSON export; CharterError names the task and field."""
    if isinstance(data, dict) and "data" in data:
        data = [data]
    if not isinstance(data, list):
        raise CharterError("a Label Studio file is a JSON list of tasks (Label Studio's JSON export, not JSON-MIN or CSV)",
                           [Problem(f"found a JSON {type(data).__name__}", Location(file=file))])
    tasks = []
    for index, raw in enumerate(data):
        try:
            tasks.append(LSTask.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            field_name = ".".join(str(p) for p in first["loc"]) or "task"
            raise CharterError(f"task {index}: {field_name}: {first['msg']} (Label Studio's JSON export format expected)",
                               _problems(exc, file, f"[{index}]")) from None
    return tasks


def read_tasks(path: str | Path) -> list[LSTask]:
    """Parse a Label Studio JSON export file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CharterError(f"{path} is not valid JSON: {exc.msg}",
                           [Problem(exc.msg, Location(file=str(path), line=exc.lineno, column=exc.colno))]) from None
    except UnicodeDecodeError as exc:
        raise CharterError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    return parse_tasks(data, str(path))


def _choices(result: LSResult, where: str, many: bool) -> list[str]:
    values = result.value.get("choices")
    if result.type != "choices" or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise CharterError(f"{where}: {result.from_name!r} must be a 'choices' result with value.choices, a list of strings")
    if not many and len(values) != 1:
        raise CharterError(f"{where}: {result.from_name!r} must have exactly one choice, found {len(values)}")
    return values


def parse_results(policy: Policy, results: Sequence[LSResult], where: str) -> dict[str, CategoryAnswer]:
    """Per category, the verdict, rules, node answers, note and score the results state;
    any control, answer, verdict or rule outside the policy is an error naming it."""
    out: dict[str, CategoryAnswer] = {}
    for position, result in enumerate(results):
        here = f"{where}, result {position}"
        name = result.from_name
        category_id, slash, node_id = name.partition("/")
        if not slash:
            category_id, _, kind = name.partition(".")
        category = policy.category(category_id)
        if category is None:
            raise CharterError(f"{here}: {name!r} names no category of policy {policy.id}@{policy.version} "
                               f"(controls are '<category>/<node>', '<category>.verdict', '.rules' or '.note'; "
                               f"categories: {', '.join(policy.category_ids())})")
        answer = out.setdefault(category.id, CategoryAnswer())
        if slash:
            node = category.tree.nodes.get(node_id)
            if node is None:
                raise CharterError(f"{here}: {name!r}: {node_id!r} is not a node of the {category.id} tree "
                                   f"(nodes: {', '.join(category.tree.nodes)})")
            (choice,) = _choices(result, here, many=False)
            if choice not in node.branches():
                raise CharterError(f"{here}: {name!r}: {choice!r} is not an answer at node {node_id!r} "
                                   f"(answers: {', '.join(node.branches())})")
            answer.answers[node_id] = choice
        elif kind == VERDICT:
            (choice,) = _choices(result, here, many=False)
            if choice not in VERDICTS:
                raise CharterError(f"{here}: {name!r}: {choice!r} is not a verdict ({', '.join(VERDICTS)})")
            answer.verdict = choice
            answer.score = result.score
        elif kind == RULES:
            chosen = _choices(result, here, many=True)
            unknown = [r for r in chosen if category.rule(r) is None]
            if unknown:
                raise CharterError(f"{here}: {name!r}: {', '.join(unknown)} are not rules of category {category.id!r}")
            answer.rule_ids = chosen
        elif kind == NOTE:
            text = result.value.get("text")
            if result.type != "textarea" or not isinstance(text, list) or not all(isinstance(t, str) for t in text):
                raise CharterError(f"{here}: {name!r} must be a 'textarea' result with value.text, a list of strings")
            answer.note = "\n".join(text) or None
        else:
            raise CharterError(f"{here}: {name!r}: {kind!r} is not a control of a category "
                               f"(use '{category.id}/<node>', '{category.id}.verdict', '.rules' or '.note')")
    return out


def region_id(*parts: str) -> str:
    """A stable Label Studio region id (10 characters of [A-Za-z0-9_-]), so exports diff cleanly."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:10]


def render_results(
    category: str,
    *,
    seed: str,
    verdict: str | None,
    rule_ids: Sequence[str] = (),
    path: Sequence[str] = (),
    answers: dict[str, str] | None = None,
    note: str | None = None,
    score: float | None = None,
    origin: str = "manual",
) -> list[dict[str, Any]]:
    """Results for one category: node answers in walk order, then verdict, rules and note."""

    def result(name: str, type_: str, value: dict[str, Any], result_score: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"id": region_id(seed, name), "from_name": name, "to_name": TEXT_OBJECT, "type": type_,
                               "origin": origin, "value": value}
        if result_score is not None:
            out["score"] = result_score
        return out

    results = [result(node_control(category, node), "choices", {"choices": [answers[node]]})
               for node in path if answers and node in answers]
    if verdict is not None:
        results.append(result(verdict_control(category), "choices", {"choices": [verdict]}, score))
    if rule_ids:
        results.append(result(rules_control(category), "choices", {"choices": list(rule_ids)}))
    if note:
        results.append(result(note_control(category), "textarea", {"text": [note]}))
    return results


def timestamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, as Label Studio writes it."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
