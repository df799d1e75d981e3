"""``/api/team``: listing, inviting, accepting, removing; several organizations per user."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text

from store.clock import FrozenClock
from store.db import Store
from store.models import ApiKey
from tests.api.conftest import Tenant
from tests.api.helpers import ISO_MS, assert_error
from tests.api.team_helpers import accept, invite, member

MEMBER_FIELDS = {"id", "userId", "role", "name", "email", "image", "joinedAt"}


async def test_team_lists_the_owner_with_the_reference_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/team", headers=tenant.headers)

    assert response.status_code == 200
    [owner] = response.json()["data"]
    assert set(owner) >= MEMBER_FIELDS
    assert owner["role"] == "OWNER"
    assert owner["email"] == "o@acme.test"
    assert owner["id"].startswith("mem_") and owner["userId"].startswith("usr_")
    assert ISO_MS.match(owner["joinedAt"])
    assert owner["invitePending"] is False


async def test_team_invite_answers_201_with_the_member_and_message(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    response = await client.post(
        "/api/team/invite",
        headers=tenant.headers,
        json={"email": "Bob@Example.com", "role": "ADMIN", "name": "Bob Smith"},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == "Team member invited successfully"
    data = body["data"]
    assert set(data) >= MEMBER_FIELDS
    assert (data["email"], data["role"], data["name"], data["image"]) == (
        "bob@example.com",
        "ADMIN",
        "Bob Smith",
        None,
    )
    assert data["invitePending"] is True
    assert data["inviteToken"].startswith("vinv_") and len(data["inviteToken"]) >= 32
    assert data["inviteExpiresAt"] == (clock.now() + timedelta(days=7)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )


async def test_team_lists_members_by_join_date(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    clock.advance(60)
    await invite(client, tenant, "second@example.com")
    clock.advance(60)
    await invite(client, tenant, "third@example.com", "ADMIN")

    data = (await client.get("/api/team", headers=tenant.headers)).json()["data"]

    assert [(m["email"], m["role"], m["invitePending"]) for m in data] == [
        ("o@acme.test", "OWNER", False),
        ("second@example.com", "VIEWER", True),
        ("third@example.com", "ADMIN", True),
    ]


async def test_team_accept_gives_the_invitee_their_own_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    invited = await invite(client, tenant, "bob@example.com", "VIEWER")

    accepted = await accept(client, invited["inviteToken"])

    assert accepted["member"]["id"] == invited["id"]
    assert accepted["organization"]["slug"] == "acme"
    key = accepted["apiKey"]["key"]
    assert key.startswith("vigil_")
    bob = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/api/monitors", headers=bob)).status_code == 200
    team = (await client.get("/api/team", headers=bob)).json()["data"]
    assert [m["invitePending"] for m in team] == [False, False]
    # The key is Bob's, not the inviter's: it is listed among his keys only.
    mine = (await client.get("/api/api-keys", headers=tenant.headers)).json()["data"]
    assert accepted["apiKey"]["id"] not in {k["id"] for k in mine}


async def test_team_accept_works_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    invited = await invite(client, tenant, "bob@example.com")
    await accept(client, invited["inviteToken"])

    again = await client.post("/api/team/accept", json={"token": invited["inviteToken"]})

    assert_error(again, 404, code="invitation_not_found", says="already accepted")


async def test_team_accept_expires_after_seven_days(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    first = await invite(client, tenant, "early@example.com")
    second = await invite(client, tenant, "late@example.com")

    clock.advance(7 * 86400 - 1)
    assert (await client.post("/api/team/accept", json={"token": first["inviteToken"]})).is_success
    clock.advance(1)
    late = await client.post("/api/team/accept", json={"token": second["inviteToken"]})

    assert_error(late, 404, code="invitation_not_found", says="expired")


async def test_team_accept_unknown_or_malformed_token(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/api/team/accept", json={"token": "vinv_" + "x" * 32})
    malformed = await client.post("/api/team/accept", json={"token": "hello"})

    assert_error(unknown, 404, code="invitation_not_found", says="invite you again")
    body = assert_error(malformed, 400, code="invalid_request")
    assert body["fields"][0]["field"] == "token"


async def test_team_invite_rejects_bad_fields(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/team/invite",
        headers=tenant.headers,
        json={"email": "not-an-email", "role": "OWNER", "team": "x"},
    )

    body = assert_error(response, 400, code="invalid_request", says="email")
    assert [f["field"] for f in body["fields"]] == ["email", "role", "team"]


async def test_team_invite_of_an_address_longer_than_the_column_is_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """users.email holds 320 characters: PostgreSQL refused the 321st with a 500."""
    address = "b" * 309 + "@example.com"  # 321 characters; users.email holds 320

    response = await client.post(
        "/api/team/invite", headers=tenant.headers, json={"email": address, "role": "ADMIN"}
    )
    team = await client.get("/api/team", headers=tenant.headers)

    body = assert_error(response, 400, code="invalid_request", says="email")
    assert body["fields"] == [{"field": "email", "issue": "must be at most 320 characters"}]
    assert len(team.json()["data"]) == 1


async def test_team_invite_of_a_member_is_409(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await invite(client, tenant, "bob@example.com")

    again = await client.post(
        "/api/team/invite",
        headers=tenant.headers,
        json={"email": "bob@example.com", "role": "ADMIN"},
    )
    owner = await client.post(
        "/api/team/invite", headers=tenant.headers, json={"email": "o@acme.test", "role": "ADMIN"}
    )

    assert_error(again, 409, code="conflict", says="already a member")
    assert_error(owner, 409, code="conflict", says="already a member")


async def test_team_a_user_may_belong_to_several_organizations(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    """One user, two memberships; each key speaks for one of them."""
    acme_member, acme_key = await member(client, tenant, "bob@example.com", "ADMIN")
    globex_member, globex_key = await member(client, other_tenant, "bob@example.com", "VIEWER")

    acme_team = (await client.get("/api/team", headers=tenant.headers)).json()["data"]
    globex_team = (await client.get("/api/team", headers=other_tenant.headers)).json()["data"]
    bob_acme = next(m for m in acme_team if m["id"] == acme_member)
    bob_globex = next(m for m in globex_team if m["id"] == globex_member)
    assert bob_acme["userId"] == bob_globex["userId"]
    # Bob is ADMIN in acme and VIEWER in globex, through each organization's key.
    created = await client.post(
        "/api/monitors",
        headers=acme_key.headers,
        json={"name": "x", "url": "https://example.com", "type": "HTTP", "interval": 300},
    )
    assert created.status_code == 201, created.text
    refused = await client.post(
        "/api/monitors",
        headers=globex_key.headers,
        json={"name": "x", "url": "https://example.com", "type": "HTTP", "interval": 300},
    )
    assert_error(refused, 403, code="forbidden", says="your role in globex is VIEWER")
    # Keys are listed per membership: Bob's acme key is not among his globex keys.
    globex_keys = (await client.get("/api/api-keys", headers=globex_key.headers)).json()["data"]
    assert len(globex_keys) == 1


async def test_team_remove_revokes_the_members_keys_at_once(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    store: Store,
    clock: FrozenClock,
) -> None:
    member_id, bob = await member(client, tenant, "bob@example.com", "ADMIN")
    _, bob_elsewhere = await member(client, other_tenant, "bob@example.com", "ADMIN")
    second = await client.post("/api/api-keys", headers=bob.headers, json={"name": "second"})
    bob_second = {"Authorization": f"Bearer {second.json()['data']['key']}"}
    assert (await client.get("/api/monitors", headers=bob.headers)).status_code == 200

    team = (await client.get("/api/team", headers=tenant.headers)).json()["data"]
    user_id = next(m["userId"] for m in team if m["id"] == member_id)
    clock.advance(5)

    removed = await client.delete(f"/api/team/{member_id}", headers=tenant.headers)

    assert removed.status_code == 200, removed.text
    assert removed.json() == {"message": "Team member removed successfully"}
    for headers in (bob.headers, bob_second):
        after = await client.get("/api/monitors", headers=headers)
        assert_error(after, 401, code="unauthenticated", says="revoked")
    # His membership of another organization is untouched.
    assert (await client.get("/api/monitors", headers=bob_elsewhere.headers)).status_code == 200
    async with store.transaction() as session:
        keys = (await session.scalars(select(ApiKey).where(ApiKey.user_id == user_id))).all()
    assert sorted((k.org_id, k.revoked_at) for k in keys) == sorted(
        [(tenant.org_id, clock.now()), (tenant.org_id, clock.now()), (other_tenant.org_id, None)]
    )
    team = (await client.get("/api/team", headers=tenant.headers)).json()["data"]
    assert member_id not in {m["id"] for m in team}


async def test_team_remove_a_pending_member_voids_the_invitation(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    invited = await invite(client, tenant, "bob@example.com")

    await client.delete(f"/api/team/{invited['id']}", headers=tenant.headers)
    response = await client.post("/api/team/accept", json={"token": invited["inviteToken"]})

    assert_error(response, 404, code="invitation_not_found", says="not known")


async def test_team_nobody_removes_the_owner_or_themselves(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    owner_id = (await client.get("/api/team", headers=tenant.headers)).json()["data"][0]["id"]
    admin_id, admin = await member(client, tenant, "admin@example.com", "ADMIN")

    by_admin = await client.delete(f"/api/team/{owner_id}", headers=admin.headers)
    by_owner = await client.delete(f"/api/team/{owner_id}", headers=tenant.headers)
    by_self = await client.delete(f"/api/team/{admin_id}", headers=admin.headers)

    assert_error(by_admin, 403, code="forbidden", says="owner cannot be removed")
    assert_error(by_owner, 403, code="forbidden", says="owner cannot be removed")
    assert_error(by_self, 403, code="forbidden", says="cannot remove yourself")


async def test_team_admin_removes_another_admin_and_viewer(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, admin = await member(client, tenant, "admin@example.com", "ADMIN")
    other_admin, _ = await member(client, tenant, "admin2@example.com", "ADMIN")
    viewer, _ = await member(client, tenant, "viewer@example.com", "VIEWER")

    for member_id in (other_admin, viewer):
        response = await client.delete(f"/api/team/{member_id}", headers=admin.headers)
        assert response.status_code == 200, response.text


async def test_team_remove_unknown_or_other_orgs_member_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs, _ = await member(client, other_tenant, "bob@example.com")

    for member_id in ("mem_nope", theirs):
        response = await client.delete(f"/api/team/{member_id}", headers=tenant.headers)
        assert_error(response, 404, code="member_not_found", says="Team member not found")


async def test_team_invitation_token_is_stored_only_as_a_hash(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    invited = await invite(client, tenant, "bob@example.com")
    replayed = await client.post(
        "/api/team/invite",
        headers={**tenant.headers, "Idempotency-Key": "inv-1"},
        json={"email": "carol@example.com", "role": "VIEWER"},
    )
    replay = await client.post(
        "/api/team/invite",
        headers={**tenant.headers, "Idempotency-Key": "inv-1"},
        json={"email": "carol@example.com", "role": "VIEWER"},
    )

    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["data"]["inviteToken"] != replayed.json()["data"]["inviteToken"]
    rows = []
    async with store.transaction() as session:
        for table in ("invitations", "idempotency_keys"):
            rows += (await session.execute(text(f"SELECT * FROM {table}"))).all()
    dump = "\n".join(str(row) for row in rows)
    for token in (invited["inviteToken"], replayed.json()["data"]["inviteToken"]):
        assert token not in dump


async def test_team_accept_racing_itself_gives_one_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    invited = await invite(client, tenant, "bob@example.com")

    answers = await asyncio.gather(
        *(client.post("/api/team/accept", json={"token": invited["inviteToken"]}) for _ in range(4))
    )

    assert sorted(a.status_code for a in answers) == [201, 404, 404, 404]


@pytest.mark.postgres_only  # SQLite refuses the racing writers ("database is locked")
async def test_team_invite_racing_itself_adds_one_member(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/team/invite",
                headers=tenant.headers,
                json={"email": "bob@example.com", "role": "VIEWER"},
            )
            for _ in range(3)
        )
    )

    assert sorted(a.status_code for a in answers) == [201, 409, 409]
    team = (await client.get("/api/team", headers=tenant.headers)).json()["data"]
    assert sorted(m["email"] for m in team) == ["bob@example.com", "o@acme.test"]
