"""An Atom feed of a page's incidents and maintenance (feedgen)."""

from __future__ import annotations

from feedgen.feed import FeedGenerator

from pages.render import when
from pages.view import PageView
from pages.xml_text import xml_text


def atom(view: PageView, *, url: str) -> bytes:
    """Incidents (active and of the last 14 days) and maintenance, newest first."""
    feed = FeedGenerator()
    feed.id(f"{url}#feed")
    feed.title(xml_text(f"{view.page.name} status"))
    feed.link(href=url, rel="alternate")
    feed.link(href=f"{url}/feed.atom", rel="self")
    feed.language("en")
    feed.updated(view.generated_at)
    entries = []
    for i in [*view.active_incidents, *view.resolved_incidents]:
        updated = max([i.started_at, *(u.created_at for u in i.updates)])
        if i.resolved_at:
            updated = max(updated, i.resolved_at)
        lines = [f"Started {when(i.started_at)}."]
        if i.resolved_at:
            lines.append(f"Resolved {when(i.resolved_at)}.")
        lines += [f"{u.status.capitalize()} ({when(u.created_at)}): {u.body}" for u in i.updates]
        entries.append((updated, f"{url}#inc-{i.id}", f"[{i.status}] {i.title}", "\n".join(lines)))
    for w in view.maintenance:
        text = f"Maintenance from {when(w.starts_at)} to {when(w.ends_at)}. {w.description or ''}"
        entries.append((w.created_at, f"{url}#mnt-{w.id}", f"[maintenance] {w.title}", text))
    # feedgen lists entries in reverse order of adding them.
    for updated, link, title, text in sorted(entries, key=lambda e: e[0]):
        entry = feed.add_entry()
        entry.id(link)
        entry.title(xml_text(title))
        entry.link(href=link)
        entry.updated(updated)
        entry.content(xml_text(text.strip()), type="text")
    body: bytes = feed.atom_str(pretty=True)
    return body
