"""Where datasets are read from: the shared data folder if there is one, else the sample.

Order: the folder named by $CHARTER_DATA_DIR (when set, it is the only shared root
consulted), else `../shared/data` next to the repository or the working directory. A dataset
found in neither falls back to the vendored sample in `charter/datasets/sample/`.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "CHARTER_DATA_DIR"
SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
_REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_candidates() -> list[tuple[Path, str]]:
    """The shared roots to look in, each with the reason it is looked at."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [(Path(env).expanduser(), f"${ENV_VAR}")]
    found: list[tuple[Path, str]] = []
    for base, why in ((_REPO_ROOT, "next to the repository"), (Path.cwd(), "next to the working directory")):
        candidate = (base / ".." / "shared" / "data").resolve()
        if candidate not in [c for c, _ in found]:
            found.append((candidate, why))
    return found


def shared_root() -> Path | None:
    """The first shared root that exists, or None."""
    for path, _ in shared_candidates():
        if path.is_dir():
            return path
    return None


def sample_file(name: str) -> Path:
    return SAMPLE_DIR / f"{name}.csv"
