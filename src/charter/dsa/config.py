"""What a platform states once for all its statements of reasons: its puid prefix, default
territorial scope, terms-of-service URL and how its moderation is usually triggered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from charter.dsa import vocab
from charter.errors import CharterError, Location, Problem


class PlatformConfig(BaseModel):
    """Platform-wide facts for statements of reasons (the `--platform-config` YAML file)."""

    model_config = ConfigDict(extra="forbid")

    puid_prefix: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\-_]+$", max_length=100)] = "charter"
    default_territorial_scope: list[Literal[vocab.EEA_COUNTRIES]] = Field(
        default_factory=lambda: list(vocab.EEA_COUNTRIES), min_length=1
    )
    decision_ground_reference_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)] | None = (
        None
    )
    source_type: Literal[vocab.SOURCE_TYPE] = "SOURCE_VOLUNTARY"
    source_identity: Annotated[str, StringConstraints(max_length=500)] | None = None
    account_type_key: str = Field(default="account_type", description="item metadata key holding business/private")

    @model_validator(mode="after")
    def _voluntary_has_no_notifier(self) -> PlatformConfig:
        if self.source_type == "SOURCE_VOLUNTARY" and self.source_identity:
            raise ValueError("source_identity names a notifier, so it needs a notice source_type, not SOURCE_VOLUNTARY")
        return self


def load_platform_config(path: str | Path) -> PlatformConfig:
    """A PlatformConfig from YAML; a mistake names the file and the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CharterError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CharterError(f"{path}: the platform config must be a mapping of fields to values")
    try:
        return PlatformConfig.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(PlatformConfig.model_fields)
        problems = [
            Problem(
                f"unknown field (fields: {fields})" if error["type"] == "extra_forbidden" else error["msg"],
                Location(file=str(path), path=".".join(map(str, error["loc"])) or None),
            )
            for error in exc.errors()
        ]
        raise CharterError(f"{path} is not a valid platform config", problems) from None
