"""``GET /api/monitors/:id/checks``: newest first, page/limit, from/to, and cursors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant
from tests.api.helpers import add_check, assert_error, create_monitor

REFERENCE_CHECK_FIELDS = {
    "id",
    "monitorId",
    "status",
    "responseTime",
    "statusCode",
    "region",
    "checkedAt",
}
VIGIL_CHECK_FIELDS = {"timings", "size", "error", "details"}


async def _monitor_with_checks(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, start: datetime, count: int
) -> str:
    """A monitor with one check a minute from ``start``; response times 100, 101, ..."""
    monitor_id = await create_monitor(client, tenant)
    for n in range(count):
        await add_check(
            store,
            monitor_id,
            checked_at=start + timedelta(minutes=n),
            response_time_ms=100 + n,
        )
    return monitor_id


async def _get(
    client: httpx.AsyncClient, tenant: Tenant, monitor_id: str, **params: Any
) -> httpx.Response:
    return await client.get(
        f"/api/monitors/{monitor_id}/checks", headers=tenant.headers, params=params
    )


async def test_checks_answer_the_reference_fields_newest_first(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await _monitor_with_checks(client, tenant, store, clock.now(), 3)

    response = await _get(client, tenant, monitor_id)

    assert response.status_code == 200
    body = response.json()
    first = body["data"][0]
    assert set(first) == REFERENCE_CHECK_FIELDS | VIGIL_CHECK_FIELDS
    assert first["id"].startswith("chk_")
    assert {k: first[k] for k in REFERENCE_CHECK_FIELDS - {"id"}} == {
        "monitorId": monitor_id,
        "status": "UP",
        "responseTime": 102,
        "statusCode": 200,
        "region": "us-east-1",
        "checkedAt": "2026-03-01T12:02:00.000Z",
    }
    assert first["timings"]["total"] == 102.0
    assert [c["responseTime"] for c in body["data"]] == [102, 101, 100]
    assert body["pagination"] == {
        "page": 1,
        "limit": 50,
        "total": 3,
        "totalPages": 1,
        "nextCursor": None,
    }


async def test_checks_page_and_limit_select_a_slice(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await _monitor_with_checks(client, tenant, store, clock.now(), 7)

    response = await _get(client, tenant, monitor_id, page=2, limit=3)

    body = response.json()
    assert [c["responseTime"] for c in body["data"]] == [103, 102, 101]
    pagination = body["pagination"]
    assert {k: pagination[k] for k in ("page", "limit", "total", "totalPages")} == {
        "page": 2,
        "limit": 3,
        "total": 7,
        "totalPages": 3,
    }


async def test_checks_from_and_to_bound_the_time_inclusively(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await _monitor_with_checks(client, tenant, store, clock.now(), 6)

    response = await _get(
        client, tenant, monitor_id, **{"from": "2026-03-01T12:01:00Z", "to": "2026-03-01T12:03:00Z"}
    )

    body = response.json()
    assert [c["checkedAt"] for c in body["data"]] == [
        "2026-03-01T12:03:00.000Z",
        "2026-03-01T12:02:00.000Z",
        "2026-03-01T12:01:00.000Z",
    ]
    assert body["pagination"]["total"] == 3


async def test_checks_from_accepts_an_offset_time(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await _monitor_with_checks(client, tenant, store, clock.now(), 3)

    response = await _get(client, tenant, monitor_id, **{"from": "2026-03-01T13:02:00+01:00"})

    assert [c["responseTime"] for c in response.json()["data"]] == [102]


async def test_checks_cursor_walks_every_row_once(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await _monitor_with_checks(client, tenant, store, clock.now(), 7)
    # Two results in the same instant must both be walked.
    await add_check(store, monitor_id, checked_at=clock.now(), response_time_ms=99)

    seen: list[int] = []
    body = (await _get(client, tenant, monitor_id, limit=3)).json()
    seen += [c["responseTime"] for c in body["data"]]
    pages = 1
    while body["pagination"]["nextCursor"] and pages < 10:
        body = (
            await _get(client, tenant, monitor_id, limit=3, cursor=body["pagination"]["nextCursor"])
        ).json()
        seen += [c["responseTime"] for c in body["data"]]
        pages += 1

    assert seen == [106, 105, 104, 103, 102, 101, 99, 100]
    assert body["pagination"]["nextCursor"] is None
    assert set(body["pagination"]) == {"limit", "nextCursor"}


async def test_checks_cursor_keeps_the_time_window(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await _monitor_with_checks(client, tenant, store, clock.now(), 6)
    window = {"from": "2026-03-01T12:01:00Z", "to": "2026-03-01T12:04:00Z", "limit": 2}
    first = (await _get(client, tenant, monitor_id, **window)).json()

    second = (
        await _get(client, tenant, monitor_id, **window, cursor=first["pagination"]["nextCursor"])
    ).json()

    assert [c["responseTime"] for c in first["data"]] == [104, 103]
    assert [c["responseTime"] for c in second["data"]] == [102, 101]


async def test_checks_only_of_that_monitor(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    mine = await _monitor_with_checks(client, tenant, store, clock.now(), 2)
    await _monitor_with_checks(client, tenant, store, clock.now(), 3)

    response = await _get(client, tenant, mine)

    assert response.json()["pagination"]["total"] == 2
    assert {c["monitorId"] for c in response.json()["data"]} == {mine}


@pytest.mark.parametrize(
    ("params", "field", "issue"),
    [
        pytest.param({"limit": 0}, "limit", "must be between 1 and 100", id="limit-0"),
        pytest.param({"limit": 101}, "limit", "must be between 1 and 100", id="limit-101"),
        pytest.param(
            {"limit": "ten"}, "limit", "must be a whole number between 1 and 100", id="limit-word"
        ),
        pytest.param({"page": 0}, "page", "must be between 1 and 1000000000", id="page-0"),
        pytest.param({"from": "yesterday"}, "from", "must be an ISO 8601 time", id="from-word"),
        pytest.param({"to": "2026-13-01"}, "to", "must be an ISO 8601 time", id="to-bad-month"),
        pytest.param(
            {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
            "from",
            "must not be after to",
            id="from-after-to",
        ),
        pytest.param(
            {"cursor": "not-a-cursor"},
            "cursor",
            "is not a cursor this API returned",
            id="cursor-garbage",
        ),
    ],
)
async def test_checks_reject_invalid_parameters(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any], field: str, issue: str
) -> None:
    monitor_id = await create_monitor(client, tenant)

    response = await _get(client, tenant, monitor_id, **params)

    body = assert_error(response, 400, code="invalid_request")
    assert {"field": field, "issue": issue} in body["fields"]


async def test_checks_limit_boundaries_are_accepted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor_id = await create_monitor(client, tenant)

    low = await _get(client, tenant, monitor_id, limit=1)
    high = await _get(client, tenant, monitor_id, limit=100)

    assert low.json()["pagination"]["limit"] == 1
    assert high.json()["pagination"]["limit"] == 100
