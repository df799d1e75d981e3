"""The plan of an apply: one change per resource, as lines for people and JSON for programs."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "delete", "unchanged"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "unchanged")
# Why a resource the file does not list is left as it is.
NOT_IN_SECTION = "not in the file; prune would delete it"
NO_SECTION = "its section is not in the file"


@dataclass(frozen=True)
class Change:
    """What apply does to one resource; ``fields`` are the changed ones of an update."""

    action: Action
    section: str
    name: str
    fields: tuple[str, ...] = ()
    id: str | None = None
    note: str | None = None

    def line(self, width: int) -> str:
        text = (
            f"{self.action:<9} {self.section:<{width}} {json.dumps(self.name, ensure_ascii=False)}"
        )
        if self.fields:
            text += ": " + ", ".join(self.fields)
        if self.note:
            text += f" ({self.note})"
        return text

    def as_json(self, *, dry_run: bool) -> dict[str, Any]:
        return {
            "action": self.action,
            "section": self.section,
            "name": self.name,
            "fields": list(self.fields),
            # A dry run's new ids were rolled back with the rest.
            "id": None if dry_run and self.action == "create" else self.id,
            "note": self.note,
        }


@dataclass
class Plan:
    """Every change, in section order; within a section as the file lists them."""

    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    prune: bool = False

    def counts(self) -> dict[str, int]:
        found = Counter(c.action for c in self.changes)
        return {a: found.get(a, 0) for a in ACTIONS}

    def summary(self) -> str:
        n = self.counts()
        return (
            f"Plan: {n['create']} to create, {n['update']} to update, "
            f"{n['delete']} to delete, {n['unchanged']} unchanged."
        )

    def lines(self) -> list[str]:
        width = max((len(c.section) for c in self.changes), default=0)
        return [c.line(width) for c in self.changes] + [self.summary()]

    def as_json(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "prune": self.prune,
            "applied": not self.dry_run,
            "summary": self.counts(),
            "changes": [c.as_json(dry_run=self.dry_run) for c in self.changes],
            "lines": self.lines(),
        }
