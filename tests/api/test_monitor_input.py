"""Monitor validation through the API: every rule answers 400 naming the field."""

from __future__ import annotations

import importlib.util
from typing import Any

import httpx
import pytest

from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from tests.api.conftest import Tenant, app_client, make_tenant
from tests.api.helpers import assert_error, create_monitor, monitor_body

HTTP_CONFIG_WIRED = importlib.util.find_spec("checks.http_config") is not None


@pytest.mark.parametrize(
    ("body", "field", "issue"),
    [
        pytest.param({"name": None}, "name", "is required", id="name-missing"),
        pytest.param({"name": ""}, "name", "is required", id="name-empty"),
        pytest.param(
            {"name": "x" * 101}, "name", "must be at most 100 characters", id="name-101-chars"
        ),
        pytest.param({"url": None}, "url", "is required", id="url-missing"),
        pytest.param(
            {"url": "ftp://example.com"},
            "url",
            "must be a valid http:// or https:// URL",
            id="http-url-ftp",
        ),
        pytest.param(
            {"url": "example.com/health"},
            "url",
            "must be a valid http:// or https:// URL",
            id="http-url-no-scheme",
        ),
        pytest.param(
            {"url": "https://exa mple.com"},
            "url",
            "must be a valid http:// or https:// URL",
            id="http-url-space-in-host",
        ),
        pytest.param(
            {"url": "https://example.com:70000/"},
            "url",
            "must be a valid http:// or https:// URL",
            id="http-url-port-out-of-range",
        ),
        pytest.param(
            {"type": "TCP", "url": "db.example.com:5432"},
            "url",
            "must look like tcp://host:port",
            id="tcp-url-no-scheme",
        ),
        pytest.param(
            {"type": "TCP", "url": "tcp://db.example.com"},
            "url",
            "must look like tcp://host:port",
            id="tcp-url-no-port",
        ),
        pytest.param(
            {"type": "PING", "url": "https://example.com"},
            "url",
            "must be a host name or IP address",
            id="ping-url-is-a-url",
        ),
        pytest.param(
            {"type": "DNS", "url": "exa mple.com"},
            "url",
            "must be a host name or IP address",
            id="dns-url-space",
        ),
        pytest.param(
            {"type": "SSL", "url": "http://example.com"},
            "url",
            "must be host, host:port or an https:// URL",
            id="ssl-url-http",
        ),
        pytest.param(
            {"type": "SMTP"},
            "type",
            "must be one of HTTP, TCP, PING, DNS, SSL, HEARTBEAT, BROWSER, LLM",
            id="type-unknown",
        ),
        pytest.param({"type": None}, "type", "is required", id="type-missing"),
        pytest.param(
            {"interval": 3601}, "interval", "must be between 15 and 3600", id="interval-over-max"
        ),
        pytest.param(
            {"interval": "60"},
            "interval",
            "must be a whole number between 15 and 3600",
            id="interval-string",
        ),
        pytest.param(
            {"method": "FETCH"},
            "method",
            "must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
            id="method-unknown",
        ),
        pytest.param(
            {"expectedStatus": 99},
            "expectedStatus",
            "must be between 100 and 599",
            id="expected-status-99",
        ),
        pytest.param(
            {"expectedStatus": 600},
            "expectedStatus",
            "must be between 100 and 599",
            id="expected-status-600",
        ),
        pytest.param(
            {"expectedKeyword": "k" * 501},
            "expectedKeyword",
            "must be at most 500 characters",
            id="expected-keyword-501-chars",
        ),
        pytest.param({"timeout": 0}, "timeout", "must be between 1 and 60", id="timeout-0"),
        pytest.param({"timeout": 61}, "timeout", "must be between 1 and 60", id="timeout-61"),
        pytest.param(
            {"interval": 30, "timeout": 45},
            "timeout",
            "must not exceed the interval (30 s)",
            id="timeout-over-interval",
        ),
        pytest.param(
            {"regions": ["mars-1"]},
            "regions",
            "has unknown region 'mars-1'; known regions: us-east-1, eu-west-1, ap-south-1 (an "
            "administrator names this deployment's regions in VIGIL_REGIONS, e.g. "
            "VIGIL_REGIONS=us-east-1,eu-west-1, and runs a worker for each)",
            id="region-unknown",
        ),
        pytest.param(
            {"regions": []},
            "regions",
            "must be a non-empty list of region names (us-east-1, eu-west-1, ap-south-1)",
            id="regions-empty",
        ),
        pytest.param(
            {"regions": ["us-east-1", "us-east-1"]},
            "regions",
            "must not repeat a region",
            id="regions-repeated",
        ),
        pytest.param({"isActive": "yes"}, "isActive", "must be true or false", id="is-active"),
        pytest.param({"color": "red"}, "color", "is not a monitor field", id="unknown-field"),
        pytest.param({"config": []}, "config", "must be a JSON object", id="config-not-object"),
        pytest.param(
            {"flapThreshold": 1}, "flapThreshold", "must be between 2 and 100", id="flap-1"
        ),
        pytest.param(
            {"flapThreshold": 101}, "flapThreshold", "must be between 2 and 100", id="flap-101"
        ),
        pytest.param(
            {"flapWindow": 59}, "flapWindow", "must be between 60 and 86400", id="flap-window-59"
        ),
        pytest.param(
            {"confirmFromOtherRegion": "yes"},
            "confirmFromOtherRegion",
            "must be true or false",
            id="confirm-not-bool",
        ),
        pytest.param(
            {"metricsLabels": 1}, "metricsLabels", "must be true or false", id="metrics-not-bool"
        ),
        pytest.param(
            {"flapWindow": "1h"},
            "flapWindow",
            "must be a whole number between 60 and 86400",
            id="flap-window-text",
        ),
    ],
)
async def test_monitor_create_rejects_invalid_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str, issue: str
) -> None:
    payload = {k: v for k, v in monitor_body(**{"interval": 60, **body}).items() if v is not None}

    response = await client.post("/api/monitors", headers=tenant.headers, json=payload)

    result = assert_error(response, 400, code="invalid_request")
    assert {"field": field, "issue": issue} in result["fields"]
    assert result["error"] == f"{result['fields'][0]['field']} {result['fields'][0]['issue']}"
    listed = await client.get("/api/monitors", headers=tenant.headers)
    assert listed.json()["data"] == []


async def test_monitor_create_names_every_bad_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "", "url": "https://example.com", "type": "HTTP", "timeout": 99},
    )

    body = assert_error(response, 400, code="invalid_request", says="name is required")
    assert [f["field"] for f in body["fields"]] == ["name", "timeout"]


@pytest.mark.parametrize(
    ("monitor_type", "url"),
    [
        pytest.param("HTTP", "http://127.0.0.1:8080/health", id="http-ip-port"),
        pytest.param("HTTP", "https://[::1]/health", id="http-ipv6"),
        pytest.param("TCP", "tcp://db.example.com:5432", id="tcp"),
        pytest.param("PING", "10.0.0.1", id="ping-ip"),
        pytest.param("PING", "example.com", id="ping-host"),
        pytest.param("DNS", "example.com", id="dns"),
        pytest.param("SSL", "example.com", id="ssl-host"),
        pytest.param("SSL", "example.com:8443", id="ssl-host-port"),
        pytest.param("SSL", "https://example.com", id="ssl-url"),
    ],
)
async def test_monitor_create_accepts_valid_url_per_type(
    client: httpx.AsyncClient, tenant: Tenant, monitor_type: str, url: str
) -> None:
    response = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json=monitor_body(type=monitor_type, url=url),
    )

    assert response.status_code == 201, response.text
    assert response.json()["data"]["url"] == url


async def test_monitor_create_accepts_the_boundaries(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json=monitor_body(
            name="n" * 100,
            interval=3600,
            timeout=60,
            expectedStatus=599,
            expectedKeyword="k" * 500,
            method="OPTIONS",
        ),
    )

    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("plan", "minimum"),
    [
        pytest.param("FREE", 300, id="free"),
        pytest.param("PRO", 60, id="pro"),
        pytest.param("BUSINESS", 30, id="business"),
        pytest.param("ENTERPRISE", 15, id="enterprise"),
    ],
)
async def test_monitor_interval_respects_the_plan_minimum(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, plan: str, minimum: int
) -> None:
    org = await make_tenant(store, clock, plan.lower(), plan)

    below = await client.post(
        "/api/monitors", headers=org.headers, json=monitor_body(interval=minimum - 1, timeout=1)
    )
    at = await client.post(
        "/api/monitors", headers=org.headers, json=monitor_body(interval=minimum, timeout=1)
    )

    body = assert_error(below, 400, code="invalid_request")
    assert body["fields"] == [
        {"field": "interval", "issue": f"must be between {minimum} and 3600 on the {plan} plan"}
    ]
    assert at.status_code == 201, at.text


async def test_monitor_update_rejects_interval_below_plan_minimum(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    monitor_id = await create_monitor(client, free)

    response = await client.put(
        f"/api/monitors/{monitor_id}", headers=free.headers, json={"interval": 60}
    )

    assert_error(response, 400, code="invalid_request", says="on the FREE plan")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param(b"{not json", "not valid JSON", id="not-json"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"[1, 2]", "must be a JSON object", id="array"),
    ],
)
async def test_monitor_create_rejects_a_body_that_is_not_a_json_object(
    client: httpx.AsyncClient, tenant: Tenant, content: bytes, says: str
) -> None:
    response = await client.post(
        "/api/monitors",
        headers={**tenant.headers, "Content-Type": "application/json"},
        content=content,
    )

    body = assert_error(response, 400, code="invalid_request", says=says)
    assert body["fields"][0]["field"] == "body"


needs_http_config = pytest.mark.skipif(
    not HTTP_CONFIG_WIRED, reason="checks/http_config.py (assertion validation) not built yet"
)


@needs_http_config
@pytest.mark.parametrize(
    ("assertion", "field"),
    [
        pytest.param(
            {"type": "body_size", "operator": "equals", "value": "1"},
            "config.assertions[0].type",
            id="unknown-type",
        ),
        pytest.param(
            {"type": "response_time", "operator": "equals", "value": "500"},
            "config.assertions[0].operator",
            id="operator-not-for-type",
        ),
        pytest.param(
            {"type": "status_code", "operator": "equals", "value": "abc"},
            "config.assertions[0].value",
            id="status-not-a-number",
        ),
        pytest.param(
            {"type": "json_path", "operator": "equals", "value": "ok"},
            "config.assertions[0].path",
            id="json-path-without-path",
        ),
        pytest.param(
            {"type": "header", "operator": "contains", "value": "json"},
            "config.assertions[0].name",
            id="header-without-name",
        ),
    ],
)
async def test_monitor_create_rejects_invalid_assertion(
    client: httpx.AsyncClient, tenant: Tenant, assertion: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json=monitor_body(config={"assertions": [assertion]}),
    )

    body = assert_error(response, 400, code="invalid_request")
    assert field in [f["field"] for f in body["fields"]]


@needs_http_config
async def test_monitor_create_accepts_the_reference_assertions(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    config = {
        "method": "POST",
        "headers": {"Authorization": "Bearer token"},
        "body": '{"key": "value"}',
        "assertions": [
            {"type": "status_code", "operator": "equals", "value": "200"},
            {"type": "response_time", "operator": "less_than", "value": "500"},
            {"type": "json_path", "path": "$.data.status", "operator": "equals", "value": "ok"},
            {"type": "header", "name": "content-type", "operator": "contains", "value": "json"},
        ],
    }

    response = await client.post(
        "/api/monitors", headers=tenant.headers, json=monitor_body(config=config)
    )

    assert response.status_code == 201, response.text
    # Header values come back masked (docs/security.md); the rest as sent.
    shown = {**config, "headers": {"Authorization": "\u2026oken"}}
    assert response.json()["data"]["config"] == shown


@pytest.mark.parametrize(
    ("body", "field", "issue"),
    [
        pytest.param({"name": None}, "name", "must be a non-empty string", id="name-null"),
        pytest.param({"name": ""}, "name", "must be a non-empty string", id="name-empty"),
        pytest.param({"url": None}, "url", "must be a string", id="url-null"),
        pytest.param(
            {"interval": None},
            "interval",
            "must be a whole number between 15 and 3600",
            id="interval-null",
        ),
        pytest.param({"regions": None}, "regions", "must be a non-empty list", id="regions-null"),
        pytest.param(
            {"id": "mon_other", "color": "red"},
            "color",
            "is not a monitor field",
            id="read-only-ignored-unknown-rejected",
        ),
    ],
)
async def test_monitor_update_rejects_invalid_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str, issue: str
) -> None:
    monitor_id = await create_monitor(client, tenant)

    response = await client.put(f"/api/monitors/{monitor_id}", headers=tenant.headers, json=body)

    result = assert_error(response, 400, code="invalid_request")
    assert [f["field"] for f in result["fields"]] == [field]
    assert result["fields"][0]["issue"].startswith(issue)
    unchanged = await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)
    assert unchanged.json()["data"]["name"] == "Production API"


async def test_monitor_create_rejects_a_body_over_one_megabyte(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json=monitor_body(config={"body": "x" * 1_000_001}),
    )

    assert_error(response, 413, code="payload_too_large", says="larger than 1000000 bytes")


@pytest.mark.parametrize(
    ("field", "sent", "stored"),
    [
        pytest.param("interval", 60.0, 60, id="interval-60.0"),
        pytest.param("timeout", 10.0, 10, id="timeout-10.0"),
        pytest.param("expectedStatus", 204.0, 204, id="expected-status-204.0"),
    ],
)
async def test_monitor_whole_number_fields_accept_a_float_with_no_fraction(
    client: httpx.AsyncClient, tenant: Tenant, field: str, sent: float, stored: int
) -> None:
    response = await client.post(
        "/api/monitors", headers=tenant.headers, json=monitor_body(**{field: sent})
    )

    assert response.status_code == 201, response.text
    value = response.json()["data"][field]
    assert (value, type(value)) == (stored, int)
    fetched = await client.get(
        f"/api/monitors/{response.json()['data']['id']}", headers=tenant.headers
    )
    assert fetched.json()["data"][field] == stored


async def test_monitor_interval_with_a_fraction_is_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/monitors", headers=tenant.headers, json=monitor_body(interval=60.5)
    )

    body = assert_error(response, 400, code="invalid_request", says="interval")
    assert body["fields"] == [
        {"field": "interval", "issue": "must be a whole number between 15 and 3600"}
    ]


@pytest.mark.parametrize(
    ("interval", "expected_timeout"),
    [
        pytest.param(15, 15, id="interval-15"),
        pytest.param(29, 29, id="interval-29"),
        pytest.param(30, 30, id="interval-30"),
        pytest.param(31, 30, id="interval-31"),
    ],
)
async def test_monitor_default_timeout_is_clamped_to_a_short_interval(
    client: httpx.AsyncClient, tenant: Tenant, interval: int, expected_timeout: int
) -> None:
    """The client never sent a timeout, so it is not told one is wrong."""
    response = await client.post(
        "/api/monitors", headers=tenant.headers, json=monitor_body(interval=interval)
    )

    assert response.status_code == 201, response.text
    assert response.json()["data"]["timeout"] == expected_timeout


async def test_monitor_update_to_an_interval_under_the_timeout_names_both_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor_id = await create_monitor(client, tenant, interval=60, timeout=30)

    response = await client.put(
        f"/api/monitors/{monitor_id}", headers=tenant.headers, json={"interval": 20}
    )
    together = await client.put(
        f"/api/monitors/{monitor_id}", headers=tenant.headers, json={"interval": 20, "timeout": 20}
    )

    body = assert_error(response, 400, code="invalid_request", says="interval")
    assert body["fields"] == [
        {
            "field": "interval",
            "issue": "must not be shorter than the monitor's timeout (30 s); "
            "send a timeout of at most 20 with it",
        }
    ]
    assert together.status_code == 200, together.text


async def test_monitor_create_on_a_default_deployment_explains_vigil_regions(
    store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    """``vigil run`` with no settings has one region, ``local``."""
    async with app_client(store, clock, Settings()) as c:
        response = await c.post(
            "/api/monitors",
            headers=tenant.headers,
            json=monitor_body(regions=["us-east-1", "eu-west-1"]),
        )
        default = await c.post("/api/monitors", headers=tenant.headers, json=monitor_body())

    body = assert_error(response, 400, code="invalid_request", says="VIGIL_REGIONS")
    assert body["fields"][0]["issue"].startswith(
        "has unknown region 'us-east-1'; known regions: local (an administrator"
    )
    assert default.json()["data"]["regions"] == ["local"]


async def test_monitor_flapping_settings_round_trip(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json=monitor_body(
            flapThreshold=2, flapWindow=86400, confirmFromOtherRegion=True, metricsLabels=True
        ),
    )
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert (created["flapThreshold"], created["flapWindow"]) == (2, 86400)
    assert created["confirmFromOtherRegion"] is True
    assert created["metricsLabels"] is True

    plain = await client.post("/api/monitors", headers=tenant.headers, json=monitor_body())
    # Unset means the defaults (alerting.flapping: more than 4 changes within 30 min).
    assert (plain.json()["data"]["flapThreshold"], plain.json()["data"]["flapWindow"]) == (
        None,
        None,
    )
