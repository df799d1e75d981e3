"""Monitors as code in the store: export/apply round trips, plans, prune, dry runs, errors."""

from __future__ import annotations

import pytest

from api import channel_input, maintenance_input, status_page_input
from api.fleetconfig import channels, maintenance, monitors, status_pages
from api.fleetconfig.document import ConfigError
from api.fleetconfig.export import DuplicateNamesError
from api.monitor_input import COLUMNS, UNSET_DEFAULTS, Context, create_defaults
from store.clock import FrozenClock
from store.db import Store
from store.monitors import create_monitor
from tests.api.conftest import Tenant, make_tenant
from tests.api.fleet_documents import (
    EMPTY,
    FULL,
    SECRETS,
    apply_text,
    export_text,
    snapshot,
)

# The exported references, set to the values FULL was applied with.
EXPORTED_VARIABLES = {
    "VIGIL_CHANNEL_CHAT_WEBHOOK_URL": SECRETS["SLACK_URL"],
    "VIGIL_CHANNEL_OPS_HOOK_SECRET": SECRETS["HOOK_SECRET"],
    "VIGIL_MONITOR_API_HEADER_AUTHORIZATION": "Bearer " + SECRETS["API_TOKEN"],
    "VIGIL_MONITOR_LOGIN_PAGE_URL": (
        f"https://user:{SECRETS['LOGIN_PASSWORD']}@www.example.com/login"
    ),
}
ALL_CREATED = [
    'create    alertChannels "Ops hook"',
    'create    alertChannels "Chat"',
    'create    alertChannels "Email"',
    'create    monitors      "API"',
    'create    monitors      "Login page"',
    'create    monitors      "Nightly backup"',
    'create    maintenance   "Database upgrade"',
    'create    maintenance   "Office move"',
    'create    statusPages   "Acme status"',
    "Plan: 9 to create, 0 to update, 0 to delete, 0 unchanged.",
]


async def test_export_applied_to_an_emptied_org_exports_the_same_text(
    store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    await apply_text(store, tenant.org_id, FULL, clock)
    first = await export_text(store, tenant.org_id)

    emptied = await apply_text(store, tenant.org_id, EMPTY, clock, prune=True)
    assert emptied.counts() == {"create": 0, "update": 0, "delete": 9, "unchanged": 0}
    assert (await snapshot(store))["monitors"] == []
    recreated = await apply_text(store, tenant.org_id, first, clock, variables=EXPORTED_VARIABLES)
    again = await export_text(store, tenant.org_id)

    assert recreated.counts()["create"] == 9
    assert again == first
    for secret in SECRETS.values():
        assert secret not in first
    assert (
        "#   VIGIL_CHANNEL_CHAT_WEBHOOK_URL          alertChannels 'Chat' config.webhookUrl\n"
        "#   VIGIL_CHANNEL_OPS_HOOK_SECRET           alertChannels 'Ops hook' config.secret\n"
        "#   VIGIL_MONITOR_API_HEADER_AUTHORIZATION  monitors 'API' config.headers.Authorization\n"
        "#   VIGIL_MONITOR_LOGIN_PAGE_URL            monitors 'Login page' url\n"
    ) in first
    assert (
        "- name: Ops hook\n"
        "  type: WEBHOOK\n"
        "  config:\n"
        "    secret: ${VIGIL_CHANNEL_OPS_HOOK_SECRET}\n"
        "    url: https://hooks.example.com/vigil\n"
    ) in first
    # A literal "${" stays escaped, so applying the export does not read it as a reference.
    assert "  expectedKeyword: $${not a reference}\n" in first


async def test_second_apply_is_all_unchanged(
    store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    first = await apply_text(store, tenant.org_id, FULL, clock)
    before = await snapshot(store)
    second = await apply_text(store, tenant.org_id, FULL, clock)

    assert first.lines() == ALL_CREATED
    assert second.lines() == [
        line.replace("create   ", "unchanged") for line in ALL_CREATED[:-1]
    ] + ["Plan: 0 to create, 0 to update, 0 to delete, 9 unchanged."]
    assert await snapshot(store) == before


async def test_update_names_the_changed_fields_and_keeps_the_heartbeat_token(
    store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    await apply_text(store, tenant.org_id, FULL, clock)
    before = await snapshot(store)
    edited = (
        FULL.replace("    interval: 60\n", "    interval: 120\n")
        .replace("    config: {grace: 600}\n", "    config: {grace: 900}\n")
        .replace("        displayName: Public API\n", "")
        .replace(
            "    isActive: false\n    config:\n      webhookUrl", "    config:\n      webhookUrl"
        )
    )

    plan = await apply_text(store, tenant.org_id, edited, clock)

    changed = [line for line in plan.lines() if line.startswith("update")]
    assert changed == [
        'update    alertChannels "Chat": isActive',
        'update    monitors      "API": interval',
        'update    monitors      "Nightly backup": config',
        'update    statusPages   "Acme status": components',
    ]
    token = [r for r in before["monitors"] if "'HEARTBEAT'" in r]
    after = [r for r in (await snapshot(store))["monitors"] if "'HEARTBEAT'" in r]
    assert token[0][0] == after[0][0]  # same monitor id
    heartbeat_token = [c for c in token[0] if c.startswith("'hb_")]
    assert heartbeat_token and heartbeat_token[0] in after[0]


async def test_dry_run_plans_the_changes_and_writes_nothing(
    store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    await apply_text(store, tenant.org_id, FULL, clock)
    before = await snapshot(store)
    edited = FULL.replace("    interval: 300\n", "    interval: 600\n").replace(
        "  - name: Email\n    type: EMAIL\n    config:\n      recipients: [ops@example.com]\n",
        "  - name: Pager\n    type: PAGERDUTY\n    config:\n      routingKey: R0123456789abcdef\n",
    )

    dry = await apply_text(store, tenant.org_id, edited, clock, prune=True, dry_run=True)

    assert await snapshot(store) == before
    assert dry.dry_run and dry.as_json()["applied"] is False
    assert [line for line in dry.lines() if not line.startswith("unchanged")] == [
        'create    alertChannels "Pager"',
        'delete    alertChannels "Email"',
        'update    monitors      "Login page": interval',
        "Plan: 1 to create, 1 to update, 1 to delete, 7 unchanged.",
    ]
    real = await apply_text(store, tenant.org_id, edited, clock, prune=True)
    assert real.lines() == dry.lines()
    assert await snapshot(store) != before


async def test_without_prune_nothing_is_deleted_and_prune_deletes_only_what_was_dropped(
    store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    await apply_text(store, tenant.org_id, FULL, clock)
    before = await snapshot(store)
    # Drops the channel "Email" and the monitor "Login page"; leaves the maintenance
    # section out altogether (its windows are not managed by this file).
    start = FULL.index("  - name: Login page")
    dropped = FULL[:start] + FULL[FULL.index("  - name: Nightly backup") :]
    dropped = dropped.replace(
        "  - name: Email\n    type: EMAIL\n    config:\n      recipients: [ops@example.com]\n", ""
    )
    dropped = dropped[: dropped.index("maintenance:")] + dropped[dropped.index("statusPages:") :]

    kept = await apply_text(store, tenant.org_id, dropped, clock)

    assert await snapshot(store) == before
    assert [line for line in kept.lines() if "(" in line] == [
        'unchanged alertChannels "Email" (not in the file; prune would delete it)',
        'unchanged monitors      "Login page" (not in the file; prune would delete it)',
        'unchanged maintenance   "Database upgrade" (its section is not in the file)',
        'unchanged maintenance   "Office move" (its section is not in the file)',
    ]

    pruned = await apply_text(store, tenant.org_id, dropped, clock, prune=True)

    assert [line for line in pruned.lines() if not line.startswith("unchanged")] == [
        'delete    alertChannels "Email"',
        'delete    monitors      "Login page"',
        "Plan: 0 to create, 0 to update, 2 to delete, 7 unchanged.",
    ]
    after = await snapshot(store)
    assert len(after["alert_channels"]) == len(before["alert_channels"]) - 1
    assert len(after["monitors"]) == len(before["monitors"]) - 1
    assert after["maintenance_windows"] == before["maintenance_windows"]
    assert after["status_pages"] == before["status_pages"]


# Each document starts with a valid channel, which would be created were apply not atomic.
VALID = "alertChannels:\n  - {name: Mail, type: EMAIL, config: {recipients: [a@example.com]}}\n"
BAD = {
    "syntax": (
        VALID + "monitors:\n  - name: A\n    type: HTTP\n   url: x\n",
        [
            "vigil.yaml:6: is not valid YAML: "
            "expected <block end>, but found '<block mapping start>'"
        ],
    ),
    "unknown-field": (
        VALID + "monitors:\n  - name: A\n    type: HTTP\n    url: https://a.example\n"
        "    intervall: 60\n",
        ["vigil.yaml:7: monitors[0].intervall: is not a monitor field"],
    ),
    "wrong-type": (
        VALID + "monitors:\n  - name: A\n    type: HTTP\n    url: https://a.example\n"
        "    interval: sixty\n",
        ["vigil.yaml:7: monitors[0].interval: must be a whole number between 15 and 3600"],
    ),
    "invalid-values": (
        VALID + "  - name: Hook\n    type: WEBHOOK\n    config: {url: https://h.example}\n"
        "monitors:\n  - name: A\n    type: HTTP\n    url: https://a.example\n    interval: 10\n",
        [
            "vigil.yaml:5: alertChannels[1].config.secret: "
            "is required: the shared secret that signs each request",
            "vigil.yaml:10: monitors[0].interval: "
            "must be between 15 and 3600 on the ENTERPRISE plan",
        ],
    ),
    "duplicate-name": (
        VALID + "monitors:\n  - name: A\n    type: PING\n    url: a.example\n"
        "  - name: A\n    type: PING\n    url: b.example\n",
        [
            "vigil.yaml:7: monitors[1].name: duplicates monitors[0] (line 4): monitors are found "
            "by their name, so each name must be unique within monitors"
        ],
    ),
    "missing-variable": (
        VALID + "  - name: Hook\n    type: WEBHOOK\n    config:\n"
        "      url: https://h.example\n      secret: ${NOT_SET_ANYWHERE}\n",
        [
            "vigil.yaml:7: alertChannels[1].config.secret: refers to the environment variable "
            "NOT_SET_ANYWHERE, which is not set; set it, or write the value in place"
        ],
    ),
    "unknown-reference": (
        VALID + "maintenance:\n  - title: W\n    monitor: Nope\n"
        "    startsAt: 2026-06-20T02:00:00Z\n    endsAt: 2026-06-20T04:00:00Z\n",
        ["vigil.yaml:5: maintenance[0].monitor: names no monitor 'Nope': add it to monitors first"],
    ),
    "empty-section": (
        VALID + "monitors:\n",
        ["vigil.yaml:3: monitors: must be a list (for none: monitors: [])"],
    ),
    "unstorable-text": (
        VALID + 'monitors:\n  - {name: "A\\0", type: PING, url: a.example}\n  - {"B\\ud800": 1}\n',
        [
            "vigil.yaml:4: monitors[0].name: must not contain NUL (\\u0000) characters",
            "vigil.yaml:5: monitors[1]: has a key that must not contain lone UTF-16 surrogates "
            "(invalid Unicode)",
        ],
    ),
    "window-order": (
        VALID + "maintenance:\n  - title: W\n"
        "    startsAt: 2026-06-20T02:00:00Z\n    endsAt: 2026-06-20T01:00:00Z\n",
        ["vigil.yaml:6: maintenance[0].endsAt: must be after startsAt (2026-06-20T02:00:00.000Z)"],
    ),
}


async def test_invalid_documents_give_located_errors_and_write_nothing(
    store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    # One store for the whole table: each case would cost a store of its own otherwise.
    before = await snapshot(store)
    found = {}
    for case, (text, _) in BAD.items():
        with pytest.raises(ConfigError) as raised:
            await apply_text(store, tenant.org_id, text, clock)
        found[case] = raised.value.render("vigil.yaml")

    assert found == {case: expected for case, (_, expected) in BAD.items()}
    assert await snapshot(store) == before


async def test_plan_limits_hold_for_apply(store: Store, clock: FrozenClock) -> None:
    free = await make_tenant(store, clock, "small", plan="FREE")
    pings = "".join(
        f"  - {{name: P{n}, type: PING, url: p{n}.example, interval: 300}}\n" for n in range(6)
    )
    text = (
        "monitors:\n"
        + pings
        + "  - {name: B, type: BROWSER, url: https://b.example, interval: 300}\n"
        + "  - {name: Fast, type: PING, url: f.example, interval: 60}\n"
        + "statusPages:\n  - {name: S, slug: small-s, hideBranding: true}\n"
    )

    with pytest.raises(ConfigError) as raised:
        await apply_text(store, free.org_id, text, clock)

    assert raised.value.render("vigil.yaml") == [
        "vigil.yaml:7: monitors[5]: Plan limit reached: the FREE plan allows 5 monitors; "
        "delete a monitor or upgrade the plan",
        "vigil.yaml:8: monitors[6].type: BROWSER monitors need the BUSINESS or ENTERPRISE plan; "
        "this organization is on FREE",
        "vigil.yaml:9: monitors[7].interval: must be between 300 and 3600 on the FREE plan",
        "vigil.yaml:11: statusPages[0].hideBranding: hideBranding need the BUSINESS or "
        "ENTERPRISE plan; this organization is on FREE: upgrade, or leave hideBranding out",
    ]
    assert (await snapshot(store))["monitors"] == []


async def test_a_slug_another_organization_holds_is_a_located_error(
    store: Store, clock: FrozenClock, tenant: Tenant, other_tenant: Tenant
) -> None:
    await apply_text(store, tenant.org_id, FULL, clock)
    theirs = await export_text(store, tenant.org_id)
    variables = {name: "x" * 20 for name in EXPORTED_VARIABLES}
    variables["VIGIL_CHANNEL_CHAT_WEBHOOK_URL"] = "https://hooks.slack.com/services/a/b/c"
    variables["VIGIL_MONITOR_LOGIN_PAGE_URL"] = "https://www.example.com/"

    with pytest.raises(ConfigError) as raised:
        await apply_text(store, other_tenant.org_id, theirs, clock, variables=variables)

    [problem] = raised.value.render("vigil.yaml")
    assert problem.endswith(
        "statusPages[0].slug: The slug 'acme-status' is taken by another status page; "
        "choose another"
    )


def test_each_section_knows_every_field_the_api_takes() -> None:
    """A field added to the API must be added to the document too (with its default)."""
    ctx = Context(plan="FREE", known_regions=("local",), channel_ids=frozenset())
    left_out = set(UNSET_DEFAULTS) | set(create_defaults(ctx, "HTTP"))

    assert set(COLUMNS) - {"name", "type"} == left_out
    assert set(COLUMNS) == monitors.FIELDS
    assert channel_input.CREATE_FIELDS - {"enabled"} == channels.FIELDS
    assert maintenance_input.FIELDS - {"monitorId"} | {"monitor"} == maintenance.FIELDS
    assert status_page_input.FIELDS - {"monitors"} == status_pages.FIELDS
    assert set(status_pages.DEFAULTS) == set(status_pages.COLUMNS) - {"name", "slug"}


async def test_names_the_organization_shares_refuse_export_and_are_located_on_apply(
    store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    twice = "monitors:\n  - {name: Twin, type: PING, url: a.example}\n"
    await apply_text(store, tenant.org_id, twice, clock)
    # The API allows two monitors of one name (POST /api/monitors makes this row too).
    async with store.transaction() as session:
        await create_monitor(
            session,
            tenant.org_id,
            {"name": "Twin", "url": "b.example", "type": "PING", "interval_s": 60, "timeout_s": 5}
            | {"regions": ["us-east-1"], "config": {}},
            now=clock.now(),
        )

    with pytest.raises(DuplicateNamesError) as refused:
        await export_text(store, tenant.org_id)
    with pytest.raises(ConfigError) as raised:
        await apply_text(store, tenant.org_id, twice, clock)

    assert str(refused.value).startswith("2 monitors are named 'Twin' (mon_")
    assert str(refused.value).endswith(
        "monitors are found by their name, so rename all but one through the API"
    )
    [problem] = raised.value.render("vigil.yaml")
    assert problem.startswith("vigil.yaml:2: monitors[0].name: matches 2 monitors of the org")
