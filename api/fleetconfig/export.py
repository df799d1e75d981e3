"""Writing an organization's configuration as a document (``vigil export``).

Deterministic: resources sorted by name, mappings by key, no timestamps, and
secrets replaced by references whose names come from the resource and field, so
exporting what an apply of the export made gives the same text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from api.fleetconfig import channels, maintenance, monitors, status_pages
from api.fleetconfig.document import VERSION
from api.fleetconfig.references import Secrets, Variable
from store.channels import list_channels
from store.maintenance import list_windows
from store.models import Organization
from store.monitors import list_monitors
from store.status_pages import components_of, list_pages

HEADER = (
    "# Vigil configuration (vigil export). Format, commands and secret references:\n"
    "# docs/monitors-as-code.md. Apply with: vigil apply vigil.yaml [--dry-run] [--prune]\n"
)


class DuplicateNamesError(Exception):
    """Resources of one kind share a name: a document could not tell them apart."""


@dataclass(frozen=True)
class Exported:
    text: str
    variables: list[Variable]
    counts: dict[str, int]


def _duplicates(section: str, label: str, names: Iterable[tuple[str, str]]) -> list[str]:
    pairs = list(names)
    counted = Counter(n for n, _ in pairs)
    return [
        f"{counted[name]} {label}s are named {name!r} "
        f"({', '.join(i for n, i in pairs if n == name)}); "
        f"{section} are found by their name, so rename all but one through the API"
        for name in sorted(n for n, c in counted.items() if c > 1)
    ]


async def export(session: AsyncSession, org: Organization, *, regions: tuple[str, ...]) -> Exported:
    """The document of ``org``'s alert channels, monitors, maintenance windows and pages."""
    chans = list(await list_channels(session, org.id))
    mons = list(await list_monitors(session, org.id, offset=0, limit=None))
    # which=None: every window, past or not (now only matters to the filters).
    windows = list(await list_windows(session, org.id, which=None, now=org.created_at))
    pages = list(await list_pages(session, org.id))
    problems = (
        _duplicates("alertChannels", "alert channel", ((c.name, c.id) for c in chans))
        + _duplicates("monitors", "monitor", ((m.name, m.id) for m in mons))
        + _duplicates("maintenance", "maintenance window", ((w.title, w.id) for w, _ in windows))
        + _duplicates("statusPages", "status page", ((p.name, p.id) for p in pages))
    )
    if problems:
        raise DuplicateNamesError("; ".join(problems))
    secrets = Secrets()
    ctx = monitors.context(org, regions, frozenset())
    document: dict[str, Any] = {"version": VERSION}
    sections = {
        "alertChannels": channels.export(chans, secrets),
        "monitors": monitors.export(mons, chans, ctx, secrets),
        "maintenance": maintenance.export(windows),
        "statusPages": status_pages.export(
            pages, await components_of(session, [p.id for p in pages])
        ),
    }
    document.update(sections)
    body = yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    return Exported(
        text=HEADER + _variables_comment(secrets.variables) + body,
        variables=secrets.variables,
        counts={k: len(v) for k, v in sections.items()},
    )


def _variables_comment(variables: list[Variable]) -> str:
    if not variables:
        return "# No secrets: applying this file needs no environment variables.\n"
    width = max(len(v.name) for v in variables)
    lines = ["# Secrets are not exported. Set these environment variables before applying:"]
    lines += [f"#   {v.name:<{width}}  {v.where}" for v in variables]
    return "\n".join(lines) + "\n"
