"""Hand-made bad requests, one per class that once answered 500, on both stores.

Each case must answer a 4xx with the error body's ``code`` and the field at fault,
and must leave every table as it was (the SQLite NaN case once stored the monitor
and then answered 500, so a retry duplicated it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from store.db import Store
from store.models import Base, RateLimitWindow
from tests.api.conftest import Tenant
from tests.api.helpers import create_monitor, monitor_body


@dataclass(frozen=True)
class Bad:
    method: str
    path: str  # {monitor}, {token}, {window}, {channel} are filled in
    body: bytes | None
    status: int
    code: str
    field: str | None


def raw(text: str) -> bytes:
    return text.encode()


def monitor(**overrides: Any) -> bytes:
    return json.dumps(monitor_body(**overrides)).encode()


def literal(field: str, text: str) -> bytes:
    """A monitor body whose ``field`` holds ``text`` as written (not JSON-encoded)."""
    base = '{"name":"n","type":"HTTP","url":"https://example.com","interval":300'
    return f'{base},"{field}":{text}}}'.encode()


def assertion(value: Any, kind: str = "status_code") -> bytes:
    spec = {"type": kind, "operator": "equals", "value": value}
    if kind == "json_path":
        spec["path"] = "$.a"
    return monitor(config={"assertions": [spec]})


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def window(starts: str, ends: str = "2026-03-02T00:00:00Z") -> bytes:
    return json.dumps({"title": "w", "startsAt": starts, "endsAt": ends}).encode()


M = "/api/monitors"
CASES = [
    # JSON itself
    pytest.param(Bad("POST", M, raw("{"), 400, "invalid_request", "body"), id="truncated-json"),
    pytest.param(Bad("POST", M, b"\xff\xfe{}", 400, "invalid_request", "body"), id="not-utf8"),
    pytest.param(Bad("POST", M, raw("[1]"), 400, "invalid_request", "body"), id="array-body"),
    pytest.param(Bad("POST", M, raw(""), 400, "invalid_request", "body"), id="empty-body"),
    pytest.param(
        Bad("POST", M, b'{"name":"' + b"x" * 1_000_001 + b'"}', 413, "payload_too_large", None),
        id="body-over-1mb",
    ),
    pytest.param(
        Bad("POST", M, raw("[" * 100_000 + "]" * 100_000), 400, "invalid_request", "body"),
        id="nested-100000-deep",
    ),
    pytest.param(
        Bad("POST", M, monitor(config=nested(300)), 400, "invalid_request", "config" + ".a" * 31),
        id="config-300-deep",
    ),
    # Numbers JSON does not have, or that overflow
    pytest.param(
        Bad("POST", M, literal("timeout", "NaN"), 400, "invalid_request", "body"),
        id="nan",
    ),
    pytest.param(
        Bad("POST", M, literal("timeout", "Infinity"), 400, "invalid_request", "body"),
        id="infinity",
    ),
    pytest.param(
        Bad("POST", M, literal("timeout", "-Infinity"), 400, "invalid_request", "body"),
        id="minus-infinity",
    ),
    pytest.param(
        Bad("POST", M, literal("timeout", "1e999"), 400, "invalid_request", "timeout"),
        id="1e999-number",
    ),
    pytest.param(
        Bad("POST", M, monitor(interval=2**64), 400, "invalid_request", "interval"),
        id="int-past-64-bits",
    ),
    pytest.param(
        Bad("POST", M, monitor(expectedStatus=2**63 - 1), 400, "invalid_request", "expectedStatus"),
        id="int-past-column-range",
    ),
    pytest.param(
        Bad("POST", M, monitor(config={"x": -(2**70)}), 400, "invalid_request", "config.x"),
        id="int-past-64-bits-in-config",
    ),
    pytest.param(
        Bad("POST", M, assertion("1e999"), 400, "invalid_request", "config.assertions[0].value"),
        id="assertion-1e999-text",
    ),
    pytest.param(
        Bad(
            "POST",
            M,
            literal(
                "config",
                '{"assertions":[{"type":"response_time","operator":"less_than","value":1e999}]}',
            ),
            400,
            "invalid_request",
            "config.assertions[0].value",
        ),
        id="assertion-1e999-number",
    ),
    pytest.param(
        Bad("POST", M, assertion("NaN"), 400, "invalid_request", "config.assertions[0].value"),
        id="assertion-nan-text",
    ),
    pytest.param(
        Bad(
            "POST",
            M,
            assertion("-inf", "response_time"),
            400,
            "invalid_request",
            "config.assertions[0].value",
        ),
        id="assertion-inf-text",
    ),
    pytest.param(
        Bad(
            "POST",
            M,
            assertion(200, kind="status_code").replace(b'"status_code"', b"[]"),
            400,
            "invalid_request",
            "config.assertions[0].type",
        ),
        id="assertion-type-a-list",
    ),
    # Text the stores cannot keep alike
    pytest.param(
        Bad("POST", M, literal("name", '"a\\u0000b"'), 400, "invalid_request", "name"),
        id="nul-in-name",
    ),
    pytest.param(
        Bad(
            "POST",
            M,
            monitor(config={"headers": {"X-Key": "a\x00b"}}),
            400,
            "invalid_request",
            "config.headers.X-Key",
        ),
        id="nul-in-config",
    ),
    pytest.param(
        Bad("POST", M, literal("name", '"a\\ud800b"'), 400, "invalid_request", "name"),
        id="lone-surrogate",
    ),
    pytest.param(
        Bad(
            "POST",
            M,
            literal("config", '{"\\udfff":1}'),
            400,
            "invalid_request",
            "config.'\\udfff'",
        ),
        id="lone-surrogate-key",
    ),
    pytest.param(Bad("GET", M + "/%00", None, 400, "invalid_request", "path"), id="nul-in-path"),
    pytest.param(
        Bad("GET", "/api/incidents?monitorId=a%00", None, 400, "invalid_request", "monitorId"),
        id="nul-in-query",
    ),
    pytest.param(
        Bad("POST", "/api/api-keys", raw('{"name":"k\\u0000"}'), 400, "invalid_request", "name"),
        id="nul-in-key-name",
    ),
    pytest.param(
        Bad(
            "PATCH", "/api/organization", raw('{"name":"\\ud83d"}'), 400, "invalid_request", "name"
        ),
        id="surrogate-in-org-name",
    ),
    # URLs
    pytest.param(
        Bad("POST", M, monitor(url="http://[::1"), 400, "invalid_request", "url"),
        id="unclosed-ipv6-http",
    ),
    pytest.param(
        Bad("POST", M, monitor(type="TCP", url="tcp://[::1:80"), 400, "invalid_request", "url"),
        id="unclosed-ipv6-tcp",
    ),
    pytest.param(
        Bad("POST", M, monitor(type="SSL", url="[::1"), 400, "invalid_request", "url"),
        id="unclosed-ipv6-ssl",
    ),
    pytest.param(
        Bad(
            "PUT",
            M + "/{monitor}",
            raw('{"url":"https://[fe80::1"}'),
            400,
            "invalid_request",
            "url",
        ),
        id="unclosed-ipv6-update",
    ),
    pytest.param(
        Bad(
            "POST",
            M,
            monitor(type="DNS", url="example.com", config={"nameserver": "[::1"}),
            400,
            "invalid_request",
            "config.nameserver",
        ),
        id="unclosed-ipv6-nameserver",
    ),
    pytest.param(
        Bad(
            "POST",
            "/api/alert-channels",
            raw('{"name":"c","type":"WEBHOOK","config":{"url":"http://[::1/hook"}}'),
            400,
            "invalid_request",
            "config.url",
        ),
        id="unclosed-ipv6-webhook",
    ),
    # Dates
    pytest.param(
        Bad(
            "POST",
            "/api/maintenance",
            window("0001-01-01T00:00:00+01:00"),
            400,
            "invalid_request",
            "startsAt",
        ),
        id="date-before-year-1-in-utc",
    ),
    pytest.param(
        Bad(
            "POST",
            "/api/maintenance",
            window("2026-03-01T00:00:00Z", "9999-12-31T23:59:59-01:00"),
            400,
            "invalid_request",
            "endsAt",
        ),
        id="date-after-9999-in-utc",
    ),
    pytest.param(
        Bad(
            "POST",
            "/api/maintenance",
            window("1969-12-31T23:59:59Z"),
            400,
            "invalid_request",
            "startsAt",
        ),
        id="date-before-1970",
    ),
    pytest.param(
        Bad(
            "PATCH",
            "/api/maintenance/{window}",
            raw('{"endsAt":"9999-12-31T23:59:59.999999"}'),
            400,
            "invalid_request",
            "endsAt",
        ),
        id="date-far-future-update",
    ),
    pytest.param(
        Bad(
            "POST",
            "/api/api-keys",
            raw('{"name":"k","expiresAt":"9999-12-31T23:00:00-05:00"}'),
            400,
            "invalid_request",
            "expiresAt",
        ),
        id="key-expiry-overflow",
    ),
    pytest.param(
        Bad(
            "GET",
            M + "/{monitor}/checks?from=0001-01-01T00:00:00%2B05:00",
            None,
            400,
            "invalid_request",
            "from",
        ),
        id="query-date-overflow",
    ),
    # Integers and digits in query strings and paths
    pytest.param(
        Bad("GET", M + "?page=%D9%A1", None, 400, "invalid_request", "page"),
        id="arabic-indic-digit-page",
    ),
    pytest.param(
        Bad("GET", M + "?limit=%C2%B2", None, 400, "invalid_request", "limit"),
        id="superscript-digit-limit",
    ),
    pytest.param(
        Bad("GET", M + "?page=99999999999999999999999", None, 400, "invalid_request", "page"),
        id="page-past-64-bits",
    ),
    pytest.param(
        Bad("GET", M + "?page=1_0", None, 400, "invalid_request", "page"), id="page-underscore"
    ),
    pytest.param(
        Bad(
            "GET",
            M + "/{monitor}/performance?hours=%EF%BC%92",
            None,
            400,
            "invalid_request",
            "hours",
        ),
        id="fullwidth-digit-hours",
    ),
    pytest.param(
        Bad(
            "GET",
            M + "/{monitor}/checks/chk_%C2%B2/screenshot",
            None,
            400,
            "invalid_request",
            "checkId",
        ),
        id="superscript-check-id",
    ),
    pytest.param(
        Bad(
            "GET",
            M + "/{monitor}/checks/chk_%D9%A1%D9%A2/screenshot",
            None,
            400,
            "invalid_request",
            "checkId",
        ),
        id="arabic-indic-check-id",
    ),
    pytest.param(
        Bad(
            "GET",
            M + "/{monitor}/checks/chk_99999999999999999999999/screenshot",
            None,
            400,
            "invalid_request",
            "checkId",
        ),
        id="check-id-past-64-bits",
    ),
    pytest.param(
        Bad(
            "GET",
            M
            + "/{monitor}/checks?cursor=MjAyNi0wMy0wMVQwMDowMDowMHwxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMw",
            None,
            400,
            "invalid_request",
            "cursor",
        ),
        id="cursor-id-past-64-bits",
    ),
    pytest.param(
        Bad("GET", "/api/heartbeat/{token}/%C2%B2", None, 400, "invalid_request", "exitStatus"),
        id="heartbeat-superscript-suffix",
    ),
    pytest.param(
        Bad("POST", "/api/heartbeat/{token}/%D9%A1", None, 400, "invalid_request", "exitStatus"),
        id="heartbeat-arabic-indic-suffix",
    ),
    # Types
    pytest.param(
        Bad("POST", M, monitor(interval=True), 400, "invalid_request", "interval"), id="bool-int"
    ),
    pytest.param(
        Bad("POST", M, monitor(interval=300.5), 400, "invalid_request", "interval"), id="float-int"
    ),
    pytest.param(
        Bad("POST", M, monitor(name="n" * 10_000), 400, "invalid_request", "name"), id="long-name"
    ),
    pytest.param(
        Bad(
            "POST",
            "/api/alert-channels",
            raw('{"name":"c","type":"WEBHOOK","config":{"url":"https://x.test/\\u0000"}}'),
            400,
            "invalid_request",
            "config.url",
        ),
        id="nul-in-channel-url",
    ),
    # Found by schemathesis: the last of repeated values won, so ?limit=5&limit= was 50.
    pytest.param(
        Bad(
            "GET",
            f"{M}/{{monitor}}/incidents?limit=5&limit=",
            None,
            400,
            "invalid_request",
            "limit",
        ),
        id="repeated-query-parameter",
    ),
    pytest.param(
        Bad(
            "GET",
            "/api/alert-deliveries?status=failed&status=x",
            None,
            400,
            "invalid_request",
            "status",
        ),
        id="repeated-query-parameter-enum",
    ),
]


async def _snapshot(store: Store) -> dict[str, int]:
    """Row counts of every table but the rate limiter's (every request counts there)."""
    counts: dict[str, int] = {}
    async with store.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if table.name != RateLimitWindow.__tablename__:
                counts[table.name] = int(
                    await session.scalar(select(func.count()).select_from(table)) or 0
                )
    return counts


async def _answer(client: httpx.AsyncClient, tenant: Tenant, path: str, case: Bad) -> list[str]:
    """What is wrong with the answer to ``case`` (nothing: [])."""
    headers = {**tenant.headers, "Content-Type": "application/json"}
    response = await client.request(case.method, path, headers=headers, content=case.body)
    if response.status_code != case.status:
        return [f"answered {response.status_code}, not {case.status}: {response.text[:300]}"]
    error = response.json()
    problems = []
    if error.get("code") != case.code:
        problems.append(f"code {error.get('code')!r}, not {case.code!r}")
    if not error.get("error") or error.get("requestId") != response.headers["x-request-id"]:
        problems.append(f"not the error body: {error}")
    fields = [f["field"] for f in error.get("fields", [])]
    if case.field is not None and case.field not in fields:
        problems.append(f"fields {fields}, not naming {case.field!r}")
    return problems


# One test walks the whole table (each case is reported by its id): setting up a
# tenant, a monitor, a heartbeat and a window per case cost minutes per store.
async def test_bad_requests_are_4xx_naming_the_field_and_write_nothing(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    monitor_id = await create_monitor(client, tenant)
    hb = await client.post(
        M, headers=tenant.headers, json={"name": "Job", "type": "HEARTBEAT", "interval": 300}
    )
    w = await client.post(
        "/api/maintenance", headers=tenant.headers, content=window("2026-03-01T00:00:00Z")
    )
    assert w.status_code == 201, w.text
    ids = {"monitor": monitor_id, "token": hb.json()["data"]["heartbeatToken"]}
    ids["window"] = w.json()["data"]["id"]
    before_monitor = (await client.get(f"{M}/{monitor_id}", headers=tenant.headers)).json()
    before = await _snapshot(store)
    failures: dict[str, list[str]] = {}

    for param in CASES:
        (case,) = param.values
        assert isinstance(case, Bad)
        problems = await _answer(client, tenant, case.path.format(**ids), case)
        if await _snapshot(store) != before:
            problems.append("changed the store")
            before = await _snapshot(store)
        if problems:
            failures[str(param.id)] = problems

    assert failures == {}
    after_monitor = (await client.get(f"{M}/{monitor_id}", headers=tenant.headers)).json()
    assert after_monitor == before_monitor
