"""Uptime by checks and by time on hand-made histories, from the rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from store.db import Store
from store.models import Monitor
from store.rollup_models import HIST_COLUMNS
from store.rollups import DAILY
from store.uptime import UptimeSummary, percent, read_events, uptime_days
from tests.store.history import add_incident, add_window, write_history
from tests.workers.seed import add_monitors

D = datetime(2026, 3, 10, tzinfo=UTC)
DAY = timedelta(days=1)
MIN10 = timedelta(minutes=10)


async def _org(store: Store, monitor_id: str) -> str:
    async with store.sessions() as s:
        org: str = await s.scalar(select(Monitor.org_id).where(Monitor.id == monitor_id))
        return org


async def _days(store: Store, monitor_id: str, since: datetime, until: datetime) -> UptimeSummary:
    async with store.sessions() as s:
        found = await uptime_days(s, [monitor_id], since=since, until=until)
    return UptimeSummary(found[monitor_id])


def test_percent_truncates_and_never_reaches_100_below_full() -> None:
    assert percent(1, 1) == 100.0
    assert percent(525_599, 525_600) == 99.999
    assert percent(2, 3) == 66.666
    assert percent(99_999_999, 100_000_000) == 99.999
    assert percent(0, 5) == 0.0
    assert percent(0, 0) is None


async def test_an_outage_across_midnight_counts_on_both_days_and_once(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=D - DAY)
    outage = (D - timedelta(minutes=30), D + timedelta(minutes=45))
    await write_history(
        store,
        mid,
        start=D - DAY,
        end=D + DAY,
        every=MIN10,
        status_at=lambda at: "DOWN" if outage[0] <= at < outage[1] else "UP",
    )
    await add_incident(store, mid, start=outage[0], end=outage[1])

    period = await _days(store, mid, D - DAY, D + DAY)

    before, after = period.days
    assert (before.date, after.date) == ((D - DAY).date(), D.date())
    assert (before.downtime_s, after.downtime_s) == (1800, 2700)
    assert (before.no_data_s, after.no_data_s, before.maintenance_s) == (0, 0, 0)
    assert before.uptime_by_time == 97.916  # 84,600 / 86,400 s, truncated
    assert after.uptime_by_time == 96.875
    # 23:30, 23:40, 23:50 DOWN; then 00:00 ... 00:40
    assert (before.down, after.down, before.checks) == (3, 5, 144)
    assert before.uptime_by_checks == 97.916
    assert after.uptime_by_checks == 96.527
    assert (before.incidents, after.incidents, period.incidents) == (1, 1, 1)
    assert (before.worst_status, after.worst_status) == ("DOWN", "DOWN")
    assert period.downtime_s == 4500
    assert period.uptime_by_time == percent(2 * 86400 - 4500, 2 * 86400) == 97.395


async def test_maintenance_inside_an_outage_is_not_downtime(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=D)
    outage = (D + timedelta(hours=10), D + timedelta(hours=12))
    await add_window(
        store,
        mid,
        await _org(store, mid),
        start=D + timedelta(hours=10, minutes=30),
        end=D + timedelta(hours=11),
    )
    await write_history(
        store,
        mid,
        start=D,
        end=D + DAY,
        every=MIN10,
        status_at=lambda at: "DOWN" if outage[0] <= at < outage[1] else "UP",
    )
    await add_incident(store, mid, start=outage[0], end=outage[1])

    (day,) = (await _days(store, mid, D, D + DAY)).days

    assert (day.downtime_s, day.maintenance_s, day.no_data_s) == (5400, 1800, 0)
    assert day.observed_s == 86400 - 1800
    assert day.uptime_by_time == 93.617  # 79,200 / 84,600
    assert day.maintenance_checks == 3  # 10:30, 10:40, 10:50
    assert day.uptime_by_checks == percent(144 - 12, 144)


async def test_a_monitor_created_mid_period_has_no_data_before(store: Store) -> None:
    # Mid-hour: the hours mask says 12:00-13:00 had a check; 12:00-12:30 is still no data.
    born = D + timedelta(hours=12, minutes=30)
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=born)
    await write_history(store, mid, start=born, end=D + DAY, every=MIN10)

    period = await _days(store, mid, D - 6 * DAY, D + DAY)

    assert [d.worst_status for d in period.days] == ["NO_DATA"] * 6 + ["UP"]
    assert [d.uptime_by_time for d in period.days] == [None] * 6 + [100.0]
    assert period.days[-1].no_data_s == 45000
    assert period.no_data_s == 6 * 86400 + 45000
    assert period.uptime_by_time == 100.0
    assert period.uptime_by_checks == 100.0


async def test_a_paused_week_is_no_data_even_inside_an_open_incident(store: Store) -> None:
    start = D - 20 * DAY
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=start)
    pause = (D - 13 * DAY, D - 6 * DAY)
    # Down from an hour before the pause until an hour after it.
    outage = (pause[0] - timedelta(hours=1), pause[1] + timedelta(hours=1))

    def status(at: datetime) -> str:
        return "DOWN" if outage[0] <= at < outage[1] else "UP"

    half = timedelta(minutes=30)
    await write_history(store, mid, start=start, end=pause[0], every=half, status_at=status)
    await write_history(store, mid, start=pause[1], end=D + DAY, every=half, status_at=status)
    await add_incident(store, mid, start=outage[0], end=outage[1])

    period = await _days(store, mid, start, D + DAY)

    assert period.no_data_s == 7 * 86400
    assert period.downtime_s == 7200
    assert period.observed_s == 14 * 86400
    assert period.uptime_by_time == 99.404  # 1 - 7,200 / 1,209,600
    paused = [d for d in period.days if pause[0].date() <= d.date < pause[1].date()]
    assert [d.worst_status for d in paused] == ["NO_DATA"] * 7
    assert period.incidents == 1


async def test_one_failure_in_a_year_reads_99_999_not_100(store: Store) -> None:
    first = D - 364 * DAY
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=first)
    rows = []
    for n in range(365):
        failed = n == 200
        rows.append(
            {
                "monitor_id": mid,
                "region": "local",
                "bucket_at": first + n * DAY,
                "checks": 1440,
                "up": 1440 - failed,
                "down": int(failed),
                "hours_mask": 0xFFFFFF,
                **dict.fromkeys(HIST_COLUMNS, 0),
            }
        )
    async with store.transaction() as s:
        await s.execute(insert(DAILY), rows)
    await add_incident(
        store, mid, start=first + 200 * DAY, end=first + 200 * DAY + timedelta(minutes=1)
    )

    year = await _days(store, mid, first, D + DAY)

    assert len(year.days) == 365
    assert year.checks == 525_600
    assert year.uptime_by_checks == 99.999
    assert year.uptime_by_time == 99.999
    assert year.downtime_s == 60
    assert year.incidents == 1


async def test_events_read_over_a_wider_span_give_the_same_days(store: Store) -> None:
    # A status page passes the incidents and maintenance it read for itself (from the
    # first bar's day to now, upcoming windows too): they must count as if read for
    # the span asked.
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=D - 3 * DAY)
    org = await _org(store, mid)
    await write_history(store, mid, start=D - 3 * DAY, end=D + DAY, every=MIN10)
    await add_incident(store, mid, start=D - 2 * DAY - MIN10, end=D - 2 * DAY + MIN10)
    await add_incident(store, mid, start=D + timedelta(hours=1), end=D + timedelta(hours=2))
    await add_incident(store, mid, start=D + timedelta(hours=20), end=None)  # after `until`
    await add_window(store, mid, org, start=D - 2 * DAY - DAY, end=D - 2 * DAY + MIN10)
    await add_window(store, mid, org, start=D + timedelta(hours=19), end=D + timedelta(hours=22))
    # From mid-day: the first incident and window ended before it.
    since, until = D - 2 * DAY + timedelta(hours=6), D + timedelta(hours=12)

    async with store.sessions() as s:
        read = await uptime_days(s, [mid], since=since, until=until)
        wide = await read_events(s, [mid], since=since - 5 * DAY, until=until + 5 * DAY)
        passed = await uptime_days(s, [mid], since=since, until=until, events=wide)

    assert len(wide.incidents) == 3 and len(wide.windows[mid]) == 2
    assert passed == read
    assert [(d.downtime_s, d.incidents, d.maintenance_s) for d in read[mid]] == [
        (0.0, 0, 0.0),
        (0.0, 0, 0.0),
        (3600.0, 1, 0.0),
    ]


async def test_up_to_now_today_reads_its_daily_row_with_the_same_figures(store: Store) -> None:
    # Up to the present no check is newer: today's daily row is today so far.
    now = D + timedelta(hours=13, minutes=5)
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=D - DAY)
    outage = (D + timedelta(hours=12), D + timedelta(hours=12, minutes=40))
    await write_history(
        store,
        mid,
        start=D - DAY,
        end=now,
        every=MIN10,
        status_at=lambda at: "DOWN" if outage[0] <= at < outage[1] else "UP",
    )
    await add_incident(store, mid, start=outage[0], end=outage[1])

    async with store.sessions() as s:
        hourly = await uptime_days(s, [mid], since=D - DAY, until=now)
        daily = await uptime_days(s, [mid], since=D - DAY, until=now, to_now=True)

    assert daily == hourly
    today = daily[mid][-1]
    assert (today.checks, today.down, today.downtime_s) == (79, 4, 2400.0)
    assert today.no_data_s == 0 and today.span_s == 13 * 3600 + 300
