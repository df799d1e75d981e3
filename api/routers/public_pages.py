"""Public status pages: HTML, Statuspage v2 JSON, Atom, badges, and the start page.

Each document goes through ``pages.cache.RenderCache``: the store is asked with a
deadline and, when it fails, the last good rendering is served with its age.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import ClockDep, SettingsDep, StoreDep
from api.errors import ApiError, not_found
from api.schemas.common import (
    NOT_MODIFIED,
    PUBLIC_ERRORS,
    Data,
    one_of,
    text_answer,
    written_errors,
)
from api.schemas.status_pages import DomainFound, ShieldsBadge
from pages import badges, feed, statuspage, uptime_source
from pages.cache import (
    RenderCache,
    Served,
    StoreUnavailableError,
    etag_of,
    gzip_etag,
    gzipped,
)
from pages.links import page_url
from pages.render import mark_stale, render_page, render_start
from pages.view import PageView, load_view
from store.clock import Clock
from store.config import Settings
from store.db import Store
from store.status_pages import page_by_domain, page_by_slug, public_pages

router = APIRouter(tags=["status pages (public)"])
CACHE_CONTROL = "public, max-age=30"
HTML = "text/html; charset=utf-8"
BADGE_KINDS = ("status", "uptime-24h", "uptime-7d", "uptime-30d", "uptime-90d", "response")
_WINDOWS = {"uptime-24h": 1, "uptime-7d": 7, "uptime-30d": 30}
_NOT_FOUND_HTML = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title>'
    '<link rel="icon" href="data:,"></head><body><main><h1>No such status page</h1>'
    "<p>Check the address; the page may have moved or been made private.</p></main></body></html>"
)

Produce = Callable[[], Awaitable[tuple[bytes, str] | None]]

# The documents people and feed readers fetch: not JSON, so every answer is written out.
_DOCUMENT_ERRORS = written_errors(400, 404, 408, 422, 500, 503)


def _document(media_type: str, description: str) -> dict[int | str, Any]:
    return {200: text_answer(media_type, description), **NOT_MODIFIED, **_DOCUMENT_ERRORS}


BadgeKind = Annotated[str, one_of(BADGE_KINDS)]


def page_cache(request: Request) -> RenderCache:
    """The app's cache of last good renderings, made on first use."""
    state = request.app.state
    cache: RenderCache | None = getattr(state, "page_cache", None)
    if cache is None:
        settings: Settings = state.settings
        cache = RenderCache(
            timeout_s=settings.status_page_timeout_s,
            fresh_s=settings.status_page_fresh_s,
            clock=time.monotonic,
        )
        state.page_cache = cache
    return cache


async def _view(
    store: Store, clock: Clock, slug: str, *, only: str | None = None, days: bool = True
) -> PageView | None:
    async with store.transaction() as session:
        page = await page_by_slug(session, slug)
        if page is None or not page.is_public:
            return None
        return await load_view(session, page, now=clock.now(), only=only, days=days)


def _respond(request: Request, served: Served) -> Response:
    rendering = served.rendering
    body, etag, packed = rendering.body, rendering.etag, rendering.gzipped
    headers = {"Cache-Control": CACHE_CONTROL}
    if served.stale_age_s is not None:
        if rendering.media_type == HTML:
            body = mark_stale(body.decode(), age_s=served.stale_age_s).encode()
            etag, packed = etag_of(body), gzipped(body)
        headers.update({"Age": str(int(served.stale_age_s)), "Cache-Control": "no-cache"})
    if packed is not None:
        # Caches must keep the two representations apart.
        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(request.headers.get("accept-encoding", "")):
            body, etag = packed, gzip_etag(etag)
            headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=rendering.media_type, headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (or ``*``) with a weight above 0."""
    weights: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name:
            weights[name] = weight
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0


async def _serve(request: Request, key: str, produce: Produce, *, html: bool = False) -> Response:
    try:
        served = await page_cache(request).get(key, produce)
    except StoreUnavailableError:
        raise ApiError(
            503, "The status page cannot be shown right now: the store is unavailable; retry soon"
        ) from None
    if served is None:
        if html:
            return HTMLResponse(_NOT_FOUND_HTML, status_code=404)
        raise not_found("status_page")
    return _respond(request, served)


def _json(data: dict[str, Any]) -> tuple[bytes, str]:
    return json.dumps(data, separators=(",", ":")).encode(), "application/json"


@router.get(
    "/status/{slug}",
    response_class=HTMLResponse,
    responses={
        **_document("text/html", "The status page"),
        404: text_answer("text/html", "No such public status page (a page for people)"),
    },
)
async def html_page(slug: str, request: Request, store: StoreDep, clock: ClockDep) -> Response:
    """The status page, server-rendered HTML."""

    async def produce() -> tuple[bytes, str] | None:
        view = await _view(store, clock, slug)
        if view is None:
            return None
        return render_page(view, base=f"/status/{slug}").encode(), HTML

    return await _serve(request, f"html:{slug}", produce, html=True)


@router.get(
    "/status/{slug}/api/v2/{name:path}",
    response_class=Response,
    responses={
        **_document("application/json", "The Statuspage v2 document"),
        200: {
            "description": "The Statuspage v2 document (as statuspage.io serves it)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
)
async def statuspage_json(
    slug: str,
    name: Annotated[str, one_of(statuspage.DOCUMENTS)],
    request: Request,
    store: StoreDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Statuspage v2: summary, status, components, incidents(/unresolved), maintenances."""
    if name not in statuspage.DOCUMENTS:
        raise ApiError(
            404, "Statuspage documents are: " + ", ".join(statuspage.DOCUMENTS), code="not_found"
        )

    async def produce() -> tuple[bytes, str] | None:
        view = await _view(store, clock, slug, days=False)
        if view is None:
            return None
        doc = statuspage.document(view, name, url=page_url(view.page, settings.base_url))
        return None if doc is None else _json(doc)

    return await _serve(request, f"v2:{slug}:{name}", produce)


@router.get(
    "/status/{slug}/feed.atom",
    response_class=Response,
    responses=_document("application/atom+xml", "An Atom feed of incidents and maintenance"),
)
async def atom_feed(
    slug: str, request: Request, store: StoreDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """An Atom feed of incidents and maintenance."""

    async def produce() -> tuple[bytes, str] | None:
        view = await _view(store, clock, slug, days=False)
        if view is None:
            return None
        return feed.atom(view, url=page_url(view.page, settings.base_url)), "application/atom+xml"

    return await _serve(request, f"atom:{slug}", produce)


async def _badge_values(
    store: Store, clock: Clock, slug: str, component_id: str, kind: str
) -> tuple[str, str, str] | None:
    """(label, message, colour) of one badge; None when the page or component is unknown."""
    view = await _view(store, clock, slug, only=component_id)
    component = view.component(component_id) if view else None
    if view is None or component is None:
        return None
    if kind == "status":
        message, color = badges.STATUS_BADGE[component.status]
        return component.name, message, color
    if kind == "response":
        known = [v for v in component.response_ms if v is not None]
        ms = known[-1] if known else None
        text = "no data" if ms is None else f"{ms:.0f} ms"
        return "response time", text, badges.response_color(ms)
    if kind == "uptime-90d":
        pct = component.uptime90d
    else:
        now = clock.now()
        async with store.transaction() as session:
            found = await uptime_source.uptime_since(
                session,
                [component.monitor_id],
                since=now - timedelta(days=_WINDOWS[kind]),
                now=now,
            )
        pct = found.get(component.monitor_id)
    text = "no data" if pct is None else f"{pct:.2f}%"
    return f"uptime {kind.removeprefix('uptime-')}", text, badges.uptime_color(pct)


def _badge_kind(kind: str) -> None:
    if kind not in BADGE_KINDS:
        raise ApiError(404, "Badges are: " + ", ".join(BADGE_KINDS), code="not_found")


@router.get(
    "/status/{slug}/badges/{component_id}/{kind}.svg",
    response_class=Response,
    responses=_document("image/svg+xml", "The badge"),
)
async def badge_svg(
    slug: str,
    component_id: str,
    kind: BadgeKind,
    request: Request,
    store: StoreDep,
    clock: ClockDep,
) -> Response:
    """An SVG badge: status, uptime-24h/7d/30d/90d or response."""
    _badge_kind(kind)

    async def produce() -> tuple[bytes, str] | None:
        values = await _badge_values(store, clock, slug, component_id, kind)
        return None if values is None else (badges.badge(*values).encode(), "image/svg+xml")

    return await _serve(request, f"badge:{slug}:{component_id}:{kind}", produce)


@router.get(
    "/status/{slug}/badges/{component_id}/{kind}.json",
    response_class=Response,
    responses={
        **_document("application/json", "shields.io endpoint JSON"),
        200: {"model": ShieldsBadge, "description": "shields.io's endpoint JSON (schemaVersion 1)"},
    },
)
async def badge_shields(
    slug: str,
    component_id: str,
    kind: BadgeKind,
    request: Request,
    store: StoreDep,
    clock: ClockDep,
) -> Response:
    """shields.io's endpoint JSON for the same badge."""
    _badge_kind(kind)

    async def produce() -> tuple[bytes, str] | None:
        values = await _badge_values(store, clock, slug, component_id, kind)
        return None if values is None else _json(badges.shields(*values))

    return await _serve(request, f"shields:{slug}:{component_id}:{kind}", produce)


def _host(request: Request) -> str:
    return request.headers.get("host", "").rpartition(":")[0] or request.headers.get("host", "")


# Left out of the document: what "/" serves depends on the Host header (a verified
# custom domain's page, documented as GET /status/{slug}, or the start page for people).
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def root(
    request: Request, store: StoreDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """A verified custom domain's page; otherwise a start page linking the public pages."""
    host = _host(request).lower()
    async with store.transaction() as session:
        page = await page_by_domain(session, host) if host else None
        if page is None:
            pages = await public_pages(session)
            return HTMLResponse(render_start(pages, base_url=settings.base_url))
    return await html_page(page.slug, request, store, clock)


@router.get("/api/custom-domains/check", response_model=Data[DomainFound], responses=PUBLIC_ERRORS)
async def domain_check(
    domain: Annotated[str, Query(description="The host name a TLS certificate is asked for")],
    store: StoreDep,
) -> dict[str, Any]:
    """200 when ``domain`` is a verified status page domain, else 404 (on-demand TLS asks)."""
    async with store.transaction() as session:
        page = await page_by_domain(session, domain.strip().lower().rstrip("."))
    if page is None:
        raise ApiError(404, f"{domain} is not a verified status page domain", code="not_found")
    return {"data": {"domain": page.custom_domain, "verified": True}}
