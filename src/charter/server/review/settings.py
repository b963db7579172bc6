"""How the review web app is configured: the operational database, the key that signs session
cookies, cookie flags and lease length; from arguments or the environment."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from charter.errors import CharterError
from charter.review.leases import DEFAULT_LEASE_MINUTES

SECRET_ENV = "CHARTER_REVIEW_SECRET"
INSECURE_COOKIES_ENV = "CHARTER_REVIEW_INSECURE_COOKIES"
MIN_SECRET_LENGTH = 32


class ReviewSettings(BaseModel):
    """Settings of one review app. `cookie_secure` (the cookie's Secure flag) must only be
    turned off for plain-HTTP development on localhost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str | None = Field(default=None, description="None: $CHARTER_DATABASE_URL, else ./charter.db")
    secret_key: SecretStr
    cookie_secure: bool = True
    session_max_age: int = Field(default=12 * 3600, gt=0, description="seconds a login lasts")
    lease_minutes: float = Field(default=DEFAULT_LEASE_MINUTES, gt=0)
    title: str = "Charter review"

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"the session secret must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @classmethod
    def from_env(cls, **overrides: object) -> ReviewSettings:
        """Settings from $CHARTER_REVIEW_SECRET (required), $CHARTER_DATABASE_URL and
        $CHARTER_REVIEW_INSECURE_COOKIES=1 (plain-HTTP development), then `overrides`."""
        values: dict[str, object] = {}
        if os.environ.get(SECRET_ENV):
            values["secret_key"] = os.environ[SECRET_ENV]
        if os.environ.get(INSECURE_COOKIES_ENV) == "1":
            values["cookie_secure"] = False
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "secret_key" not in values:
            raise CharterError(f"set ${SECRET_ENV} to a random string of at least {MIN_SECRET_LENGTH} characters "
                               "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise CharterError(f"review app settings are not valid: {problems}") from None
