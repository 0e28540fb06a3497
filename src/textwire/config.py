"""One ``Settings`` object: env ``TEXTWIRE_*``, CLI flags override; nothing else reads env."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from textwire.urls import url_problem

Role = Literal["all", "api", "worker", "redirect"]


class Settings(BaseSettings):
    """Every setting textwire has, with the default that makes ``textwire serve`` just work."""

    model_config = SettingsConfigDict(env_prefix="TEXTWIRE_", extra="ignore")

    data_dir: Path = Field(Path("textwire-data"), description="Where SQLite and the key live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; default is SQLite in data_dir."
    )
    secret_key: str | None = Field(
        None, description="Fernet key for secrets at rest; generated into data_dir when unset."
    )
    host: str = "127.0.0.1"
    port: int = 8080
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Also serve /metrics and /healthz alone on this port (any role).",
    )
    http_idle_timeout: float = Field(
        5.0,
        gt=0,
        description="API port: close a connection idle this long without a request (s).",
    )
    http_request_timeout: float = Field(
        30.0,
        gt=0,
        description="API port: close a connection whose request (head and body) is not all "
        "received this long after its first byte (s).",
    )
    public_url: str | None = Field(
        None, description="Base URL clients use to reach the API (for links in responses)."
    )
    log_level: str = "INFO"
    log_json: bool = True

    # Dispatch worker
    worker_batch_size: int = Field(500, ge=1, le=10_000)
    worker_poll_interval: float = Field(0.05, gt=0, description="Idle sleep between claims (s).")
    lease_seconds: float = Field(30.0, gt=0, description="A claim's lease before takeover (s).")
    retry_base_seconds: float = Field(2.0, gt=0)
    max_send_attempts: int = Field(6, ge=1)
    handover_per_destination_concurrency: int = Field(
        128,
        ge=1,
        le=10_000,
        description="Messages one worker has out at one integration at once (issue 11 §2).",
    )

    # Outgoing webhooks
    webhook_timeout: float = Field(5.0, gt=0)
    webhook_max_attempts: int = Field(8, ge=1)
    webhook_concurrency: int = Field(32, ge=1)
    webhook_per_host_concurrency: int = Field(
        8, ge=1, description="Callback requests in flight to one scheme://host:port."
    )
    allow_private_urls: bool = Field(
        False,
        description="Let webhooks and integrations reach loopback, private, link-local and "
        "other non-public addresses, and this server's own API (docs/operations.md).",
    )

    # Sandbox provider
    sandbox_delivery_delay: float = Field(1.0, ge=0, description="Seconds until the receipt.")
    sandbox_failure_rate: float = Field(0.0, ge=0, le=1)
    sandbox_seed: int = 0

    # Message create batching (group commit on the hot path)
    insert_batch_max: int = Field(256, ge=1)

    # Link shortening and the redirect server (docs/links.md)
    redirect_port: int = Field(8081, ge=0, le=65535, description="Redirect server port.")
    link_base_url: str | None = Field(
        None, description="Default link domain, http(s)://host[:port]; default the redirect port."
    )
    link_fallback_url: str | None = Field(
        None, description="Where unknown or expired slugs on the default domain go (else 404)."
    )
    link_retention_days: float = Field(90, gt=0, description="How long a short link redirects.")
    slug_length: int = Field(7, ge=5, le=32)
    link_rate_limit: int = Field(
        60_000, ge=1, description="Links an account may create per minute (over it: 20429)."
    )
    click_batch_size: int = Field(2000, ge=1, description="Clicks written per batch.")
    click_flush_interval: float = Field(0.5, gt=0, description="Longest a click waits (s).")
    click_high_water: int = Field(
        500_000,
        ge=1,
        description="Buffered clicks at which the redirect server stops reading (~112 bytes each).",
    )
    slug_cache_size: int = Field(100_000, ge=1)
    cert_expiry_warning_days: int = Field(30, ge=0)

    @field_validator("public_url", "link_base_url", "link_fallback_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        """The same URL rules as the API's (issue 11 §1a), checked at start-up."""
        problem = url_problem(value) if value else None
        if problem is not None:
            raise ValueError(problem)
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'textwire.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url().startswith("sqlite")
