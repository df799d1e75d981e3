"""503 ``store_unavailable`` with ``Retry-After`` while the store cannot be reached.

Any endpoint may find the database gone (stopped, restarting, network cut). The
client is told to come back shortly, not that the server is broken, and the log
gets one line when the store goes away, a summary every 30 s and one line when it
is back (``store.outage``), instead of two tracebacks per request.
"""

from __future__ import annotations

import logging

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from sqlalchemy import event

from api.errors import ApiError, error_response, request_id
from store.db import Store
from store.outage import OutageLog, is_store_unavailable

log = logging.getLogger("vigil.api")
RETRY_AFTER_S = 5
MESSAGE = (
    "The store (database) is unavailable; nothing was changed. "
    f"Retry in {RETRY_AFTER_S} s; if this persists, check the database server"
)
outage = OutageLog(log, "api")
_watched: set[int] = set()


def _watch(store: Store) -> None:
    """End the outage in the log at the store's first new connection after it.

    Dropped connections are discarded, so the first request to reach the store
    again opens a new one.
    """
    if id(store.engine) in _watched:
        return
    _watched.add(id(store.engine))
    event.listen(store.engine.sync_engine, "connect", lambda *_: outage.ok())


def store_failed(exc: Exception, store: Store) -> ApiError | None:
    """The 503 for a store failure (logged calmly); None for any other error."""
    if not is_store_unavailable(exc):
        return None
    _watch(store)
    outage.failed(exc)
    return unavailable_error()


def unavailable_error() -> ApiError:
    return ApiError(
        503, MESSAGE, code="store_unavailable", headers={"Retry-After": str(RETRY_AFTER_S)}
    )


def install(app: FastAPI) -> None:
    """Answer store failures raised by any route or dependency with the 503."""

    async def _store_error(request: Request, exc: Exception) -> JSONResponse:
        err = store_failed(exc, request.app.state.store)
        if err is not None:
            return error_response(request, err)
        # Not an outage (a constraint, a bad query): the usual 500, logged once.
        rid = request_id(request)
        log.exception("unhandled error in %s %s [%s]", request.method, request.url.path, rid)
        message = f"Internal error; report request id {rid} to your administrator"
        return error_response(request, ApiError(500, message))

    for kind in (
        sqlalchemy.exc.DBAPIError,
        sqlalchemy.exc.TimeoutError,
        psycopg.Error,
        PoolTimeout,
        ConnectionError,
    ):
        app.add_exception_handler(kind, _store_error)
