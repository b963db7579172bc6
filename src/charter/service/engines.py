"""The serving engine's recipe: what the service builds from each bundle it activates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from charter.compile.loader import LoadedBundle
from charter.engines.base import Engine
from charter.engines.classifier import ClassifierEngine, load_model
from charter.errors import CharterError


@dataclass(frozen=True)
class EngineRecipe:
    """An EngineFactory: the fast classifier from `model_dir`, routed by the bundle."""

    allow_policy_mismatch: bool = False

    def __call__(self, bundle: LoadedBundle, model_dir: Path | None) -> Engine:
        if model_dir is None:
            raise CharterError("the classifier engine needs a model directory (train one with `charter classifier train`)")
        return ClassifierEngine(load_model(model_dir), bundle, allow_policy_mismatch=self.allow_policy_mismatch)
