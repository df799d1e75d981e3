"""HTML of status pages and the start page, from Jinja2 templates in ``templates/``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pages import markdown
from pages.bars import bars_html
from pages.svg import sparkline
from pages.view import STATUS_TEXT, ComponentView, DayBar, PageView
from store.status_page_models import StatusPage

# Status is told by text and a glyph as well as by colour.
ICONS = {
    "operational": "✓",
    "degraded": "!",
    "partial_outage": "✕",
    "major_outage": "✕",
    "maintenance": "⚙",
}
STALE_MARK = "<!--stale-->"


# Formatted by hand, not by strftime: a big page writes ~2,000 of these, and
# strftime cost 4 times as much.
def when(value: datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {hm(value)} UTC"


def hm(value: datetime) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def duration_text(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{round(seconds)} s"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def pct(value: float | None) -> str:
    return "no data" if value is None else f"{value:.2f} %"


def day_text(bar: DayBar) -> str:
    """What a day's bar means, in words (its colour alone must not tell it)."""
    if bar.level == "nodata":
        return "no data"
    parts = [f"{duration_text(bar.downtime_s)} down" if bar.downtime_s else "no downtime"]
    if bar.maintenance:
        parts.append("maintenance")
    if bar.incidents:
        parts.append(f"{len(bar.incidents)} incident{'s' if len(bar.incidents) > 1 else ''}")
    return ", ".join(parts)


def _spark(component: ComponentView) -> Markup:
    label = f"{component.name}: response time, daily average over {len(component.bars)} days"
    return Markup(sparkline(component.response_ms, width=300, height=40, label=label))


_ENV = Environment(
    loader=PackageLoader("pages", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=False,
)
_ENV.globals.update(
    when=when,
    hm=hm,
    duration=lambda a, b: duration_text((b - a).total_seconds()),
    pct=pct,
    day_text=day_text,
    icon=lambda s: ICONS.get(s, ""),
    status_text=lambda s: STATUS_TEXT.get(s, s),
    markdown=markdown.render,
    spark=_spark,
)


def load_templates() -> None:
    """Compile every template now (a server's first page otherwise waits ~12 ms for it)."""
    for name in _ENV.list_templates(extensions=["html"]):
        _ENV.get_template(name)


def render_page(view: PageView, *, base: str) -> str:
    """The page's HTML; ``base`` is the path its feed and JSON live under."""
    plain: dict[tuple[date, str, float], str] = {}
    return _ENV.get_template("status_page.html").render(
        view=view,
        page=view.page,
        base=base,
        bars_html=lambda bars: bars_html(bars, day_text=day_text, hm=hm, when=when, plain=plain),
    )


def mark_stale(html: str, *, age_s: float) -> str:
    """The kept rendering with a notice of its age, for when the store does not answer."""
    notice = (
        '<p class="stale" role="alert">Live status is unavailable right now; this is the '
        f"page as it was {duration_text(age_s)} ago.</p>"
    )
    return html.replace(STALE_MARK, notice, 1)


def render_message(
    page: StatusPage, title: str, text: str, *, action: str | None = None, button: str = ""
) -> str:
    """A short page about a subscription (check your inbox, confirm, unsubscribed)."""
    return _ENV.get_template("message.html").render(
        page=page, title=title, text=text, action=action, button=button
    )


def render_start(pages: Sequence[StatusPage], *, base_url: str) -> str:
    return _ENV.get_template("start.html").render(pages=pages, base_url=base_url)
