"""SVG badges (flat, shields.io's look) and shields.io's endpoint JSON. Pure functions."""

from __future__ import annotations

from html import escape
from typing import Any

from pages.xml_text import xml_text

COLORS = {
    "green": "#1a7f37",
    "yellow": "#9a6700",
    "orange": "#bc4c00",
    "red": "#cf222e",
    "blue": "#0969da",
    "grey": "#57606a",
}
_CHAR_PX = 7.0
_PAD_PX = 10


def _width(text: str) -> int:
    return int(len(text) * _CHAR_PX + 2 * _PAD_PX)


def badge(label: str, message: str, color: str) -> str:
    """A two-part badge: ``label`` on grey, ``message`` on ``color`` (a name in COLORS)."""
    fill = COLORS.get(color, COLORS["grey"])
    label, message = xml_text(label), xml_text(message)
    left, right = _width(label), _width(message)
    total = left + right
    text = escape(f"{label}: {message}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{text}"><title>{text}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{fill}"/>'
        f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" '
        f'text-anchor="middle">'
        f'<text x="{left / 2:.1f}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2:.1f}" y="14">{escape(message)}</text></g></svg>'
    )


def shields(label: str, message: str, color: str) -> dict[str, Any]:
    """shields.io's endpoint badge JSON (schemaVersion 1)."""
    return {"schemaVersion": 1, "label": label, "message": message, "color": color}


def uptime_color(pct: float | None) -> str:
    if pct is None:
        return "grey"
    if pct >= 99.9:
        return "green"
    if pct >= 99.0:
        return "yellow"
    if pct >= 95.0:
        return "orange"
    return "red"


def response_color(ms: float | None) -> str:
    if ms is None:
        return "grey"
    return "green" if ms < 300 else "yellow" if ms < 1000 else "red"


STATUS_BADGE = {
    "operational": ("operational", "green"),
    "degraded": ("degraded", "yellow"),
    "partial_outage": ("partial outage", "orange"),
    "major_outage": ("down", "red"),
    "maintenance": ("maintenance", "blue"),
}
