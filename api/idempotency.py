"""``Idempotency-Key`` on create endpoints: replay, 409 while in flight, 422 on a new body.

The claim on a key is committed on its own before the create runs, so a concurrent
retry sees it; the create and the stored response commit together, so a crash never
leaves a created resource without its replayable response. A claim left behind by a
crashed request is taken over after ``ABANDONED_AFTER``.

A full API key is shown once and never stored: the saved response keeps the
fields named in ``secret_fields`` masked, so a replay shows them masked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Auth
from api.errors import ApiError
from store.clock import Clock
from store.db import Store
from store.keys import mask_plaintext
from store.models import IdempotencyKey

KEEP_FOR = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=2)
Create = Callable[[AsyncSession], Awaitable[tuple[int, dict[str, Any]]]]


def request_digest(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same" for an Idempotency-Key."""
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def _stored(body: dict[str, Any], secret_fields: Sequence[str]) -> str:
    data = body.get("data")
    if isinstance(data, dict):
        masked = {f: mask_plaintext(data[f]) for f in secret_fields if isinstance(data.get(f), str)}
        body = {**body, "data": {**data, **masked}}
    return json.dumps(body)


async def run_create(
    request: Request,
    auth: Auth,
    store: Store,
    clock: Clock,
    create: Create,
    *,
    secret_fields: Sequence[str] = (),
) -> JSONResponse:
    """Run ``create`` in one transaction, honouring an ``Idempotency-Key`` header.

    ``secret_fields`` name plaintext keys in the response's ``data``: they are saved
    masked for replays, never in full.
    """
    key = request.headers.get("idempotency-key")
    if key is None:
        async with store.transaction() as session:
            status, body = await create(session)
            # Rendered before the commit: a body that cannot be sent writes nothing.
            return JSONResponse(body, status_code=status)
    if not 1 <= len(key) <= 255:
        raise ApiError(400, "Idempotency-Key must be 1 to 255 characters")
    raw = await request.body()
    digest = request_digest(request.method, request.url.path, raw)
    replay = await _claim(store, clock, auth.key.id, key, digest)
    if replay is not None:
        return replay
    try:
        async with store.transaction() as session:
            status, body = await create(session)
            await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.api_key_id == auth.key.id, IdempotencyKey.key == key)
                .values(status_code=status, response_body=_stored(body, secret_fields))
            )
            response = JSONResponse(body, status_code=status)
    except BaseException:
        async with store.transaction() as session:
            await _forget(session, auth.key.id, key)
        raise
    return response


async def _claim(
    store: Store, clock: Clock, api_key_id: str, key: str, digest: str
) -> JSONResponse | None:
    """Claim the key for this request, or answer from (or about) an earlier one."""
    now = clock.now()
    for _ in range(2):
        try:
            async with store.transaction() as session:
                session.add(
                    IdempotencyKey(
                        api_key_id=api_key_id, key=key, request_hash=digest, created_at=now
                    )
                )
            return None
        except IntegrityError:
            pass
        async with store.transaction() as session:
            row = await session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key
                )
            )
            if row is None:
                continue
            age = now - row.created_at
            stale = age > KEEP_FOR or (row.status_code is None and age > ABANDONED_AFTER)
            if stale:
                await _forget(session, api_key_id, key)
                continue
            if row.request_hash != digest:
                raise ApiError(
                    422,
                    "This Idempotency-Key was already used with a different request; "
                    "use a new key for a new request",
                )
            if row.status_code is None or row.response_body is None:
                raise ApiError(
                    409,
                    "A request with this Idempotency-Key is still in progress; retry shortly",
                )
            return JSONResponse(
                json.loads(row.response_body),
                status_code=row.status_code,
                headers={"Idempotent-Replayed": "true"},
            )
    raise ApiError(409, "Could not claim the Idempotency-Key; retry shortly")


async def _forget(session: AsyncSession, api_key_id: str, key: str) -> None:
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key
        )
    )
