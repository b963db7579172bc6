"""Loading a compiled bundle: the manifest is verified first (every listed artifact present
with its sha256, every artifact the loaders need listed, every stamp and policy.json's own
content hash matching the manifest), so a tampered or mixed bundle is never used."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from charter.compile.bundle import FORMAT, MANIFEST, sha256
from charter.compile.paths import (
    CLASSIFIER_FILE,
    INDEX_FILE,
    POLICY_FILE,
    ROUTING_FILE,
    RULES_FILE,
    SCHEMAS_FILE,
    USER_TEMPLATE_FILE,
    guideline_path,
    prompt_path,
    required_paths,
    tree_path,
)
from charter.compile.stamp import read_stamp, strip_stamp
from charter.errors import CharterError, Location, Problem
from charter.policy.hashing import PolicyIdentity, short_hash
from charter.policy.hashing import identity as policy_identity
from charter.policy.spec import Policy


@dataclass(frozen=True)
class LoadedBundle:
    """A verified bundle: the policy it was compiled from and its artifacts."""

    root: Path
    manifest: dict[str, Any]
    identity: PolicyIdentity
    policy: Policy
    files: dict[str, bytes]
    classifier: dict[str, Any]
    routing: dict[str, Any]
    prompt_index: dict[str, Any]
    output_schemas: dict[str, Any]
    rules: dict[str, Any]

    def _category(self, category: str) -> str:
        if self.policy.category(category) is None:
            known = ", ".join(self.policy.category_ids())
            raise CharterError(f"bundle {self.root} has no category {category!r} (categories: {known})")
        return category

    def text(self, path: str) -> str:
        """A text artifact as consumers use it (without its stamp line)."""
        return strip_stamp(self.files[path].decode("utf-8"))

    def system_prompt(self, category: str) -> str:
        return self.text(prompt_path(self._category(category)))

    def user_template(self) -> str:
        return self.text(USER_TEMPLATE_FILE)

    def tree_prompts(self, category: str) -> dict[str, Any]:
        return json.loads(self.files[tree_path(self._category(category))])

    def guideline(self, category: str) -> str:
        return self.text(guideline_path(self._category(category)))

    def verdict_schema(self, category: str) -> dict[str, Any]:
        """The single-shot json_schema entry (wrap as {"type": "json_schema", "json_schema": ...})."""
        return self.output_schemas["single_shot"][self._category(category)]

    def step_schema(self, category: str, node_id: str) -> dict[str, Any]:
        steps = self.output_schemas["tree_step"][self._category(category)]
        if node_id not in steps:
            raise CharterError(f"category {category!r} has no tree node {node_id!r} (nodes: {', '.join(steps)})")
        return steps[node_id]


def _safe(path: str) -> bool:
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts and path != MANIFEST


def _read_manifest(root: Path) -> dict[str, Any]:
    where = Location(file=str(root / MANIFEST))
    if not (root / MANIFEST).is_file():
        raise CharterError(f"{root} is not a Charter bundle: {MANIFEST} is missing")
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CharterError("bundle manifest is not valid JSON", [Problem(str(exc), where)]) from None
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    ok = (
        isinstance(manifest, dict)
        and manifest.get("format") == FORMAT
        and isinstance(manifest.get("policy"), dict)
        and {"id", "version", "hash"} <= manifest["policy"].keys()
        and isinstance(artifacts, list)
        and all(
            isinstance(a, dict) and isinstance(a.get("path"), str) and isinstance(a.get("sha256"), str)
            for a in artifacts
        )
    )
    if not ok:
        raise CharterError(
            "bundle manifest is malformed",
            [
                Problem(
                    f"expected format {FORMAT!r} with a policy identity and a list of artifacts (path, sha256)", where
                )
            ],
        )
    return manifest


def _policy(root: Path, content: bytes) -> Policy:
    try:
        return Policy.model_validate(json.loads(content))
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
        raise CharterError(
            "bundle policy.json is not a valid policy",
            [Problem(str(exc).splitlines()[0], Location(file=str(root / POLICY_FILE)))],
        ) from None


def load_bundle(bundle_dir: Path) -> LoadedBundle:
    """Verify and load the bundle in `bundle_dir`; CharterError names every bad file."""
    root = Path(bundle_dir)
    manifest = _read_manifest(root)
    stamp = manifest["policy"]
    problems: list[Problem] = []
    files: dict[str, bytes] = {}
    for artifact in manifest["artifacts"]:
        path = artifact["path"]
        where = Location(file=str(root / path))
        if not _safe(path):
            problems.append(Problem(f"manifest lists an unsafe path {path!r}", Location(file=str(root / MANIFEST))))
        elif not (root / path).is_file():
            problems.append(Problem("missing: listed in the manifest but not in the bundle", where))
        else:
            content = (root / path).read_bytes()
            if sha256(content) != artifact["sha256"]:
                problems.append(Problem("tampered: sha256 differs from the manifest", where))
            elif path != POLICY_FILE and read_stamp(path, content) != stamp:
                problems.append(Problem(f"stamped for another policy than {stamp['id']}@{stamp['version']}", where))
            files[path] = content
    if problems:
        raise CharterError(f"bundle {root} failed verification", problems)
    if POLICY_FILE not in files:
        raise CharterError(
            f"bundle {root} failed verification",
            [Problem(f"manifest does not list {POLICY_FILE}", Location(file=str(root / MANIFEST)))],
        )

    policy = _policy(root, files[POLICY_FILE])
    identity = policy_identity(policy)
    if identity.hash != stamp["hash"] or identity.id != stamp["id"] or identity.version != stamp["version"]:
        stamped = f"{stamp['id']}@{stamp['version']} ({short_hash(stamp['hash'])})"
        message = f"policy is {identity}, but the bundle is stamped {stamped}"
        raise CharterError(
            f"bundle {root} failed verification", [Problem(message, Location(file=str(root / POLICY_FILE)))]
        )
    unlisted = [p for p in required_paths(policy.category_ids()) if p not in files]
    if unlisted:
        # A manifest that verifies but lacks an artifact this compiler always writes comes from an
        # older compiler (e.g. before rules.json): say so, and how to get a current bundle.
        compiler = manifest.get("compiler", "an older charter")
        raise CharterError(
            f"bundle {root} failed verification: it was compiled by {compiler}, which did not write "
            f"{', '.join(unlisted)}; recompile the policy with `charter compile POLICY -o {root}`",
            [Problem("required artifact not listed in the manifest", Location(file=str(root / p))) for p in unlisted],
        )
    return LoadedBundle(
        root=root,
        manifest=manifest,
        identity=identity,
        policy=policy,
        files=files,
        classifier=json.loads(files[CLASSIFIER_FILE]),
        routing=json.loads(files[ROUTING_FILE]),
        prompt_index=json.loads(files[INDEX_FILE]),
        output_schemas=json.loads(files[SCHEMAS_FILE]),
        rules=json.loads(files[RULES_FILE]),
    )
