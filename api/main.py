"""The FastAPI application: routers, error handlers, request context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import fastapi.routing
from fastapi import Depends, FastAPI
from starlette.types import ASGIApp

from api import errors, openapi, unavailable
from api.ai_lane import AiIngestLane
from api.deps import single_query_values
from api.heartbeat_lane import HeartbeatLane
from api.middleware import RequestContextMiddleware
from api.routers import (
    ai,
    ai_cost_alert,
    ai_ingest,
    alert_channels,
    alert_deliveries,
    api_keys,
    billing,
    config,
    dashboard,
    health,
    heartbeat,
    incident_updates,
    incidents,
    maintenance,
    monitors,
    organization,
    otlp,
    performance,
    public_pages,
    screenshots,
    status_page_notices,
    status_pages,
    subscriptions,
    system,
    team,
    uptime,
)
from api.routers.heartbeat import PingLimits, TokenLimiter
from pages.render import load_templates
from store.clock import Clock, SystemClock
from store.config import Settings
from store.db import Store


class _App(FastAPI):
    """FastAPI with the AI ingest lane ahead of its whole middleware stack."""

    def build_middleware_stack(self) -> ASGIApp:
        timeout = self.state.settings.body_timeout_s
        return AiIngestLane(super().build_middleware_stack(), body_timeout_s=timeout)


def create_app(
    settings: Settings | None = None, *, store: Store | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the app. Without ``store`` it opens (and closes) one from the settings."""
    settings = settings or Settings()
    owns_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_store:
            app.state.store = Store(settings.database_url)
        yield
        if owns_store:
            await app.state.store.close()

    app = _App(
        title="Vigil API",
        version="0.1.0",
        description="Uptime and synthetic monitoring. Send `Authorization: Bearer <key>`.",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        dependencies=[Depends(single_query_values)],
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.ping_limits = PingLimits(TokenLimiter(settings.unknown_tokens_per_minute))
    if store is not None:
        app.state.store = store
    errors.install(app)
    unavailable.install(app)
    openapi.install(app)
    # Added first, so it runs inside the request context (request id, headers).
    app.add_middleware(HeartbeatLane)
    app.add_middleware(RequestContextMiddleware, body_timeout_s=settings.body_timeout_s)
    for module in (
        health,
        system,
        heartbeat,
        monitors,
        performance,
        uptime,
        screenshots,
        incidents,
        incident_updates,
        api_keys,
        organization,
        dashboard,
        billing,
        alert_channels,
        maintenance,
        alert_deliveries,
        config,
        status_pages,
        status_page_notices,
        public_pages,
        subscriptions,
        ai_ingest,
        ai,
        ai_cost_alert,
        team,
        otlp,
    ):
        app.include_router(module.router)
    app.include_router(system.metrics_router)
    return app


def prepare_app(app: FastAPI) -> None:
    """Build what is otherwise built on the first request that needs it, so that a
    server's first request costs what the others do: FastAPI's state of each router
    (a TypeAdapter per parameter and body field: about 0.4 s for this API), where each
    endpoint's source is (FastAPI reads it for error messages: a few ms per endpoint's
    first request) and the status pages' templates. Called once a server starts; the
    apps tests create skip it."""
    load_templates()
    # A private helper of FastAPI 0.16x, cached by function; without it, nothing to do.
    endpoint_context = getattr(fastapi.routing, "_extract_endpoint_context", None)

    def walk(routes: list[Any]) -> None:
        for route in routes:
            call = getattr(getattr(route, "dependant", None), "call", None)
            if endpoint_context is not None and call is not None:
                endpoint_context(call)
            # FastAPI's included routers (0.16x) expose this; older ones build eagerly.
            candidates = getattr(route, "effective_candidates", None)
            if callable(candidates):
                walk(candidates())
                low = getattr(route, "effective_low_priority_routes", None)
                if callable(low):
                    low()

    walk(list(app.router.routes))
