"""The enforcement HTTP API (FastAPI): moderation, the decision log, the active bundle and its
hot-swap, API keys, health and Prometheus metrics. Build it with `create_api_app(settings)`."""

from charter.server.api.app import create_api_app
from charter.server.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_api_app"]
