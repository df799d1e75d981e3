"""``/api/team``: members and their roles; invitations and how an invitee gets a key.

A self-hosted Vigil has no sign-up page, so ``POST /api/team/invite`` adds the person
as a member at once (creating their user when the email is unknown) and returns a
one-time ``inviteToken`` (valid 7 days; emailed too when ``VIGIL_INVITE_EMAIL`` is
on). The invitee sends it to the public ``POST /api/team/accept`` and gets their own
API key for that organization. See docs/team.md.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.dispatcher import delivery_context
from alerting.invitations import send_invitation
from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep, SettingsDep, StoreDep, require_role
from api.errors import ApiError, FieldIssue, invalid, not_found
from api.idempotency import run_create
from api.openapi import body, created
from api.schemas.account import (
    INVITABLE_ROLES,
    MAX_EMAIL,
    Accepted,
    InvitationAccept,
    InviteCreate,
    Invited,
)
from api.schemas.account import Member as MemberOut
from api.schemas.common import API_ERRORS, Data, Message
from api.serialize import iso, key_json, org_json
from store.keys import create_key
from store.models import Member, User
from store.team import (
    INVITE_PREFIX,
    accept,
    get_member,
    invite,
    list_members,
    pending_member_ids,
    remove_member,
)

log = logging.getLogger("vigil.api")
router = APIRouter(prefix="/api/team", tags=["team"], responses=API_ERRORS)

_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")


def member_json(m: Member, u: User, *, pending: bool = False) -> dict[str, Any]:
    return {
        "id": m.id,
        "userId": u.id,
        "role": m.role,
        "name": u.name,
        "email": u.email,
        "image": u.image,
        "joinedAt": iso(m.joined_at),
        "invitePending": pending,
    }


_INVITE_LINKS = created("member_id", "team_remove")
# The invitee's side: the token goes in accept's body, not in a parameter.
_INVITE_LINKS[201]["links"]["team_accept_invitation"] = {
    "operationId": "team_accept_invitation",
    "requestBody": {"token": "$response.body#/data/inviteToken"},
}


@router.get("", response_model=Data[list[MemberOut]])
async def list_all(auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """The organization's members by join date; ``invitePending`` until they accept."""
    pending = await pending_member_ids(session, auth.org_id)
    rows = await list_members(session, auth.org_id)
    return {"data": [member_json(m, u, pending=m.id in pending) for m, u in rows]}


def _invite_fields(body: dict[str, Any]) -> tuple[str, str, str | None]:
    issues: list[FieldIssue] = []
    email, role, name = body.get("email"), body.get("role"), body.get("name")
    if not isinstance(email, str) or not _EMAIL.match(email.strip()):
        issues.append(("email", "must be an email address such as bob@example.com"))
    elif len(email.strip()) > MAX_EMAIL:
        # The users.email column: PostgreSQL refuses more (a 500), SQLite would keep it.
        issues.append(("email", f"must be at most {MAX_EMAIL} characters"))
    if role not in INVITABLE_ROLES:
        issues.append(
            ("role", "must be 'ADMIN' or 'VIEWER' (an organization has one OWNER, its creator)")
        )
    if name is not None and (not isinstance(name, str) or not 1 <= len(name.strip()) <= 100):
        issues.append(("name", "must be 1-100 characters"))
    issues += [
        (f, "is not an invitation field") for f in sorted(set(body) - {"email", "role", "name"})
    ]
    if issues:
        raise invalid(issues)
    return str(email).strip().lower(), str(role), name.strip() if isinstance(name, str) else None


@router.post(
    "/invite",
    status_code=201,
    response_model=Invited,
    openapi_extra=body(InviteCreate),
    responses=_INVITE_LINKS,
    dependencies=[require_role("ADMIN")],
)
async def invite_member(
    request: Request, auth: AuthDep, store: StoreDep, clock: ClockDep, settings: SettingsDep
) -> Any:
    """Add a member (ADMIN or VIEWER) and return their one-time ``inviteToken``.

    The token is shown once; the invitee exchanges it at ``POST /api/team/accept``
    for their own API key.
    """
    body = await read_object(request)
    email, role, name = _invite_fields(body)

    already = ApiError(
        409,
        f"{email} is already a member of {auth.org.slug}; to issue a new invitation "
        "remove the member and invite them again",
    )

    async def _create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        try:
            # A savepoint: the same person invited by a concurrent request is a 409, not a 500.
            async with session.begin_nested():
                invited = await invite(
                    session,
                    org_id=auth.org_id,
                    email=email,
                    role=role,
                    name=name,
                    invited_by=auth.key.user_id,
                    now=clock.now(),
                )
        except IntegrityError:
            raise already from None
        if invited is None:
            raise already
        data = {
            **member_json(invited.member, invited.user, pending=True),
            "inviteToken": invited.token,
            "inviteExpiresAt": iso(invited.expires_at),
        }
        return 201, {"data": data, "message": "Team member invited successfully"}

    response = await run_create(
        request, auth, store, clock, _create, secret_fields=("inviteToken",)
    )
    replayed = "idempotent-replayed" in response.headers
    if not settings.invite_email or response.status_code != 201 or replayed:
        return response
    # Sent after the commit, so no transaction waits on the SMTP server.
    body = json.loads(bytes(response.body))
    data = body["data"]
    delivery = await send_invitation(
        delivery_context(settings),
        to=data["email"],
        org_name=auth.org.name,
        token=data["inviteToken"],
        api_url=settings.base_url,
        expires_at=datetime.fromisoformat(data["inviteExpiresAt"].replace("Z", "+00:00")),
    )
    data["inviteEmailed"] = delivery.ok
    if not delivery.ok:
        log.warning("invitation email to %s failed: %s", data["email"], delivery.error)
        data["inviteEmailError"] = delivery.error
    return JSONResponse(body, status_code=201)


@router.post(
    "/accept", status_code=201, response_model=Accepted, openapi_extra=body(InvitationAccept)
)
async def accept_invitation(request: Request, session: SessionDep, clock: ClockDep) -> Any:
    """Public: exchange an invitation token for the invitee's own API key (shown once)."""
    body = await read_object(request)
    token, key_name = body.get("token"), body.get("keyName", "Invitation key")
    issues: list[FieldIssue] = []
    if not isinstance(token, str) or not token.startswith(INVITE_PREFIX):
        issues.append(("token", f"must be the inviteToken ({INVITE_PREFIX}...) you were given"))
    if not isinstance(key_name, str) or not 1 <= len(key_name.strip()) <= 100:
        issues.append(("keyName", "must be 1-100 characters"))
    issues += [(f, "is not an acceptance field") for f in sorted(set(body) - {"token", "keyName"})]
    if issues:
        raise invalid(issues)
    now = clock.now()
    outcome = await accept(session, str(token), now=now)
    if isinstance(outcome, str):
        why = {
            "unknown": "This invitation token is not known",
            "accepted": "This invitation was already accepted",
            "expired": "This invitation expired",
        }[outcome]
        raise ApiError(
            404,
            f"{why}; ask an owner or admin of the organization to invite you again",
            code="invitation_not_found",
        )
    row, plaintext = await create_key(
        session,
        org_id=outcome.org.id,
        user_id=outcome.user.id,
        name=str(key_name).strip(),
        now=now,
    )
    return {
        "data": {
            "member": member_json(outcome.member, outcome.user),
            "organization": org_json(outcome.org),
            "apiKey": key_json(row, plaintext=plaintext),
        },
        "message": "Invitation accepted; store the API key now, it is shown only once",
    }


@router.delete("/{member_id}", response_model=Message, dependencies=[require_role("ADMIN")])
async def remove(
    member_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Remove a member and revoke their keys in this organization at once.

    Nobody removes the organization's owner, nor themselves.
    """
    found = await get_member(session, auth.org_id, member_id)
    if found is None:
        raise not_found("member", label="Team member")
    member, _user = found
    if member.role == "OWNER":
        raise ApiError(403, "The organization's owner cannot be removed")
    if member.user_id == auth.key.user_id:
        raise ApiError(
            403, "You cannot remove yourself; ask another owner or admin of the organization"
        )
    await remove_member(session, member, now=clock.now())
    return {"message": "Team member removed successfully"}
