"""What an enforcement API app is built from: the store, the bundle and engine, and limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle: Path = Field(description="compiled bundle to activate at startup")
    model: Path | None = Field(default=None, description="fast classifier model directory")
    database_url: str | None = Field(default=None, description="operational store; default $CHARTER_DATABASE_URL or ./charter.db")
    llm_url: str | None = Field(default=None, description="OpenAI-compatible server for the cascade's LLM band")
    llm_model: str | None = None
    llm_mode: Literal["single", "tree"] = "single"
    allow_policy_mismatch: bool = False
    max_text_bytes: int = Field(default=100_000, gt=0)
    max_batch_items: int = Field(default=100, gt=0)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
