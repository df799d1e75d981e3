"""Members with their own keys, made the way a person would: invite, then accept."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Tenant


async def invite(
    client: httpx.AsyncClient, by: Tenant, email: str, role: str = "VIEWER"
) -> dict[str, Any]:
    response = await client.post(
        "/api/team/invite", headers=by.headers, json={"email": email, "role": role}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def accept(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.post("/api/team/accept", json={"token": token})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def member(
    client: httpx.AsyncClient, by: Tenant, email: str, role: str = "VIEWER"
) -> tuple[str, Tenant]:
    """Invite and accept: the member's id and a Tenant holding the member's own key."""
    invited = await invite(client, by, email, role)
    accepted = await accept(client, invited["inviteToken"])
    return invited["id"], Tenant(org_id=by.org_id, key=accepted["apiKey"]["key"])
