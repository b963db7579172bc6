"""The serving engine's recipe: what the service builds from each bundle it activates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from charter.compile.loader import LoadedBundle
from charter.engines.cascade import CascadeEngine, build_cascade
from charter.engines.classifier import load_model
from charter.engines.llm.backend import Backend


@dataclass(frozen=True)
class EngineRecipe:
    """An EngineFactory: the cascade of the bundle's pathways (rules, the fast classifier from
    `model_dir` if given, the LLM band if a backend is given, human review for the rest)."""

    llm_backend: Backend | None = None
    llm_mode: str = "single"
    allow_policy_mismatch: bool = False

    def __call__(self, bundle: LoadedBundle, model_dir: Path | None) -> CascadeEngine:
        model = load_model(model_dir) if model_dir is not None else None
        return build_cascade(
            bundle, model, self.llm_backend, llm_mode=self.llm_mode, allow_policy_mismatch=self.allow_policy_mismatch
        )
