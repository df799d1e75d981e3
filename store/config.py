"""Process configuration, read from ``VIGIL_*`` environment variables."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.plans import Plan


class Settings(BaseSettings):
    """Every knob Vigil reads; see docs/configuration.md for the table."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore")

    database_url: str = "sqlite:///./vigil.db"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    regions_csv: str = Field(default="local", alias="VIGIL_REGIONS")
    default_plan: Plan = "ENTERPRISE"
    bootstrap_key: str | None = None
    demo_monitor: bool = True
    log_level: str = "info"
    worker_concurrency: int = 256
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "vigil@localhost"
    smtp_starttls: bool = False
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    alert_retry_base_s: float = 10.0
    housekeeping_every_s: float = 5.0
    dispatch_lease_s: float = 60.0
    # A request body that has not fully arrived after this long is answered 408.
    body_timeout_s: float = 30.0
    # The most of its organization's per-minute budget one API key may use (0-1].
    key_rate_share: float = Field(default=1.0, gt=0, le=1)
    # Bad API keys, and unknown heartbeat tokens, one client address may send a minute.
    auth_failures_per_minute: int = Field(default=20, ge=1)
    unknown_tokens_per_minute: int = Field(default=30, ge=1)

    @cached_property
    def regions(self) -> list[str]:
        """The regions this deployment runs workers in; the first is the default."""
        names = [r.strip() for r in self.regions_csv.split(",") if r.strip()]
        if "heartbeat" in names:
            raise ValueError(
                "VIGIL_REGIONS names 'heartbeat', which is reserved for heartbeat monitors; "
                "choose another region name"
            )
        return names or ["local"]

    @property
    def base_url(self) -> str:
        """The URL people and cron jobs reach the API at (for heartbeat URLs)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
