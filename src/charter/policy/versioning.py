"""Checks that a new policy version's number tells the truth about its content change.

The semantic diff says how big a change is (each Change carries the bump it calls for);
this module compares that with the version numbers, so that a release cannot change what
enforcers do while claiming to be the same version, or a wording fix.

Bump levels: PATCH = wording and examples only (rules reworded, definitions, questions,
guidance, examples, descriptions); MINOR = new rules, nodes, outcomes, categories,
actions, queues or markets, rewired tree branches, and tightened enforcement (lower
thresholds, stronger actions, stricter verdicts); MAJOR = removed rules, categories,
actions, queues, markets or market rules, and loosened enforcement. Under 0.y.z a MINOR
bump may carry breaking changes (SemVer item 4), as Cargo and npm treat it. Pre-release
steps with the same MAJOR.MINOR.PATCH (1.1.0-rc.1 -> 1.1.0-rc.2 -> 1.1.0) are not
judged for size.
"""

from __future__ import annotations

import semver

from charter.errors import Location, Problem
from charter.policy.diff import BUMP_ORDER, Bump, Change, PolicyDiff, diff_policies
from charter.policy.spec import Policy

VERSION_PATH = "metadata.version"
# Problem codes that make the check fail; every other code is a warning.
ERROR_CODES = frozenset({"policy-id-changed", "version-invalid", "version-decreased", "version-not-bumped"})


def is_error(problem: Problem) -> bool:
    """Whether a problem from `check_version_bump` fails the check (else it is a warning)."""
    return problem.code in ERROR_CODES


def _given_bump(old: semver.Version, new: semver.Version) -> Bump:
    """How big a step the version numbers take (only called when new > old)."""
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "major" if old.major == 0 else "minor"
    if new.patch != old.patch:
        return "patch"
    return "none"


def _examples(changes: list[Change], bump: Bump, limit: int = 3) -> str:
    """A few of the changes that call for `bump`, to say why."""
    chosen = [f"{c.kind} {c.path}" for c in changes if c.bump == bump]
    more = f" and {len(chosen) - limit} more" if len(chosen) > limit else ""
    return "; ".join(chosen[:limit]) + more


def check_version_bump(old: Policy, new: Policy, diff: PolicyDiff | None = None) -> list[Problem]:
    """Problems with going from `old` to `new`, empty when fine (`is_error` tells which fail).

    Errors: different policy ids, a version that is not SemVer 2.0.0, a version that
    decreased, content changed under the same version. Warnings: a bump smaller than the changes call for, a new version with no
    changelog entry, a new version with unchanged content. Pass `diff` if you have it.
    """
    where = Location(path=VERSION_PATH)
    if old.id != new.id:
        return [
            Problem(
                f"policy ids differ ({old.id!r} -> {new.id!r}): a version check compares two versions "
                "of the same policy",
                Location(path="metadata.id"),
                "policy-id-changed",
            )
        ]
    invalid = [
        Problem(
            f"{which} version {policy.version!r} is not valid SemVer 2.0.0 (numeric pre-release parts "
            "have no leading zeros, and no part is empty)",
            where,
            "version-invalid",
        )
        for which, policy in (("old", old), ("new", new))
        if not semver.Version.is_valid(policy.version)
    ]
    if invalid:
        return invalid
    diff = diff or diff_policies(old, new)
    before, after = semver.Version.parse(old.version), semver.Version.parse(new.version)
    problems: list[Problem] = []
    if after < before:
        return [Problem(f"version decreased from {old.version} to {new.version}", where, "version-decreased")]
    if after == before:
        if diff.content_changed:
            problems.append(
                Problem(
                    f"content changed but the version is still {new.version}; bump it to at least "
                    f"{_next(before, diff.required_bump())} and add a changelog entry",
                    where,
                    "version-not-bumped",
                )
            )
        return problems
    if not any(entry.version == new.version for entry in new.metadata.changelog):
        problems.append(
            Problem(
                f"no changelog entry for version {new.version}: add one under metadata.changelog "
                "saying what changed and why",
                Location(path="metadata.changelog"),
                "changelog-missing",
            )
        )
    if not diff.content_changed:
        problems.append(
            Problem(
                f"version went {old.version} -> {new.version} but the content hash is unchanged",
                where,
                "version-without-change",
            )
        )
        return problems
    given = _given_bump(before, after)
    needed = diff.required_bump()
    if given != "none" and BUMP_ORDER[given] < BUMP_ORDER[needed]:
        problems.append(
            Problem(
                f"the changes call for a {needed.upper()} bump (e.g. {_examples(diff.changes, needed)}) "
                f"but the version went {old.version} -> {new.version}, a {given.upper()} bump; "
                f"use {_next(before, needed)}",
                where,
                "bump-too-small",
            )
        )
    return problems


def _next(version: semver.Version, bump: Bump) -> str:
    """The smallest version after `version` that makes a `bump`-sized step."""
    if bump == "major":
        return str(version.bump_minor() if version.major == 0 else version.bump_major())
    if bump == "minor":
        return str(version.bump_minor())
    return str(version.bump_patch())
