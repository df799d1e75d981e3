"""Finding the Chromium browser process and measuring its memory, from /proc (Linux).

Playwright does not expose the browser's pid, so the pool launches Chromium with an
extra, ignored switch carrying a unique marker and looks for the one process whose
command line holds it and is not a child (children carry ``--type=...``).
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def find_browser_pid(marker: str) -> int | None:
    """The pid of the main browser process launched with ``marker`` in its arguments."""
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        decoded = [a.decode(errors="replace") for a in args]
        if marker in decoded and not any(a.startswith("--type=") for a in decoded):
            return int(entry.name)
    return None


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses; fields follow the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree: list[int] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        if pid == root and not (PROC / str(root)).exists():
            return []
        tree.append(pid)
        pending.extend(children.get(pid, ()))
    return tree


def tree_rss_bytes(root: int) -> int:
    """Resident memory summed over ``root`` and its descendants (shared pages count per process)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in process_tree(root):
        try:
            resident = int((PROC / str(pid) / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident * page
    return total
