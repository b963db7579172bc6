"""`create_api_app(settings)`: the enforcement API as a FastAPI app (docs at /docs).

Everything is built and the startup bundle activated when the app is created, so a bad
bundle, model or database fails `charter serve` at once, not on the first request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from charter import __version__
from charter.engines.llm.backend import Backend
from charter.engines.llm.openai import OpenAIBackend, OpenAIConfig
from charter.server.api.errors import install_error_handlers
from charter.server.api.metrics import ApiMetrics
from charter.server.api.middleware import BodyLimits, RequestTimer
from charter.server.api.routes import router
from charter.server.api.settings import ApiSettings
from charter.service.active import EngineFactory
from charter.service.engines import EngineRecipe
from charter.service.moderation import Limits, ModerationService
from charter.service.store import ServiceStore


def llm_backend(settings: ApiSettings) -> Backend | None:
    if settings.llm_url is None and settings.llm_model is None:
        return None
    return OpenAIBackend(OpenAIConfig.from_env(settings.llm_url, settings.llm_model))


def create_api_app(settings: ApiSettings, *, engine_factory: EngineFactory | None = None) -> FastAPI:
    """The API over the store in `settings`, with `settings.bundle` active. `engine_factory`
    replaces the standard recipe (the cascade: rules, classifier, LLM band, human review)."""
    backend = llm_backend(settings)
    store = ServiceStore(settings.database_url)
    try:
        service = ModerationService(
            store,
            engine_factory or EngineRecipe(backend, settings.llm_mode, settings.allow_policy_mismatch),
            Limits(max_text_bytes=settings.max_text_bytes, max_batch_items=settings.max_batch_items),
        )
        snapshot, _ = service.activate(settings.bundle, settings.model)
    except BaseException:
        store.close()
        if backend is not None:
            backend.close()
        raise
    telemetry = ApiMetrics()
    telemetry.activated(snapshot, None)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()
        if backend is not None:
            backend.close()

    app = FastAPI(
        title="Charter enforcement API",
        version=__version__,
        description="Moderate content under a compiled policy bundle; every decision is stored before it is returned.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.metrics = telemetry
    install_error_handlers(app, telemetry)
    app.include_router(router)
    app.add_middleware(BodyLimits, max_body_bytes=settings.max_body_bytes, metrics=telemetry)
    app.add_middleware(RequestTimer, metrics=telemetry)
    return app
