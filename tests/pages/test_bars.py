"""The daily bars' HTML: a plain day's text goes out unescaped, so it must need none."""

from __future__ import annotations

from datetime import date

from markupsafe import escape

from pages.bars import bars_html
from pages.render import day_text, hm, when
from pages.view import DayBar


def _bar(level: str, downtime_s: float) -> DayBar:
    return DayBar(date(2026, 3, 1), level, downtime_s, (), ())  # type: ignore[arg-type]


def test_a_plain_days_text_needs_no_escaping_and_is_in_its_title() -> None:
    for level in ("nodata", "ok", "minor", "major", "maintenance"):
        for downtime_s in (0.0, 0.4, 59.0, 61.0, 3600.0, 5400.0, 86_400.0):
            bar = _bar(level, downtime_s)
            said = day_text(bar)
            assert str(escape(said)) == said, said
            html = bars_html([bar], day_text=day_text, hm=hm, when=when)
            assert f'title="2026-03-01: {said}"' in html


def test_plain_days_kept_between_components_keep_each_days_own_level() -> None:
    plain: dict[tuple[date, str, float], str] = {}
    ok, nodata, minor = _bar("ok", 0.0), _bar("nodata", 0.0), _bar("minor", 120.0)

    first = bars_html([ok], day_text=day_text, hm=hm, when=when, plain=plain)
    second = bars_html([nodata, minor, ok], day_text=day_text, hm=hm, when=when, plain=plain)

    assert first.count("lv-ok") == 1
    assert [second.count(f"lv-{level}") for level in ("nodata", "minor", "ok")] == [1, 1, 1]
    assert 'title="2026-03-01: 2 min down"' in second
