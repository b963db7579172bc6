"""The LLM / chain-of-thought pathway: backends behind one interface (OpenAI-compatible HTTP,
an embedded llama.cpp server, scripted replay), a completion cache, and `LLMEngine`, which
asks about each category in single-shot or tree-walk mode and escalates what it cannot
validate."""

from charter.engines.llm.backend import Backend, BackendError, Completion, TokenLogprob
from charter.engines.llm.cache import CachedBackend, CompletionCache
from charter.engines.llm.embedded import EMBEDDED_MODEL, EmbeddedBackend, LocalLlamaServer, embedded_model_path
from charter.engines.llm.engine import LLMEngine
from charter.engines.llm.openai import OpenAIBackend, OpenAIConfig
from charter.engines.llm.replay import ReplayBackend

__all__ = [
    "EMBEDDED_MODEL",
    "Backend",
    "BackendError",
    "CachedBackend",
    "Completion",
    "CompletionCache",
    "EmbeddedBackend",
    "LLMEngine",
    "LocalLlamaServer",
    "OpenAIBackend",
    "OpenAIConfig",
    "ReplayBackend",
    "TokenLogprob",
    "embedded_model_path",
]
