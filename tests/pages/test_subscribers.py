"""Subscribers: double opt-in by email at an aiosmtpd server, signed webhooks, the owner's list."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import update

from alerting.dispatcher import Dispatcher
from api.main import create_app
from pages.duties import run_page_duties
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.models import Incident
from tests.api.conftest import Tenant, make_settings, make_tenant
from tests.api.helpers import add_incident, assert_error, create_monitor
from tests.servers.receivers import HttpReceiver, ReceivedEmail, SmtpReceiver

LINK = re.compile(r"(http://\S+/status/acme/\S+\?token=[A-Za-z0-9_-]{43})")


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpReceiver]:
    async with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def settings(smtp: SmtpReceiver) -> Settings:
    # Subscriber webhooks are judged untrusted whatever the organization's trust:
    # the loopback receivers of these tests are allowed explicitly.
    return make_settings(
        smtp_port=smtp.port, public_url="http://status.test", VIGIL_ALLOWED_TARGETS="127.0.0.1"
    )


@pytest.fixture
async def web(
    store: Store, clock: FrozenClock, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://status.test") as c:
        yield c


@pytest.fixture
async def owner(web: httpx.AsyncClient, store: Store, clock: FrozenClock) -> tuple[Tenant, str]:
    tenant = await make_tenant(store, clock, "acme")
    monitor = await create_monitor(web, tenant, name="Production API")
    body = {"name": "Acme", "slug": "acme", "monitors": [monitor]}
    created = await web.post("/api/status-pages", headers=tenant.headers, json=body)
    assert created.status_code == 201
    return tenant, monitor


async def _deliver(store: Store, settings: Settings, clock: FrozenClock) -> int:
    """Queue what the duties find, then deliver the outbox once; returns rows attempted."""
    await run_page_duties(store, settings, now=clock.now())
    return await Dispatcher(store, settings, clock=clock).run_once()


def _links(mail: ReceivedEmail) -> list[str]:
    return LINK.findall(mail.text)


async def _subscribed(
    web: httpx.AsyncClient, store: Store, settings: Settings, clock: FrozenClock, smtp: SmtpReceiver
) -> str:
    """Subscribe by the page's form and confirm; returns the unsubscribe link."""
    response = await web.post(
        "/status/acme/subscribe",
        content="email=visitor%40example.com",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 202, response.text
    assert "Check your inbox" in response.text
    assert await Dispatcher(store, settings, clock=clock).run_once() == 1
    [mail] = await smtp.wait_for(1)
    assert mail.rcpt_tos == ("visitor@example.com",)
    assert mail.subject == "Confirm your subscription to Acme status"
    confirm, unsubscribe = _links(mail)
    assert "/subscribe/confirm?token=" in confirm and "/unsubscribe?token=" in unsubscribe
    assert mail.message["List-Unsubscribe"] == f"<{unsubscribe}>"
    # Opening the link only shows a button; the POST confirms.
    shown = await web.get(urlsplit(confirm).path + "?" + urlsplit(confirm).query)
    assert 'method="post"' in shown.text
    done = await web.post(urlsplit(confirm).path + "?" + urlsplit(confirm).query)
    assert done.status_code == 200 and "Subscribed" in done.text
    return unsubscribe


async def test_email_subscriber_confirms_hears_opened_and_resolved_then_unsubscribes(
    web: httpx.AsyncClient,
    store: Store,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpReceiver,
    owner: tuple[Tenant, str],
) -> None:
    tenant, monitor = owner
    unsubscribe = await _subscribed(web, store, settings, clock, smtp)
    clock.advance(60)
    incident = await add_incident(
        store, org_id=tenant.org_id, monitor_id=monitor, started_at=clock.now(), cause="HTTP 503"
    )

    assert await _deliver(store, settings, clock) == 1
    assert await _deliver(store, settings, clock) == 0  # announced once
    clock.advance(600)
    async with store.transaction() as session:
        await session.execute(
            update(Incident)
            .where(Incident.id == incident)
            .values(is_active=False, resolved_at=clock.now())
        )
    assert await _deliver(store, settings, clock) == 1

    _, opened, resolved = await smtp.wait_for(3)
    assert opened.subject == "[Acme] Incident: Production API: HTTP 503"
    assert "Status: investigating" in opened.text
    assert "Details: http://status.test/status/acme" in opened.text
    assert resolved.subject == "[Acme] Resolved: Production API: HTTP 503"
    assert "Resolved: " in resolved.text
    for mail in (opened, resolved):
        assert _links(mail) == [unsubscribe]
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    gone = await web.post(urlsplit(unsubscribe).path + "?" + urlsplit(unsubscribe).query)
    assert "Unsubscribed" in gone.text
    listed = await web.get("/api/status-pages/acme/subscribers", headers=tenant.headers)
    assert listed.json()["data"] == []
    clock.advance(60)
    await add_incident(store, org_id=tenant.org_id, monitor_id=monitor, started_at=clock.now())
    assert await _deliver(store, settings, clock) == 0


async def test_an_unconfirmed_subscriber_hears_nothing(
    web: httpx.AsyncClient,
    store: Store,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpReceiver,
    owner: tuple[Tenant, str],
) -> None:
    tenant, monitor = owner
    async with HttpReceiver() as hook:
        # A confirmed (webhook) subscriber beside the pending one: the page has an audience.
        await web.post("/status/acme/subscribe", json={"webhookUrl": hook.url})
        await web.post("/status/acme/subscribe", json={"email": "visitor@example.com"})
        again = await web.post("/status/acme/subscribe", json={"email": "visitor@example.com"})
        clock.advance(60)
        await add_incident(store, org_id=tenant.org_id, monitor_id=monitor, started_at=clock.now())

        attempted = await _deliver(store, settings, clock)
        [event] = await hook.wait_for(1)

    assert again.status_code == 202
    # The one confirmation email (not two) and the webhook's incident; no incident email.
    assert attempted == 2
    assert event.json()["type"] == "incident.opened"
    [mail] = await smtp.wait_for(1)
    assert mail.subject.startswith("Confirm")
    assert len(smtp.messages) == 1


async def test_a_token_is_unguessable_and_bound_to_its_page(
    web: httpx.AsyncClient,
    store: Store,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpReceiver,
    owner: tuple[Tenant, str],
) -> None:
    await web.post("/status/acme/subscribe", json={"email": "visitor@example.com"})
    await Dispatcher(store, settings, clock=clock).run_once()
    [mail] = await smtp.wait_for(1)
    token = _links(mail)[0].rsplit("=", 1)[1]

    wrong = await web.post(f"/status/acme/subscribe/confirm?token={token[:-1]}A")

    assert len(token) == 43  # 32 random bytes, URL-safe base64
    assert wrong.status_code == 404
    assert "not valid" in wrong.text


async def test_a_bad_email_is_refused_with_a_reason(
    web: httpx.AsyncClient, owner: tuple[Tenant, str]
) -> None:
    as_json = await web.post("/status/acme/subscribe", json={"email": "not-an-address"})
    as_form = await web.post(
        "/status/acme/subscribe",
        content="email=nope",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert_error(as_json, 400, code="invalid_request", says="email must be an email address")
    assert as_form.status_code == 400 and "must be an email address" in as_form.text


@pytest.mark.parametrize(
    ("content", "content_type", "field"),
    [
        pytest.param(
            '{"webhookUrl": "https://hooks.example.com/\\u0000"}',
            "application/json",
            "webhookUrl",
            id="nul-in-json",
        ),
        pytest.param(
            '{"email": "\\ud800@example.com"}', "application/json", "email", id="surrogate"
        ),
        pytest.param(
            "webhookUrl=https%3A%2F%2Fhooks.example.com%2F%00",
            "application/x-www-form-urlencoded",
            "webhookUrl",
            id="nul-in-form",
        ),
    ],
)
async def test_text_the_store_cannot_keep_is_400_and_stores_nothing(
    web: httpx.AsyncClient, owner: tuple[Tenant, str], content: str, content_type: str, field: str
) -> None:
    """PostgreSQL refuses NUL in text and lone surrogates are not UTF-8: these were 500s."""
    tenant, _ = owner

    response = await web.post(
        "/status/acme/subscribe", content=content, headers={"Content-Type": content_type}
    )
    listed = await web.get("/api/status-pages/acme/subscribers", headers=tenant.headers)

    body = assert_error(response, 400, code="invalid_request", says=field)
    assert [f["field"] for f in body["fields"]] == [field]
    assert listed.json()["data"] == []


async def test_an_email_longer_than_the_column_is_refused(
    web: httpx.AsyncClient, owner: tuple[Tenant, str]
) -> None:
    """status_page_subscribers.email holds 320 characters: PostgreSQL refused more (a 500)."""
    response = await web.post("/status/acme/subscribe", json={"email": "v" * 309 + "@example.com"})

    assert_error(response, 400, code="invalid_request", says="email must be at most 320")


async def test_webhook_subscriber_gets_signed_events(
    web: httpx.AsyncClient,
    store: Store,
    settings: Settings,
    clock: FrozenClock,
    owner: tuple[Tenant, str],
) -> None:
    tenant, monitor = owner
    async with HttpReceiver() as hook:
        created = await web.post(
            "/status/acme/subscribe", json={"webhookUrl": hook.url_for("/status-events")}
        )
        assert created.status_code == 201, created.text
        secret = created.json()["data"]["secret"]
        clock.advance(60)
        incident = await add_incident(
            store, org_id=tenant.org_id, monitor_id=monitor, started_at=clock.now()
        )
        clock.advance(60)
        posted = await web.post(
            f"/api/incidents/{incident}/updates",
            headers=tenant.headers,
            json={"status": "identified", "body": "A bad deploy."},
        )
        assert posted.status_code == 201

        assert await _deliver(store, settings, clock) == 2
        opened, updated = sorted(await hook.wait_for(2), key=lambda r: r.json()["occurredAt"])

    for request in (opened, updated):
        timestamp = request.header("X-Signature-Timestamp") or ""
        expected = hmac.new(
            secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
        ).hexdigest()
        assert request.header("X-Signature") == f"sha256={expected}"
        assert request.header("X-Event-Id")
        assert request.path == "/status-events"
    assert (opened.json()["type"], updated.json()["type"]) == (
        "incident.opened",
        "incident.updated",
    )
    assert updated.json()["details"]["status"] == "identified"
    assert updated.json()["details"]["body"] == "A bad deploy."
    assert updated.json()["page"] == {"name": "Acme", "url": "http://status.test/status/acme"}


async def test_maintenance_scheduled_is_announced(
    web: httpx.AsyncClient,
    store: Store,
    settings: Settings,
    clock: FrozenClock,
    owner: tuple[Tenant, str],
) -> None:
    tenant, monitor = owner
    async with HttpReceiver() as hook:
        await web.post("/status/acme/subscribe", json={"webhookUrl": hook.url})
        clock.advance(60)
        start = clock.now() + timedelta(days=1)
        window = {
            "title": "Database upgrade",
            "monitorId": monitor,
            "startsAt": start.isoformat(),
            "endsAt": (start + timedelta(hours=1)).isoformat(),
        }
        assert (
            await web.post("/api/maintenance", headers=tenant.headers, json=window)
        ).status_code == 201

        assert await _deliver(store, settings, clock) == 1
        [request] = await hook.wait_for(1)

    body = request.json()
    assert body["type"] == "maintenance.scheduled"
    assert body["details"]["title"] == "Database upgrade"
    assert body["details"]["startsAt"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_owner_lists_and_deletes_subscribers_and_no_one_else_can(
    web: httpx.AsyncClient, owner: tuple[Tenant, str], store: Store, clock: FrozenClock
) -> None:
    tenant, _ = owner
    other_tenant = await make_tenant(store, clock, "globex")
    await web.post("/status/acme/subscribe", json={"email": "visitor@example.com"})
    path = "/api/status-pages/acme/subscribers"

    listed = (await web.get(path, headers=tenant.headers)).json()["data"]
    stranger = await web.get(path, headers=other_tenant.headers)
    stranger_delete = await web.delete(f"{path}/{listed[0]['id']}", headers=other_tenant.headers)
    deleted = await web.delete(f"{path}/{listed[0]['id']}", headers=tenant.headers)

    assert [(s["type"], s["email"], s["confirmed"]) for s in listed] == [
        ("EMAIL", "visitor@example.com", False)
    ]
    assert set(listed[0]) == {
        "id",
        "type",
        "email",
        "webhookUrl",
        "confirmed",
        "confirmedAt",
        "createdAt",
    }
    assert_error(stranger, 404, code="status_page_not_found")
    assert_error(stranger_delete, 404, code="status_page_not_found")
    assert deleted.json() == {"message": "Subscriber deleted successfully"}
    assert (await web.get(path, headers=tenant.headers)).json()["data"] == []


async def test_subscriber_channels_stay_out_of_the_alert_channel_list(
    web: httpx.AsyncClient, owner: tuple[Tenant, str]
) -> None:
    tenant, _ = owner
    await web.post("/status/acme/subscribe", json={"email": "visitor@example.com"})

    channels = await web.get("/api/alert-channels", headers=tenant.headers)

    assert channels.json()["data"] == []


async def test_subscriptions_are_limited_per_address_and_per_page(
    web: httpx.AsyncClient, owner: tuple[Tenant, str], store: Store, clock: FrozenClock
) -> None:
    # The clock sits at the start of a minute so that every request below is in one window.
    clock.advance(60 - clock.now().timestamp() % 60)
    accepted = [
        (await web.post("/status/acme/subscribe", json={"email": f"v{i}@example.com"})).status_code
        for i in range(5)
    ]
    sixth = await web.post("/status/acme/subscribe", json={"email": "v5@example.com"})
    as_form = await web.post(
        "/status/acme/subscribe",
        content="email=v6%40example.com",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert accepted == [202] * 5
    assert_error(
        sixth, 429, code="rate_limited", says="At most 5 subscriptions a minute from one address"
    )
    assert sixth.headers["Retry-After"] == "60"
    assert as_form.status_code == 429 and "At most 5 subscriptions" in as_form.text
    # Nothing was kept of the refused ones: five pending subscribers.
    listed = await web.get("/api/status-pages/acme/subscribers", headers=owner[0].headers)
    assert len(listed.json()["data"]) == 5

    clock.advance(60)  # a new minute: the address may subscribe again
    again = await web.post("/status/acme/subscribe", json={"email": "v7@example.com"})
    assert again.status_code == 202


async def test_one_page_takes_a_bounded_number_of_subscriptions_from_many_addresses(
    store: Store, clock: FrozenClock, smtp: SmtpReceiver, owner: tuple[Tenant, str]
) -> None:
    settings = make_settings(smtp_port=smtp.port, page_subscribes_per_minute=3)
    app = create_app(settings, store=store, clock=clock)
    clock.advance(60 - clock.now().timestamp() % 60)
    codes = []
    for i in range(4):
        # Each request from another client address: the per-page limit still holds.
        transport = httpx.ASGITransport(app=app, client=(f"192.0.2.{i}", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://status.test") as c:
            r = await c.post("/status/acme/subscribe", json={"email": f"p{i}@example.com"})
            codes.append(r.status_code)
            last = r
    assert codes == [202, 202, 202, 429]
    assert "This page takes at most 3 new subscriptions a minute" in last.json()["error"]
