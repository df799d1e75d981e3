"""One apply in progress: the document, the transaction, the problems and the changes found.

The section modules (``channels``, ``monitors``, ...) read their items through
``Run.items`` (fields checked, names unique), report problems where the document
has them (``fail*``: the API validators' ``(field, issue)`` pairs are placed under
the item's path and given its line) and record one ``Change`` per resource.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError, FieldIssue
from api.fleetconfig.document import SECTIONS, Document, Issue
from api.fleetconfig.plan import NO_SECTION, NOT_IN_SECTION, Action, Change
from checks.target_policy import Network
from store.models import Organization

T = TypeVar("T")
_FILE, _DELETED, _LEFT = 0, 1, 2


def same(a: Any, b: Any) -> bool:
    """Equal as JSON: ``1`` is not ``true``, ``60`` is not ``60.5``, key order does not count."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def by_name(rows: Iterable[T], name_of: Callable[[T], str]) -> dict[str, list[T]]:
    """Stored resources grouped by the name a document finds them by."""
    out: dict[str, list[T]] = {}
    for row in rows:
        out.setdefault(name_of(row), []).append(row)
    return out


@dataclass(frozen=True)
class Item:
    """One resource of the document: its fields and where it is (``monitors[2]``)."""

    index: int
    path: str
    name: str
    body: dict[str, Any]

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if name else self.path


@dataclass
class Run:
    session: AsyncSession
    org: Organization
    regions: tuple[str, ...]
    doc: Document
    prune: bool
    now: datetime
    # Networks every organization may reach (VIGIL_ALLOWED_TARGETS).
    allowed: tuple[Network, ...] = ()
    issues: list[Issue] = field(default_factory=list)
    _changes: list[tuple[tuple[int, int, int], Change]] = field(default_factory=list)
    _items: dict[str, dict[str, Item] | None] = field(default_factory=dict)

    # Problems

    def fail(self, path: str, message: str) -> None:
        issue = Issue(path, message, self.doc.line_of(path))
        if issue not in self.issues:
            self.issues.append(issue)

    def fail_fields(
        self, item: Item, issues: Sequence[FieldIssue], rename: Mapping[str, str] | None = None
    ) -> None:
        """The API validators' ``(field, issue)`` pairs, under the item's path.

        ``rename`` maps the API's field names to the document's (``monitorId`` ->
        ``monitor``), for fields the document writes by name instead of by id.
        """
        for name, message in issues:
            head, sep, rest = name.partition(".")
            head = (rename or {}).get(head, head)
            self.fail(item.at(head + sep + rest if name != "body" else ""), message)

    def fail_error(
        self, item: Item, err: ApiError, rename: Mapping[str, str] | None = None
    ) -> None:
        """An ``ApiError`` a shared rule raised (a plan gate, a taken slug), as a problem."""
        if len(err.fields) == 1:
            self.fail_fields(item, [(err.fields[0][0], err.message)], rename)
        elif err.fields:
            self.fail_fields(item, [(f[0], f[1]) for f in err.fields], rename)
        else:
            self.fail(item.path, err.message)

    # Items

    def section(self, section: str) -> list[dict[str, Any]] | None:
        return self.doc.sections.get(section)

    def items(
        self,
        section: str,
        *,
        key: str,
        label: str,
        allowed: frozenset[str],
        strip: bool,
    ) -> dict[str, Item] | None:
        """The section's items by name; None when the document has no such section.

        A field outside ``allowed`` is reported ("is not a monitor field", as the API
        says) and dropped; an item without a name, or with a name an earlier item has,
        is reported and left out, so nothing is applied for it.
        """
        if section in self._items:
            return self._items[section]
        raw = self.section(section)
        if raw is None:
            self._items[section] = None
            return None
        found: dict[str, Item] = {}
        for n, body in enumerate(raw):
            path = f"{section}[{n}]"
            for extra in sorted(set(body) - allowed):
                self.fail(f"{path}.{extra}", f"is not a {label} field")
            body = {k: v for k, v in body.items() if k in allowed}
            name = body.get(key)
            if not isinstance(name, str) or not name.strip():
                issue = "is required" if name is None else "must be a non-empty string"
                self.fail(f"{path}.{key}", f"{issue}: {section} are found by their {key}")
                continue
            name = name.strip() if strip else name
            if name in found:
                first = found[name]
                line = self.doc.line_of(first.at(key))
                self.fail(
                    f"{path}.{key}",
                    f"duplicates {first.path} (line {line}): {section} are found by their "
                    f"{key}, so each {key} must be unique within {section}",
                )
                continue
            found[name] = Item(index=n, path=path, name=name, body=body)
        self._items[section] = found
        return found

    def listed(self, section: str) -> frozenset[str]:
        """The names the document lists in ``section`` (read by ``items`` first)."""
        return frozenset(self._items.get(section) or ())

    def ambiguous(self, item: Item, key: str, ids: Sequence[str], label: str) -> bool:
        """True (and reported) when the organization has several resources of this name."""
        if len(ids) < 2:
            return False
        self.fail(
            item.at(key),
            f"matches {len(ids)} {label}s of the organization ({', '.join(ids)}); the file "
            f"finds {label}s by {key}, so rename all but one through the API first",
        )
        return True

    # Changes

    def record(
        self,
        action: Action,
        section: str,
        name: str,
        *,
        item: Item | None = None,
        fields: Sequence[str] = (),
        id: str | None = None,
        note: str | None = None,
    ) -> None:
        group = _FILE if item is not None else _DELETED if action == "delete" else _LEFT
        order = (SECTIONS.index(section), group, item.index if item is not None else 0)
        change = Change(action, section, name, fields=tuple(fields), id=id, note=note)
        self._changes.append((order, change))

    def record_left(self, section: str, names_ids: Iterable[tuple[str, str]]) -> None:
        """Resources the document does not list, which stay as they are."""
        listed = self._items.get(section)
        note = NO_SECTION if listed is None else NOT_IN_SECTION
        for name, rid in names_ids:
            if listed is None or name not in listed:
                self.record("unchanged", section, name, id=rid, note=note)

    def changes(self) -> list[Change]:
        return [c for _, c in sorted(self._changes, key=lambda oc: oc[0])]
