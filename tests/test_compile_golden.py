"""Golden snapshots of compiled bundles: any change to what the compiler emits shows up as a
reviewable diff (regenerate with CHARTER_UPDATE_GOLDEN=1)."""

from __future__ import annotations

import pytest
from compile_helpers import assert_golden, compiled

SNAPSHOTS = [
    ("fixture", "manifest.json"),
    ("fixture", "prompts/harassment.md"),
    ("fixture", "prompts/harassment.tree.json"),
    ("fixture", "prompts/user_template.txt"),
    ("fixture", "prompts/index.json"),
    ("fixture", "classifier.json"),
    ("fixture", "routing.json"),
    ("fixture", "guidelines/spam_scams.md"),
    ("example", "manifest.json"),
    ("example", "prompts/hate.md"),
    ("example", "classifier.json"),
    ("example", "routing.json"),
    ("example", "rules.json"),
]


@pytest.mark.parametrize(("policy", "artifact"), SNAPSHOTS, ids=[f"{p}:{a}" for p, a in SNAPSHOTS])
def test_compiled_artifact_matches_golden(policy: str, artifact: str) -> None:
    bundle = compiled(policy)
    content = bundle.manifest_bytes() if artifact == "manifest.json" else bundle.files[artifact]
    assert_golden(f"{policy}/{artifact.replace('/', '__')}", content)
