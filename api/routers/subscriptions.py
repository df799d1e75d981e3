"""Subscribing to a status page (public, works from a plain HTML form) and the owner's list.

Confirm and unsubscribe links open a page with a button (POST), so a mail
scanner that follows links neither confirms nor unsubscribes anyone; the
unsubscribe URL also takes RFC 8058's one-click POST.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.body import text_issue, value_issues
from api.deps import AuthDep, ClockDep, SessionDep, SettingsDep, client_address
from api.errors import ApiError, invalid, not_found
from api.openapi import body
from api.routers.status_pages import owned
from api.schemas.common import API_ERRORS, Data, Message, text_answer, written_errors
from api.schemas.status_pages import SubscribeForm, Subscriber, WebhookSubscriber
from api.serialize import iso
from pages import subscribers
from pages.render import render_message
from store.ratelimit import count_request
from store.status_page_models import StatusPage, StatusPageSubscriber
from store.status_pages import page_by_slug

router = APIRouter(tags=["status pages"])
HTML = "text/html"
# A visitor's pages: HTML answers, JSON errors for what is not a page (an unknown slug).
_VISITOR_ERRORS = written_errors(400, 404, 408, 413, 422, 500, 503)
# Subscribing is limited per client address and per page (a confirmation email each).
_LIMITED = written_errors(429)
_MESSAGE_PAGE = text_answer(HTML, "A page with the outcome and, on forms, a button")


async def _public_page(session: SessionDep, slug: str) -> StatusPage:
    page = await page_by_slug(session, slug)
    if page is None or not page.is_public:
        raise not_found("status_page")
    return page


async def _fields(request: Request) -> tuple[dict[str, str], bool]:
    """The submitted fields and whether they came as JSON (else an HTML form).

    Either way, text the stores cannot keep (NUL, lone surrogates) is a 400 naming
    the field, as for every other JSON body (``api.body``).
    """
    raw = await request.body()
    if len(raw) > 10_000:
        raise ApiError(413, "Request body is larger than 10000 bytes")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        if issues := value_issues(body):
            raise invalid(issues)
        return {k: v for k, v in body.items() if isinstance(v, str)}, True
    form = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items() if v}
    issues = [(k, problem) for k, v in form.items() if (problem := text_issue(v)) is not None]
    if issues:
        raise invalid(sorted(issues))
    return form, False


def subscriber_json(s: StatusPageSubscriber) -> dict[str, Any]:
    return {
        "id": s.id,
        "type": s.kind,
        "email": s.email,
        "webhookUrl": s.url,
        "confirmed": s.confirmed_at is not None,
        "confirmedAt": iso(s.confirmed_at),
        "createdAt": iso(s.created_at),
    }


async def _too_many(
    session: SessionDep, request: Request, page: StatusPage, settings: SettingsDep, *, now_s: float
) -> tuple[str, int] | None:
    """Count this subscription; (why, retry after s) past the address's or page's limit."""
    per_address = settings.subscribes_per_minute
    count, reset = await count_request(session, f"subscribe:{client_address(request)}", now_s=now_s)
    retry = max(1, math.ceil(reset - now_s))
    if count > per_address:
        return (
            f"At most {per_address} subscriptions a minute from one address; retry in {retry} s",
            retry,
        )
    per_page = settings.page_subscribes_per_minute
    count, reset = await count_request(session, f"subscribe-page:{page.id}", now_s=now_s)
    if count > per_page:
        return (
            f"This page takes at most {per_page} new subscriptions a minute; retry in {retry} s",
            retry,
        )
    return None


@router.post(
    "/status/{slug}/subscribe",
    status_code=201,
    openapi_extra=body(
        SubscribeForm, media_types=("application/json", "application/x-www-form-urlencoded")
    ),
    responses={
        **_VISITOR_ERRORS,
        201: {"model": Data[WebhookSubscriber], "description": "A webhook subscriber, active"},
        202: {
            "model": Data[Subscriber],
            "description": "An email subscriber, pending until it confirms (a page for a form)",
            "content": {HTML: _MESSAGE_PAGE["content"][HTML]},
        },
        400: {
            **_VISITOR_ERRORS[400],
            "content": {**_VISITOR_ERRORS[400]["content"], HTML: _MESSAGE_PAGE["content"][HTML]},
        },
        429: {
            **_LIMITED[429],
            "content": {**_LIMITED[429]["content"], HTML: _MESSAGE_PAGE["content"][HTML]},
        },
    },
)
async def subscribe(
    slug: str, request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Subscribe by ``email`` (a confirmation email is sent) or ``webhookUrl`` (active at once)."""
    page = await _public_page(session, slug)
    fields, as_json = await _fields(request)
    now, base = clock.now(), settings.base_url
    busy = await _too_many(session, request, page, settings, now_s=now.timestamp())
    if busy is not None:
        message, retry = busy
        headers = {"Retry-After": str(retry)}
        if as_json:
            raise ApiError(429, message, headers=headers)
        html = render_message(page, "Too many subscriptions", f"{message}.")
        return HTMLResponse(html, status_code=429, headers=headers)
    try:
        if fields.get("webhookUrl"):
            subscriber, secret = await subscribers.subscribe_webhook(
                session, page, fields["webhookUrl"], base_url=base, now=now
            )
            data = {**subscriber_json(subscriber), "secret": secret}
            return Response(json.dumps({"data": data}), 201, media_type="application/json")
        subscriber = await subscribers.subscribe_email(
            session, page, fields.get("email", ""), base_url=base, now=now
        )
    except subscribers.SubscribeError as exc:
        field = str(exc).split(" ", 1)[0]
        if as_json:
            raise ApiError(400, str(exc), fields=[(field, str(exc).split(" ", 1)[1])]) from None
        html = render_message(page, "Not subscribed", f"The {exc}. Go back and try again.")
        return HTMLResponse(html, status_code=400)
    if as_json:
        data = {k: v for k, v in subscriber_json(subscriber).items() if k != "email"}
        return Response(json.dumps({"data": data}), 202, media_type="application/json")
    text = "If the address can receive email, a message with a confirmation link is on its way."
    return HTMLResponse(render_message(page, "Check your inbox", text), status_code=202)


@router.get(
    "/status/{slug}/subscribe/confirm",
    response_class=HTMLResponse,
    responses={200: _MESSAGE_PAGE, **_VISITOR_ERRORS},
)
async def confirm_form(slug: str, token: str, session: SessionDep) -> HTMLResponse:
    """A button that confirms (a GET changes nothing)."""
    page = await _public_page(session, slug)
    text = f"Confirm that you want emails about incidents and maintenance on {page.name}."
    return HTMLResponse(
        render_message(
            page,
            "Confirm your subscription",
            text,
            action=f"/status/{slug}/subscribe/confirm?token={token}",
            button="Confirm",
        )
    )


@router.post(
    "/status/{slug}/subscribe/confirm",
    response_class=HTMLResponse,
    responses={
        200: _MESSAGE_PAGE,
        **_VISITOR_ERRORS,
        404: {
            "description": "No such page (JSON) or a link no longer valid (a page)",
            "content": {**_VISITOR_ERRORS[404]["content"], **_MESSAGE_PAGE["content"]},
        },
    },
)
async def confirm(slug: str, token: str, session: SessionDep, clock: ClockDep) -> HTMLResponse:
    page = await _public_page(session, slug)
    subscriber = await subscribers.by_token(session, page, token)
    if subscriber is None:
        text = "This link is not valid (any more): subscribe again from the status page."
        return HTMLResponse(render_message(page, "Link not valid", text), status_code=404)
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = clock.now()
    text = "You will hear of incidents and maintenance. Every email has an unsubscribe link."
    return HTMLResponse(render_message(page, "Subscribed", text))


@router.get(
    "/status/{slug}/unsubscribe",
    response_class=HTMLResponse,
    responses={200: _MESSAGE_PAGE, **_VISITOR_ERRORS},
)
async def unsubscribe_form(slug: str, token: str, session: SessionDep) -> HTMLResponse:
    page = await _public_page(session, slug)
    return HTMLResponse(
        render_message(
            page,
            "Unsubscribe",
            f"Stop emails about {page.name}?",
            action=f"/status/{slug}/unsubscribe?token={token}",
            button="Unsubscribe",
        )
    )


@router.post(
    "/status/{slug}/unsubscribe",
    response_class=HTMLResponse,
    responses={200: _MESSAGE_PAGE, **_VISITOR_ERRORS},
)
async def unsubscribe(slug: str, token: str, session: SessionDep) -> HTMLResponse:
    """Unsubscribe (the button, or a mail client's one-click POST)."""
    page = await _public_page(session, slug)
    subscriber = await subscribers.by_token(session, page, token)
    if subscriber is not None:
        await subscribers.remove(session, subscriber)
    text = f"You will get no more emails about {page.name}."
    return HTMLResponse(render_message(page, "Unsubscribed", text))


@router.get(
    "/api/status-pages/{slug}/subscribers",
    response_model=Data[list[Subscriber]],
    responses=API_ERRORS,
)
async def list_subscribers(slug: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """The page's subscribers, oldest first (pending ones too)."""
    page = await owned(session, auth.org_id, slug)
    return {"data": [subscriber_json(s) for s in await subscribers.list_for(session, page)]}


@router.delete(
    "/api/status-pages/{slug}/subscribers/{subscriber_id}",
    response_model=Message,
    responses=API_ERRORS,
)
async def delete_subscriber(
    slug: str, subscriber_id: str, auth: AuthDep, session: SessionDep
) -> dict[str, Any]:
    """Remove one subscriber; anything still queued for it is dropped."""
    page = await owned(session, auth.org_id, slug)
    found = [s for s in await subscribers.list_for(session, page) if s.id == subscriber_id]
    if not found:
        raise not_found("subscriber")
    await subscribers.remove(session, found[0])
    return {"message": "Subscriber deleted successfully"}
