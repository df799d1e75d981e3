"""RevenueCat's REST API v1 and webhooks, as far as Vigil uses them.

An organization is one RevenueCat customer whose App User ID is the organization's
id. Checkout happens client-side (RevenueCat's web SDK with the public key);
Vigil reads the customer from ``GET /subscribers/{app_user_id}`` (secret key) and
learns of purchases, renewals and expirations from webhook events, which carry the
Authorization header value configured in RevenueCat's dashboard.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from store.config import Settings
from store.plans import PLANS

# Events that mean the customer now has the product of the event.
GRANTING = frozenset(
    {"INITIAL_PURCHASE", "RENEWAL", "UNCANCELLATION", "NON_RENEWING_PURCHASE", "PRODUCT_CHANGE"}
)
# Events that mean the customer no longer has a paid plan.
ENDING = frozenset({"EXPIRATION"})
TIMEOUT_S = 10.0


class RevenueCatError(Exception):
    """RevenueCat could not be reached or refused the request; the message says which."""


@dataclass(frozen=True)
class BillingConfig:
    api_url: str
    secret_key: str | None
    public_key: str | None
    webhook_auth: str | None
    products: Mapping[str, str]  # plan -> RevenueCat product id

    def missing(self, *, webhook: bool = False) -> list[str]:
        """The settings still to set for checkout and portal (or for the webhook)."""
        if webhook:
            return [] if self.webhook_auth else ["VIGIL_REVENUECAT_WEBHOOK_AUTH"]
        wanted = {
            "VIGIL_REVENUECAT_SECRET_KEY": self.secret_key,
            "VIGIL_REVENUECAT_PUBLIC_KEY": self.public_key,
        }
        return [name for name, value in wanted.items() if not value]

    def plan_for_product(self, product_id: str | None) -> str | None:
        for plan, product in self.products.items():
            if product == product_id:
                return plan
        return None


def parse_products(raw: str) -> dict[str, str]:
    """``PRO=prod_a,BUSINESS=prod_b`` -> ``{"PRO": "prod_a", ...}``; ValueError names the fault."""
    products: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        plan, sep, product = (s.strip() for s in item.partition("="))
        if not sep or plan not in PLANS[1:] or not product:
            raise ValueError(
                f"VIGIL_REVENUECAT_PRODUCTS entry {item!r} must be PLAN=product_id with PLAN "
                "one of PRO, BUSINESS, ENTERPRISE"
            )
        products[plan] = product
    return products


def config_from(settings: Settings) -> BillingConfig:
    return BillingConfig(
        api_url=settings.revenuecat_api_url.rstrip("/"),
        secret_key=settings.revenuecat_secret_key,
        public_key=settings.revenuecat_public_key,
        webhook_auth=settings.revenuecat_webhook_auth,
        products=parse_products(settings.revenuecat_products),
    )


async def fetch_subscriber(config: BillingConfig, app_user_id: str) -> dict[str, Any]:
    """The ``subscriber`` object of ``GET /subscribers/{app_user_id}``."""
    url = f"{config.api_url}/subscribers/{quote(app_user_id, safe='')}"
    headers = {"Authorization": f"Bearer {config.secret_key}", "Accept": "application/json"}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise RevenueCatError(f"RevenueCat at {config.api_url} did not answer ({exc!r})") from None
    if response.status_code != 200:
        said = _message(response)
        advice = "; check VIGIL_REVENUECAT_SECRET_KEY" if response.status_code in (401, 403) else ""
        raise RevenueCatError(f"RevenueCat answered {response.status_code} ({said}){advice}")
    try:
        subscriber = response.json()["subscriber"]
    except (ValueError, KeyError, TypeError):
        raise RevenueCatError("RevenueCat's answer has no 'subscriber' object") from None
    if not isinstance(subscriber, dict):
        raise RevenueCatError("RevenueCat's 'subscriber' is not an object")
    return subscriber


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.text[:200])
    except (ValueError, AttributeError):
        return response.text[:200]


def webhook_authorized(config: BillingConfig, header: str | None) -> bool:
    """Whether a webhook request carries the configured Authorization value (timing-safe)."""
    if not config.webhook_auth or header is None:
        return False
    return hmac.compare_digest(header.encode(), config.webhook_auth.encode())


@dataclass(frozen=True)
class PlanEvent:
    """What a webhook event means for one organization: its new plan, or None to ignore it."""

    event_id: str | None
    event_type: str
    app_user_id: str | None
    plan: str | None
    reason: str


def interpret(config: BillingConfig, body: Mapping[str, Any]) -> PlanEvent:
    """Read a webhook body (``{"api_version", "event": {...}}``); pure."""
    event = body.get("event")
    if not isinstance(event, Mapping):
        return PlanEvent(None, "", None, None, "the body has no 'event' object")
    kind = str(event.get("type") or "")
    user = event.get("app_user_id")
    event_id = event.get("id")
    base = (str(event_id) if event_id else None, kind, str(user) if user else None)
    if kind in ENDING:
        return PlanEvent(*base, "FREE", f"{kind}: the subscription ended")
    if kind not in GRANTING:
        return PlanEvent(*base, None, f"{kind or 'an untyped event'} does not change the plan")
    # PRODUCT_CHANGE names the product switched to in new_product_id.
    product = event.get("new_product_id") if kind == "PRODUCT_CHANGE" else None
    product = product or event.get("product_id")
    plan = config.plan_for_product(str(product) if product else None)
    if plan is None:
        return PlanEvent(*base, None, f"product {product!r} is not in VIGIL_REVENUECAT_PRODUCTS")
    return PlanEvent(*base, plan, f"{kind} of {product}")
