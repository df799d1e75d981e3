"""``/api/billing/checkout``, ``/portal`` and ``/webhook``: plans bought through RevenueCat.

``GET /api/billing`` (plan and usage) lives with the dashboard counts. Without the
``VIGIL_REVENUECAT_*`` keys, checkout and portal answer 501 ``billing_not_configured``
naming what to set; ``vigil admin set-plan`` changes a plan by hand. See docs/billing.md.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request

from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep, SettingsDep, require_role
from api.errors import ApiError, invalid
from api.openapi import body
from api.schemas.account import (
    PAID_PLANS,
    Checkout,
    CheckoutCreate,
    Portal,
    RevenueCatWebhook,
    WebhookOutcome,
)
from api.schemas.common import API_ERRORS, Data, errors
from billing.revenuecat import (
    BillingConfig,
    RevenueCatError,
    config_from,
    fetch_subscriber,
    interpret,
    webhook_authorized,
)
from store.billing import change_plan
from store.config import Settings
from store.models import Organization

log = logging.getLogger("vigil.billing")
router = APIRouter(prefix="/api/billing", tags=["billing"], responses={**API_ERRORS, **errors(501)})


def _configured(settings: Settings, *, webhook: bool = False) -> BillingConfig:
    config = config_from(settings)
    missing = config.missing(webhook=webhook)
    if missing:
        raise ApiError(
            501,
            "Billing is not configured on this Vigil: set "
            + " and ".join(missing)
            + " (see docs/billing.md), or change plans with 'vigil admin set-plan'",
            code="billing_not_configured",
        )
    return config


@router.post(
    "/checkout",
    response_model=Data[Checkout],
    openapi_extra=body(CheckoutCreate),
    dependencies=[require_role("OWNER")],
)
async def checkout(request: Request, auth: AuthDep, settings: SettingsDep) -> dict[str, Any]:
    """What RevenueCat's web SDK needs to sell ``plan`` to this organization."""
    config = _configured(settings)
    body = await read_object(request)
    plan = body.get("plan")
    issues = [] if plan in PAID_PLANS else [("plan", "must be one of " + ", ".join(PAID_PLANS))]
    issues += [(f, "is not a checkout field") for f in sorted(set(body) - {"plan"})]
    if issues:
        raise invalid(issues)
    product = config.products.get(str(plan))
    if product is None:
        raise ApiError(
            501,
            f"No RevenueCat product is set for {plan}: add {plan}=<product id> to "
            "VIGIL_REVENUECAT_PRODUCTS",
            code="billing_not_configured",
        )
    return {"data": {"productId": product, "appUserId": auth.org_id, "apiKey": config.public_key}}


@router.post("/portal", response_model=Data[Portal], dependencies=[require_role("OWNER")])
async def portal(auth: AuthDep, settings: SettingsDep) -> dict[str, Any]:
    """The organization's subscriptions, entitlements and management URL, from RevenueCat."""
    config = _configured(settings)
    try:
        subscriber = await fetch_subscriber(config, auth.org_id)
    except RevenueCatError as exc:
        raise ApiError(503, f"{exc}; try again later") from None
    return {
        "data": {
            "subscriptions": subscriber.get("subscriptions") or {},
            "entitlements": subscriber.get("entitlements") or {},
            "managementUrl": subscriber.get("management_url"),
        }
    }


@router.post(
    "/webhook",
    response_model=Data[WebhookOutcome],
    response_model_exclude_unset=True,
    openapi_extra=body(RevenueCatWebhook),
)
async def webhook(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> dict[str, Any]:
    """RevenueCat's events (public; checked by the configured Authorization header).

    A purchase, renewal or product change puts the organization (the event's
    ``app_user_id``) on the product's plan; an expiration puts it back on FREE.
    Events that change nothing answer 200 so that RevenueCat does not retry them.
    """
    config = _configured(settings, webhook=True)
    if not webhook_authorized(config, request.headers.get("authorization")):
        raise ApiError(
            401,
            "The Authorization header does not match VIGIL_REVENUECAT_WEBHOOK_AUTH; set the "
            "same value in RevenueCat's webhook settings",
        )
    event = interpret(config, await read_object(request))
    org = await session.get(Organization, event.app_user_id) if event.app_user_id else None
    if event.plan is None or org is None:
        reason = event.reason if event.plan is None else f"no organization {event.app_user_id!r}"
        log.warning("billing event %s ignored: %s", event.event_id, reason)
        return {"data": {"applied": False, "reason": reason}}
    previous = org.plan
    report = await change_plan(session, org, event.plan, now=clock.now())
    log.info("billing event %s: %s %s -> %s", event.event_id, org.slug, previous, event.plan)
    return {
        "data": {
            "applied": True,
            "orgId": org.id,
            "previousPlan": previous,
            "plan": org.plan,
            "overLimit": report.json(),
        }
    }
