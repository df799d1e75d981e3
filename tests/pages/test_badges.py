"""Badges: text, colour thresholds, shields.io's endpoint schema."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pages.badges import badge, response_color, shields, uptime_color

SVG = "{http://www.w3.org/2000/svg}"


def test_badge_draws_label_and_message_with_widths_from_their_length() -> None:
    svg = ET.fromstring(badge("uptime 7d", "99.95%", "green"))

    left, right = svg.findall(f"{SVG}rect")
    # 7 px per character plus 10 px either side.
    assert (left.get("width"), right.get("width")) == (str(9 * 7 + 20), str(6 * 7 + 20))
    assert svg.get("width") == str(83 + 62)
    assert right.get("fill") == "#1a7f37"
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["uptime 7d", "99.95%"]
    assert svg.get("aria-label") == "uptime 7d: 99.95%"


def test_badge_escapes_text() -> None:
    svg = ET.fromstring(badge("<a>", "&", "red"))

    assert [t.text for t in svg.iter(f"{SVG}text")] == ["<a>", "&"]


@pytest.mark.parametrize(
    ("pct", "color"),
    [
        pytest.param(100.0, "green", id="100"),
        pytest.param(99.9, "green", id="99.9"),
        pytest.param(99.89, "yellow", id="99.89"),
        pytest.param(99.0, "yellow", id="99.0"),
        pytest.param(98.99, "orange", id="98.99"),
        pytest.param(95.0, "orange", id="95"),
        pytest.param(94.99, "red", id="94.99"),
        pytest.param(None, "grey", id="none"),
    ],
)
def test_uptime_colour_thresholds(pct: float | None, color: str) -> None:
    assert uptime_color(pct) == color


@pytest.mark.parametrize(
    ("ms", "color"),
    [(299.9, "green"), (300.0, "yellow"), (999.0, "yellow"), (1000.0, "red"), (None, "grey")],
)
def test_response_colour_thresholds(ms: float | None, color: str) -> None:
    assert response_color(ms) == color


def test_shields_endpoint_json_follows_schema_version_1() -> None:
    assert shields("status", "down", "red") == {
        "schemaVersion": 1,
        "label": "status",
        "message": "down",
        "color": "red",
    }
