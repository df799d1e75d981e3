"""Documents and steps the monitors-as-code tests share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from api.fleetconfig.apply import apply_in_store
from api.fleetconfig.document import parse
from api.fleetconfig.export import export
from api.fleetconfig.plan import Plan
from store.clock import FrozenClock
from store.db import Store
from store.models import (
    AlertChannel,
    AlertOutbox,
    Incident,
    MaintenanceWindow,
    Monitor,
    MonitorSchedule,
    Organization,
)
from store.status_page_models import StatusPage, StatusPageComponent

REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")

# The secrets FULL refers to; none may ever appear in an export.
SECRETS = {
    "HOOK_SECRET": "whsec_hook_0123456789abcdef",
    "SLACK_URL": "https://hooks.slack.com/services/T000/B000/slacksecret123",
    "API_TOKEN": "tok_api_abcdef123456",
    "LOGIN_PASSWORD": "pw-login-98765",
}

FULL = """\
version: 1
alertChannels:
  - name: Ops hook
    type: WEBHOOK
    config:
      url: https://hooks.example.com/vigil
      secret: ${HOOK_SECRET}
  - name: Chat
    type: SLACK
    isActive: false
    config:
      webhookUrl: ${SLACK_URL}
  - name: Email
    type: EMAIL
    config:
      recipients: [ops@example.com]
monitors:
  - name: API
    type: HTTP
    url: https://api.example.com/health
    interval: 60
    regions: [us-east-1, eu-west-1]
    regionQuorum: 2
    expectedStatus: 200
    alertChannels: [Ops hook, Chat]
    config:
      headers:
        Authorization: Bearer ${API_TOKEN}
  - name: Login page
    type: HTTP
    url: https://user:${LOGIN_PASSWORD}@www.example.com/login
    interval: 300
    expectedKeyword: $${not a reference}
    alertChannels: []
  - name: Nightly backup
    type: HEARTBEAT
    interval: 3600
    config: {grace: 600}
maintenance:
  - title: Database upgrade
    monitor: API
    startsAt: 2026-06-20T02:00:00Z
    endsAt: 2026-06-20T04:00:00Z
  - title: Office move
    description: Everything may blink
    startsAt: 2026-07-01T00:00:00Z
    endsAt: 2026-07-01T06:00:00Z
    isActive: false
statusPages:
  - name: Acme status
    slug: acme-status
    description: Our services
    hideBranding: true
    components:
      - monitor: API
        displayName: Public API
        group: Core
        regions: [eu-west-1]
      - monitor: Nightly backup
"""

# Every section, listing nothing: with prune, it empties the organization.
EMPTY = "alertChannels: []\nmonitors: []\nmaintenance: []\nstatusPages: []\n"


async def organization(store: Store, org_id: str) -> Organization:
    async with store.transaction() as session:
        org = await session.get(Organization, org_id)
    assert org is not None
    return org


async def apply_text(
    store: Store,
    org_id: str,
    text: str,
    clock: FrozenClock,
    *,
    variables: Mapping[str, str] = SECRETS,
    prune: bool = False,
    dry_run: bool = False,
) -> Plan:
    doc = parse(text, variables=variables)
    org = await organization(store, org_id)
    return await apply_in_store(
        store, org, doc, regions=REGIONS, prune=prune, dry_run=dry_run, now=clock.now()
    )


async def export_text(store: Store, org_id: str) -> str:
    org = await organization(store, org_id)
    async with store.transaction() as session:
        return (await export(session, org, regions=REGIONS)).text


async def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row apply could touch, as plain tuples, to compare before and after."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with store.transaction() as session:
        for table in (
            Monitor,
            MonitorSchedule,
            AlertChannel,
            MaintenanceWindow,
            StatusPage,
            StatusPageComponent,
            Incident,
            AlertOutbox,
        ):
            columns = list(table.__table__.columns)
            rows = (await session.execute(select(*columns))).all()
            out[table.__tablename__] = sorted((tuple(map(repr, r)) for r in rows), key=repr)
    return out


def lines_of(plan: Plan) -> list[str]:
    return plan.lines()
