"""Process configuration, read from ``VIGIL_*`` environment variables."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

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
    # "text" for people, "json" for log shippers (one object per line).
    log_format: Literal["text", "json"] = "text"
    worker_concurrency: int = 256
    # `vigil worker` and `vigil dispatcher` serve /metrics here when a port is set
    # (`vigil run` and `vigil api` serve it on the API).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "vigil@localhost"
    smtp_starttls: bool = False
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    alert_retry_base_s: float = 10.0
    alert_retry_cap_s: float = 900.0
    alert_retry_window_s: float = 86_400.0
    channel_notice_after_s: float = 600.0
    housekeeping_every_s: float = 5.0
    # The channels' 10 s timeout plus a 2 s margin; renewed every third while delivering,
    # so a dead dispatcher's delivery is taken over 8-12 s after it died.
    dispatch_lease_s: float = 12.0
    # On SIGTERM a dispatcher finishes its deliveries for this long, then hands the
    # rest back (a peer delivers them at once); an API finishes requests in flight.
    shutdown_grace_s: float = Field(default=5.0, ge=0)
    # Organizations created through the API or `vigil admin create-org` start trusted?
    trust_new_orgs: bool = False
    # Networks every organization may reach (checks.target_policy.parse_networks).
    allowed_targets_csv: str = Field(default="", alias="VIGIL_ALLOWED_TARGETS")
    # A request body that has not fully arrived after this long is answered 408.
    body_timeout_s: float = 30.0
    # The most of its organization's per-minute budget one API key may use (0-1].
    key_rate_share: float = Field(default=1.0, gt=0, le=1)
    # Whole UTC days of raw results kept before today (rollups keep the history).
    result_retention_days: int = Field(default=30, ge=1)
    dns_nameservers_csv: str = Field(default="", alias="VIGIL_DNS_NAMESERVERS")
    # A status page answered from its last good rendering when the store is slower.
    status_page_timeout_s: float = 2.0
    # A public rendering this young is served again without asking the store.
    status_page_fresh_s: float = 10.0

    # Billing through RevenueCat (docs/billing.md); off until the keys are set.
    revenuecat_api_url: str = "https://api.revenuecat.com/v1"
    revenuecat_secret_key: str | None = None
    revenuecat_public_key: str | None = None
    revenuecat_webhook_auth: str | None = None
    revenuecat_products: str = (
        "PRO=vigil_pro_monthly,BUSINESS=vigil_business_monthly,ENTERPRISE=vigil_enterprise_monthly"
    )
    # Email invitations through the SMTP settings (docs/team.md).
    invite_email: bool = False

    # Bad API keys, and unknown heartbeat tokens, one client address may send a minute.
    auth_failures_per_minute: int = Field(default=20, ge=1)
    unknown_tokens_per_minute: int = Field(default=30, ge=1)
    # Status page subscriptions one client address, and one page, may take a minute:
    # each email one sends a confirmation message through the operator's SMTP.
    subscribes_per_minute: int = Field(default=5, ge=1)
    page_subscribes_per_minute: int = Field(default=30, ge=1)

    @property
    def dns_nameservers(self) -> tuple[str, ...]:
        """``VIGIL_DNS_NAMESERVERS`` as a tuple; empty means the system's resolv.conf."""
        return tuple(s.strip() for s in self.dns_nameservers_csv.split(",") if s.strip())

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
