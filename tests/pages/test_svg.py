"""The sparkline: points placed by value, gaps kept, labelled with its figures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from pages.svg import sparkline

SVG = "{http://www.w3.org/2000/svg}"


def _points(svg: str) -> list[list[tuple[float, float]]]:
    root = ET.fromstring(svg)
    return [
        [tuple(float(v) for v in p.split(",")) for p in line.get("points", "").split()]  # type: ignore[misc]
        for line in root.iter(f"{SVG}polyline")
    ]


def test_sparkline_scales_to_the_largest_value_with_a_2px_margin() -> None:
    svg = sparkline([50.0, 100.0, 0.0], width=100, height=44, label="RT")

    # x: 0, 50, 100; y: 2 + 40 * (1 - v / 100).
    assert _points(svg) == [[(0.0, 22.0), (50.0, 2.0), (100.0, 42.0)]]


def test_sparkline_breaks_the_line_at_missing_days() -> None:
    svg = sparkline([10.0, 20.0, None, 20.0, 10.0], width=40, height=24, label="RT")

    assert _points(svg) == [[(0.0, 12.0), (10.0, 2.0)], [(30.0, 2.0), (40.0, 12.0)]]


def test_sparkline_says_its_figures_for_screen_readers() -> None:
    svg = sparkline([100.0, None, 300.0], width=30, height=10, label="API")

    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    label = "API: average 200 ms, lowest 100 ms, highest 300 ms"
    assert root.get("aria-label") == label
    assert root.findtext(f"{SVG}title") == label


def test_sparkline_without_data_says_so_and_draws_nothing() -> None:
    svg = sparkline([None, None], width=30, height=10, label="API")

    assert _points(svg) == []
    assert re.search(r'aria-label="API: no data"', svg)


def test_sparkline_escapes_its_label() -> None:
    svg = sparkline([1.0, 2.0], width=30, height=10, label='<b>"x"</b>')

    assert ET.fromstring(svg).findtext(f"{SVG}title", "").startswith('<b>"x"</b>: average')
