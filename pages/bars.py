"""The 90 daily bars of a component, as HTML: a pure function (4,500 bars on a big page).

Written in Python rather than a template macro: it is the page's innermost loop,
and a macro call per bar cost more than the rest of the page together. Every piece
of text goes through ``escape``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from markupsafe import Markup, escape

from pages.view import DayBar

_HALF = 45
# %b of the C locale, without strftime (600 calls on a big page).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def bars_html(
    bars: Sequence[DayBar],
    *,
    day_text: Callable[[DayBar], str],
    hm: Callable[..., str],
    when: Callable[..., str],
    plain: dict[tuple[date, str, float], str] | None = None,
) -> Markup:
    """``<li>`` per day: a labelled bar, or a ``<details>`` listing the day's events.

    ``plain`` keeps the HTML of days without events between calls: a page's
    components share their 90 dates, and most of their days read the same."""
    out: list[str] = []
    known = {} if plain is None else plain
    for n, bar in enumerate(bars, start=1):
        if not (bar.incidents or bar.maintenance):
            # Most bars: a date and day_text's fixed words and figures (nothing to
            # escape: tests/pages/test_bars.py pins that), without escape's Markup per bar.
            key = (bar.day, bar.level, bar.downtime_s)
            html = known.get(key)
            if html is None:
                html = known[key] = (
                    f'<li><span class="bar lv-{bar.level}" role="img"'
                    f' title="{bar.day.isoformat()}: {day_text(bar)}"></span></li>'
                )
            out.append(html)
            continue
        said = day_text(bar)
        level = f"bar lv-{bar.level}"
        text = escape(f"{bar.day.isoformat()}: {said}")
        items = [
            f"<li>{escape(i.title)} ({hm(i.started_at)}"
            + (f"\u2013{hm(i.resolved_at)})" if i.resolved_at else ", ongoing)")
            + "</li>"
            for i in bar.incidents
        ]
        windows = [
            f"<li>Maintenance: {escape(w.title)} ({when(w.starts_at)}\u2013{when(w.ends_at)})</li>"
            for w in bar.maintenance
        ]
        side = "tip-l" if n > _HALF else "tip-r"
        day = f"{bar.day.day:02d} {_MONTHS[bar.day.month - 1]} {bar.day.year}"
        out.append(
            f'<li><details><summary class="{level}"><span class="sr">{text}</span></summary>'
            f'<div class="tip {side}"><strong>{day}</strong>: '
            f"{escape(said)}"
            + (f"<ul>{''.join(items)}</ul>" if items else "")
            + (f"<ul>{''.join(windows)}</ul>" if windows else "")
            + "</div></details></li>"
        )
    return Markup("".join(out))
