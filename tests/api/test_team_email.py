"""Invitations by email (``VIGIL_INVITE_EMAIL``) through a real SMTP server on loopback."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from tests.api.conftest import Tenant, app_client, make_settings
from tests.servers.receivers import SmtpReceiver


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpReceiver]:
    async with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def settings(smtp: SmtpReceiver) -> Settings:
    return make_settings(
        invite_email=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from="vigil@example.com",
        public_url="https://vigil.example.com",
    )


async def test_invitation_is_emailed_with_a_token_that_works(
    client: httpx.AsyncClient, tenant: Tenant, smtp: SmtpReceiver
) -> None:
    response = await client.post(
        "/api/team/invite",
        headers=tenant.headers,
        json={"email": "bob@example.com", "role": "VIEWER"},
    )

    assert response.status_code == 201, response.text
    assert response.json()["data"]["inviteEmailed"] is True
    (mail,) = await smtp.wait_for(1)
    assert mail.rcpt_tos == ("bob@example.com",)
    message = mail.message
    assert message["Subject"] == "You are invited to Acme on Vigil"
    text = message.get_content()
    assert "curl -X POST https://vigil.example.com/api/team/accept" in text
    assert "The token expires at 2026-03-08 12:00 UTC." in text
    [token] = re.findall(r"vinv_[A-Za-z0-9_-]+", text)
    assert token == response.json()["data"]["inviteToken"]
    accepted = await client.post("/api/team/accept", json={"token": token})
    assert accepted.status_code == 201, accepted.text


async def test_invitation_stands_when_the_email_cannot_be_sent(
    store: Store, clock: FrozenClock, settings: Settings, tenant: Tenant
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead = settings.model_copy(update={"smtp_port": dead_port})
    async with app_client(store, clock, dead) as client:
        response = await client.post(
            "/api/team/invite",
            headers=tenant.headers,
            json={"email": "bob@example.com", "role": "VIEWER"},
        )
        accepted = await client.post(
            "/api/team/accept", json={"token": response.json()["data"]["inviteToken"]}
        )

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["inviteEmailed"] is False
    assert f"127.0.0.1:{dead_port}" in data["inviteEmailError"]
    assert accepted.status_code == 201


async def test_invitation_without_invite_email_sends_nothing(
    store: Store, clock: FrozenClock, settings: Settings, tenant: Tenant, smtp: SmtpReceiver
) -> None:
    off = settings.model_copy(update={"invite_email": False})
    async with app_client(store, clock, off) as client:
        response = await client.post(
            "/api/team/invite",
            headers=tenant.headers,
            json={"email": "bob@example.com", "role": "VIEWER"},
        )

    assert response.status_code == 201
    assert "inviteEmailed" not in response.json()["data"]
    assert smtp.messages == []
