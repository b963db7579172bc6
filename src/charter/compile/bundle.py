"""A compiled bundle in memory, its manifest (every artifact's path and sha256 plus the
policy identity), and writing it to a directory."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from charter import __version__
from charter.compile.stamp import json_bytes, stamp_dict
from charter.errors import CharterError
from charter.policy.hashing import PolicyIdentity
from charter.policy.spec import Policy

MANIFEST = "manifest.json"
FORMAT = "charter-bundle/1"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def build_manifest(identity: PolicyIdentity, files: dict[str, bytes]) -> dict[str, Any]:
    """The manifest of `files` (relative path → content), listed in path order."""
    return {
        "format": FORMAT,
        "compiler": f"charter {__version__}",
        "policy": stamp_dict(identity),
        "artifacts": [
            {"path": path, "sha256": sha256(files[path]), "bytes": len(files[path])} for path in sorted(files)
        ],
    }


@dataclass(frozen=True)
class Bundle:
    """The artifacts compiled from one policy version, by relative POSIX path."""

    policy: Policy
    identity: PolicyIdentity
    files: dict[str, bytes]

    @property
    def manifest(self) -> dict[str, Any]:
        return build_manifest(self.identity, self.files)

    def manifest_bytes(self) -> bytes:
        return json_bytes(self.manifest)


def _listed(directory: Path) -> list[str]:
    """Paths listed by an existing bundle's manifest (empty if it has none or it is unreadable)."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        return [a["path"] for a in manifest["artifacts"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def write_bundle(bundle: Bundle, out_dir: Path) -> Path:
    """Write every artifact and then the manifest (last, so a half-written bundle never
    verifies). An existing bundle there is replaced; any other non-empty directory is refused
    rather than mixed with foreign files."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise CharterError(f"{out_dir} exists and is not a directory; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not (out_dir / MANIFEST).is_file():
            raise CharterError(
                f"{out_dir} is not empty and holds no Charter bundle (no {MANIFEST}); "
                "choose an empty or new directory for --out"
            )
        old_paths = _listed(out_dir)
        (out_dir / MANIFEST).unlink()
        for old in old_paths:
            target = out_dir / PurePosixPath(old)
            if target.is_file() and out_dir.resolve() in target.resolve().parents:
                target.unlink()
        for sub in ("prompts", "guidelines"):
            if (out_dir / sub).is_dir() and not any((out_dir / sub).iterdir()):
                (out_dir / sub).rmdir()
    for path, content in sorted(bundle.files.items()):
        target = out_dir / PurePosixPath(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (out_dir / MANIFEST).write_bytes(bundle.manifest_bytes())
    return out_dir
