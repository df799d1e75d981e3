"""``/api/alert-channels``: CRUD with masked secrets, org scoping, and a real test send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from alerting.channels.webhook import verify_signature
from api.main import create_app
from store.clock import FrozenClock
from store.db import Store
from store.models import AlertChannel
from tests.api.conftest import Tenant, make_settings
from tests.api.helpers import assert_error, create_monitor
from tests.servers.receivers import HttpReceiver, Reply, SmtpReceiver, refused_port

SECRET = "whsec_9f8e7d6c5b4a39281706"
SECRET_SHOWN = "\u20261706"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"
CHANNEL_FIELDS = {"id", "name", "type", "config", "isActive", "orgId", "createdAt", "updatedAt"}


def webhook_body(url: str = "https://hooks.example.com/vigil", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Ops webhook",
        "type": "WEBHOOK",
        "config": {"url": url, "secret": SECRET},
    }
    body.update(overrides)
    return body


async def create_channel(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> str:
    response = await client.post("/api/alert-channels", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    channel_id: str = response.json()["data"]["id"]
    return channel_id


async def stored_config(store: Store, channel_id: str) -> dict[str, Any]:
    async with store.transaction() as session:
        row = await session.get(AlertChannel, channel_id)
        assert row is not None
        return dict(row.config)


async def read_only_tenant(client: httpx.AsyncClient, tenant: Tenant) -> Tenant:
    response = await client.post(
        "/api/api-keys", headers=tenant.headers, json={"name": "Dashboards", "readOnly": True}
    )
    assert response.status_code == 201, response.text
    return Tenant(org_id=tenant.org_id, key=response.json()["data"]["key"])


# --- create -------------------------------------------------------------------------


async def test_channel_create_answers_the_reference_shape_with_the_secret_masked(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    response = await client.post("/api/alert-channels", headers=tenant.headers, json=webhook_body())

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == CHANNEL_FIELDS
    assert data["id"].startswith("ac_")
    assert data["name"] == "Ops webhook"
    assert data["type"] == "WEBHOOK"
    assert data["config"] == {"url": "https://hooks.example.com/vigil", "secret": SECRET_SHOWN}
    assert data["isActive"] is True
    assert data["orgId"] == tenant.org_id
    assert data["createdAt"] == data["updatedAt"] == "2026-03-01T12:00:00.000Z"
    # Shown masked, stored in full: the dispatcher signs with the real secret.
    assert await stored_config(store, data["id"]) == {
        "url": "https://hooks.example.com/vigil",
        "secret": SECRET,
    }


async def test_channel_create_with_enabled_false_is_inactive(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/alert-channels",
        headers=tenant.headers,
        json={"name": "Mail", "type": "EMAIL", "config": {"recipients": ["ops@example.com"]}},
    )
    disabled = await client.post(
        "/api/alert-channels",
        headers=tenant.headers,
        json=webhook_body(enabled=False),
    )

    assert response.json()["data"]["isActive"] is True
    assert response.json()["data"]["config"] == {"recipients": ["ops@example.com"]}
    assert disabled.json()["data"]["isActive"] is False


@pytest.mark.parametrize(
    ("body", "field", "issue"),
    [
        pytest.param({"type": "SLACK", "config": {}}, "name", "is required", id="no-name"),
        pytest.param(webhook_body(name="  "), "name", "must be a non-empty string", id="blank"),
        pytest.param(
            webhook_body(name="x" * 101), "name", "must be at most 100 characters", id="long-name"
        ),
        pytest.param(
            webhook_body(type="SMS"),
            "type",
            "must be one of EMAIL, SLACK, WEBHOOK, PAGERDUTY, APPRISE",
            id="bad-type",
        ),
        pytest.param(
            {"name": "x", "config": {}},
            "type",
            "is required: one of EMAIL, SLACK, WEBHOOK, PAGERDUTY, APPRISE",
            id="no-type",
        ),
        pytest.param({"name": "x", "type": "SLACK"}, "config", "is required", id="no-config"),
        pytest.param(webhook_body(config=[1]), "config", "must be a JSON object", id="list"),
        pytest.param(
            webhook_body(config={"url": "https://hooks.example.com/vigil"}),
            "config.secret",
            "is required: the shared secret that signs each request",
            id="webhook-without-secret",
        ),
        pytest.param(
            {"name": "Slack", "type": "SLACK", "config": {"webhookUrl": "ftp://x"}},
            "config.webhookUrl",
            "must be an http:// or https:// URL with a host, e.g. https://example.com/hook",
            id="slack-bad-url",
        ),
        pytest.param(
            {"name": "Mail", "type": "EMAIL", "config": {"recipients": []}},
            "config.recipients",
            "must be a non-empty list of email addresses",
            id="email-no-recipients",
        ),
        pytest.param(webhook_body(enabled="yes"), "enabled", "must be true or false", id="enabled"),
        pytest.param(
            webhook_body(colour="red"), "colour", "is not an alert channel field", id="unknown"
        ),
    ],
)
async def test_channel_create_rejects_invalid_fields(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    body: dict[str, Any],
    field: str,
    issue: str,
) -> None:
    response = await client.post("/api/alert-channels", headers=tenant.headers, json=body)

    error = assert_error(response, 400, code="invalid_request")
    assert {"field": field, "issue": issue} in error["fields"]
    assert error["error"] == f"{error['fields'][0]['field']} {error['fields'][0]['issue']}"
    async with store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AlertChannel)) == 0


async def test_channel_create_with_idempotency_key_replays_masked(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "chan-1"}
    first = await client.post("/api/alert-channels", headers=headers, json=webhook_body())
    again = await client.post("/api/alert-channels", headers=headers, json=webhook_body())

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.json()["data"]["config"]["secret"] == SECRET_SHOWN
    async with store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AlertChannel)) == 1


# --- read -----------------------------------------------------------------------------


async def test_channel_list_shows_own_channels_with_every_secret_masked(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, clock: FrozenClock
) -> None:
    hook = await create_channel(client, tenant, webhook_body())
    clock.advance(1)
    slack = await create_channel(
        client, tenant, {"name": "Slack", "type": "SLACK", "config": {"webhookUrl": SLACK_URL}}
    )
    clock.advance(1)
    pager = await create_channel(
        client,
        tenant,
        {"name": "Pager", "type": "PAGERDUTY", "config": {"routingKey": ROUTING_KEY}},
    )
    await create_channel(client, other_tenant, webhook_body(name="Not yours"))

    response = await client.get("/api/alert-channels", headers=tenant.headers)
    one = await client.get(f"/api/alert-channels/{slack}", headers=tenant.headers)

    assert response.status_code == 200
    data = response.json()["data"]
    assert [c["id"] for c in data] == [hook, slack, pager]
    configs = {c["name"]: c["config"] for c in data}
    assert configs["Ops webhook"]["secret"] == SECRET_SHOWN
    assert configs["Slack"] == {"webhookUrl": "https://hooks.slack.com/\u2026XXXX"}
    assert configs["Pager"] == {"routingKey": "\u20262345"}
    assert one.json()["data"] == data[1]
    for secret in (SECRET, SLACK_URL, ROUTING_KEY):
        assert secret not in response.text
        assert secret not in one.text


# --- update ---------------------------------------------------------------------------


async def test_channel_patch_renames_disables_and_replaces_the_config(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    channel_id = await create_channel(client, tenant, webhook_body())
    clock.advance(60)

    response = await client.patch(
        f"/api/alert-channels/{channel_id}",
        headers=tenant.headers,
        json={
            "name": "Renamed",
            "isActive": False,
            "config": {"url": "https://new.example.com/hook", "secret": "another-secret-value-42"},
        },
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["name"], data["isActive"]) == ("Renamed", False)
    assert data["config"] == {"url": "https://new.example.com/hook", "secret": "\u2026e-42"}
    assert data["createdAt"] == "2026-03-01T12:00:00.000Z"
    assert data["updatedAt"] == "2026-03-01T12:01:00.000Z"
    assert await stored_config(store, channel_id) == {
        "url": "https://new.example.com/hook",
        "secret": "another-secret-value-42",
    }


async def test_channel_patch_with_the_masked_secret_sent_back_keeps_the_stored_one(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    channel_id = await create_channel(client, tenant, webhook_body())
    shown = (await client.get(f"/api/alert-channels/{channel_id}", headers=tenant.headers)).json()

    config = {**shown["data"]["config"], "url": "https://moved.example.com/hook"}
    response = await client.patch(
        f"/api/alert-channels/{channel_id}", headers=tenant.headers, json={"config": config}
    )

    assert response.status_code == 200, response.text
    assert await stored_config(store, channel_id) == {
        "url": "https://moved.example.com/hook",
        "secret": SECRET,
    }


@pytest.mark.parametrize(
    ("body", "field", "issue"),
    [
        pytest.param({"name": ""}, "name", "must be a non-empty string", id="blank-name"),
        pytest.param(
            {"config": {"url": "not a url", "secret": "s"}},
            "config.url",
            "must be an http:// or https:// URL with a host, e.g. https://example.com/hook",
            id="bad-config",
        ),
        pytest.param(
            {"type": "SLACK"},
            "type",
            "cannot be changed; create a new channel of the other type",
            id="type",
        ),
        pytest.param({"isActive": "no"}, "isActive", "must be true or false", id="active"),
        pytest.param(
            {"enabled": True, "isActive": False},
            "isActive",
            "contradicts enabled; send one of them",
            id="both",
        ),
    ],
)
async def test_channel_patch_rejects_invalid_fields_and_changes_nothing(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    body: dict[str, Any],
    field: str,
    issue: str,
) -> None:
    channel_id = await create_channel(client, tenant, webhook_body())

    response = await client.patch(
        f"/api/alert-channels/{channel_id}", headers=tenant.headers, json=body
    )

    error = assert_error(response, 400, code="invalid_request")
    assert error["fields"] == [{"field": field, "issue": issue}]
    after = (await client.get(f"/api/alert-channels/{channel_id}", headers=tenant.headers)).json()
    assert (after["data"]["name"], after["data"]["isActive"]) == ("Ops webhook", True)
    assert await stored_config(store, channel_id) == webhook_body()["config"]


# --- delete ---------------------------------------------------------------------------


async def test_channel_delete_drops_it_from_the_monitors_that_named_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    gone = await create_channel(client, tenant, webhook_body(name="Old"))
    kept = await create_channel(client, tenant, webhook_body(name="New"))
    both = await create_monitor(client, tenant, alertChannels=[gone, kept])
    only = await create_monitor(client, tenant, name="Only old", alertChannels=[gone])
    default = await create_monitor(client, tenant, name="All channels")

    response = await client.delete(f"/api/alert-channels/{gone}", headers=tenant.headers)

    assert response.status_code == 200
    assert response.json() == {"message": "Alert channel deleted successfully"}

    async def channels_of(monitor_id: str) -> Any:
        got = await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)
        return got.json()["data"]["alertChannels"]

    assert await channels_of(both) == [kept]
    # Emptied, not reset to "every channel": it must not start alerting channels it skipped.
    assert await channels_of(only) == []
    assert await channels_of(default) is None
    after = await client.get(f"/api/alert-channels/{gone}", headers=tenant.headers)
    assert_error(after, 404, code="alert_channel_not_found", says="Alert channel not found")


# --- scoping and permissions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("GET", "", None, id="get"),
        pytest.param("PATCH", "", {"name": "Mine now"}, id="patch"),
        pytest.param("DELETE", "", None, id="delete"),
        pytest.param("POST", "/test", None, id="test"),
    ],
)
async def test_channel_of_another_org_answers_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    store: Store,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    theirs = await create_channel(client, other_tenant, webhook_body(name="Theirs"))

    response = await client.request(
        method, f"/api/alert-channels/{theirs}{suffix}", headers=tenant.headers, json=body
    )

    assert_error(response, 404, code="alert_channel_not_found", says="Alert channel not found")
    async with store.transaction() as session:
        row = await session.get(AlertChannel, theirs)
        assert row is not None and row.name == "Theirs"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("POST", "", webhook_body(), id="create"),
        pytest.param("PATCH", "/{id}", {"name": "x"}, id="patch"),
        pytest.param("DELETE", "/{id}", None, id="delete"),
        pytest.param("POST", "/{id}/test", None, id="test"),
    ],
)
async def test_channel_writes_with_a_read_only_key_answer_403(
    client: httpx.AsyncClient,
    tenant: Tenant,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    channel_id = await create_channel(client, tenant, webhook_body())
    reader = await read_only_tenant(client, tenant)

    response = await client.request(
        method,
        "/api/alert-channels" + suffix.format(id=channel_id),
        headers=reader.headers,
        json=body,
    )
    listed = await client.get("/api/alert-channels", headers=reader.headers)

    assert_error(response, 403, code="forbidden", says="This API key is read-only")
    assert [c["name"] for c in listed.json()["data"]] == ["Ops webhook"]


# --- test send ------------------------------------------------------------------------


async def test_channel_test_sends_a_signed_webhook_with_a_fresh_event_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async with HttpReceiver() as receiver:
        channel_id = await create_channel(
            client, tenant, webhook_body(receiver.url_for("/hooks/vigil"))
        )

        first = await client.post(f"/api/alert-channels/{channel_id}/test", headers=tenant.headers)
        second = await client.post(f"/api/alert-channels/{channel_id}/test", headers=tenant.headers)
        one, two = await receiver.wait_for(2)

    assert first.status_code == 200, first.text
    assert first.json() == {"data": {"ok": True, "error": None, "statusCode": 200}}
    assert second.json()["data"]["ok"] is True
    assert (one.method, one.path) == ("POST", "/hooks/vigil")
    timestamp, signature = one.header("X-Signature-Timestamp"), one.header("X-Signature")
    assert timestamp is not None and signature is not None
    assert verify_signature(SECRET, timestamp, one.body, signature)
    payload = one.json()
    assert payload["type"] == "test"
    assert payload["id"] == one.header("X-Event-Id")
    assert payload["occurredAt"] == "2026-03-01T12:00:00Z"
    assert payload["details"] == {"channelId": channel_id, "channelName": "Ops webhook"}
    assert two.header("X-Event-Id") != one.header("X-Event-Id")


async def test_channel_test_of_a_rejecting_receiver_answers_200_with_ok_false(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async with HttpReceiver(default=Reply(status=410, body="hook removed")) as receiver:
        channel_id = await create_channel(client, tenant, webhook_body(receiver.url_for("/h")))

        response = await client.post(
            f"/api/alert-channels/{channel_id}/test", headers=tenant.headers
        )
        await receiver.wait_for(1)

    assert response.status_code == 200, response.text
    result = response.json()["data"]
    assert (result["ok"], result["statusCode"]) == (False, 410)
    assert "410" in result["error"] and "hook removed" in result["error"]


async def test_channel_test_of_an_unreachable_receiver_says_connection_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    with refused_port() as port:
        channel_id = await create_channel(
            client, tenant, webhook_body(f"http://127.0.0.1:{port}/hook")
        )
        response = await client.post(
            f"/api/alert-channels/{channel_id}/test", headers=tenant.headers
        )

    result = response.json()["data"]
    assert (response.status_code, result["ok"], result["statusCode"]) == (200, False, None)
    assert f"could not connect to webhook 'Ops webhook' at 127.0.0.1:{port}" in result["error"]
    assert "connection refused" in result["error"]


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpReceiver]:
    async with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
async def pagerduty() -> AsyncIterator[HttpReceiver]:
    async with HttpReceiver(default=202) as receiver:
        yield receiver


@pytest.fixture
async def configured_client(
    store: Store, clock: FrozenClock, smtp: SmtpReceiver, pagerduty: HttpReceiver
) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose settings point SMTP and PagerDuty at the loopback receivers."""
    settings = make_settings(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from="alerts@vigil.test",
        pagerduty_events_url=pagerduty.url_for("/v2/enqueue"),
    )
    app = create_app(settings, store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vigil.test") as c:
        yield c


async def test_channel_test_emails_through_the_configured_smtp_server(
    configured_client: httpx.AsyncClient, tenant: Tenant, smtp: SmtpReceiver
) -> None:
    channel_id = await create_channel(
        configured_client,
        tenant,
        {"name": "Mail", "type": "EMAIL", "config": {"recipients": ["ops@example.com"]}},
    )

    response = await configured_client.post(
        f"/api/alert-channels/{channel_id}/test", headers=tenant.headers
    )
    (mail,) = await smtp.wait_for(1)

    assert response.json()["data"]["ok"] is True, response.text
    assert mail.rcpt_tos == ("ops@example.com",)
    assert mail.mail_from == "alerts@vigil.test"
    assert mail.subject.startswith("[TEST] Example monitor")


async def test_channel_test_pages_the_configured_pagerduty_endpoint(
    configured_client: httpx.AsyncClient, tenant: Tenant, pagerduty: HttpReceiver
) -> None:
    channel_id = await create_channel(
        configured_client,
        tenant,
        {"name": "Pager", "type": "PAGERDUTY", "config": {"routingKey": ROUTING_KEY}},
    )

    response = await configured_client.post(
        f"/api/alert-channels/{channel_id}/test", headers=tenant.headers
    )
    (event,) = await pagerduty.wait_for(1)

    assert response.json()["data"] == {"ok": True, "error": None, "statusCode": 202}
    assert event.path == "/v2/enqueue"
    assert event.json()["routing_key"] == ROUTING_KEY
