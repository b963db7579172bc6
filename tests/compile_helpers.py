"""Shared helpers for the compiler tests: the policies they compile and golden snapshots."""

from __future__ import annotations

import difflib
import os
from functools import cache
from pathlib import Path

from charter.compile import Bundle, compile_policy
from charter.policy.load import LoadedPolicy, load_policy_source

TESTS = Path(__file__).parent
FIXTURE = TESTS / "fixtures" / "compile_policy.yaml"
EXAMPLE = TESTS.parent / "src" / "charter" / "examples" / "policy.yaml"
GOLDEN = TESTS / "golden" / "compile"
POLICIES = {"fixture": FIXTURE, "example": EXAMPLE}


@cache
def loaded(name: str) -> LoadedPolicy:
    return load_policy_source(POLICIES[name])


@cache
def compiled(name: str) -> Bundle:
    source = loaded(name)
    return compile_policy(source.policy, source)


def assert_golden(name: str, content: bytes) -> None:
    """Compare `content` with tests/golden/compile/<name>; CHARTER_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("CHARTER_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return
    assert path.exists(), f"no golden file {path}; run with CHARTER_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    actual = content.decode("utf-8")
    if actual != expected:
        diff = "".join(
            list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "golden", "compiled"))[:80]
        )
        raise AssertionError(
            f"compiled output differs from {path} (if intended, rerun with CHARTER_UPDATE_GOLDEN=1 and review "
            f"the diff):\n{diff}"
        )
