"""read side: rollup tables, compact results, results partitioned by day (PostgreSQL)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS = ("check_rollups_hourly", "check_rollups_daily")
PHASES = ("dns", "tcp", "tls", "ttfb", "download", "total")
HIST_BUCKETS = 52


def _rollup_columns() -> list[sa.Column[object]]:
    counter = {"nullable": False, "server_default": "0"}
    cols: list[sa.Column[object]] = [
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("bucket_at", store.base.UTCDateTime(timezone=True), nullable=False),
    ]
    for name in ("checks", "up", "degraded", "down", "maintenance", "hours_mask"):
        cols.append(sa.Column(name, sa.Integer(), **counter))  # type: ignore[arg-type]
    for phase in PHASES:
        cols.append(sa.Column(f"{phase}_sum", sa.Float(), **counter))  # type: ignore[arg-type]
        cols.append(sa.Column(f"{phase}_count", sa.Integer(), **counter))  # type: ignore[arg-type]
    cols.append(sa.Column("size_sum", sa.BigInteger(), **counter))  # type: ignore[arg-type]
    cols.append(sa.Column("size_count", sa.Integer(), **counter))  # type: ignore[arg-type]
    cols.append(sa.Column("total_min", sa.Float(), nullable=True))
    cols.append(sa.Column("total_max", sa.Float(), nullable=True))
    for k in range(HIST_BUCKETS):
        cols.append(sa.Column(f"h{k:02d}", sa.Integer(), **counter))  # type: ignore[arg-type]
    return cols


def upgrade() -> None:
    for table in ROLLUPS:
        op.create_table(
            table,
            *_rollup_columns(),
            sa.ForeignKeyConstraint(
                ["monitor_id"],
                ["monitors.id"],
                name=op.f(f"fk_{table}_monitor_id_monitors"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("monitor_id", "region", "bucket_at", name=op.f(f"pk_{table}")),
        )
        op.create_index(op.f(f"ix_{table}_bucket_at"), table, ["bucket_at"])
    if op.get_bind().dialect.name == "postgresql":
        _partition_results()
        return
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        # Compact rows: a plain UP result keeps its lateness here and no JSON.
        batch_op.add_column(sa.Column("lateness_ms", sa.Integer(), nullable=True))


# 4-byte floats for the phases (a check's timing is not known to 7 digits), the
# fixed-width columns first (no alignment padding), no primary key index: rows are
# found by (monitor_id, checked_at); a PostgreSQL partitioned table cannot have a
# primary key without its partition column anyway.
COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('check_results_id_seq'),
    checked_at timestamptz NOT NULL,
    response_time_ms integer,
    status_code integer,
    dns_ms real, tcp_ms real, tls_ms real, ttfb_ms real, download_ms real, total_ms real,
    size_bytes integer,
    lateness_ms integer,
    monitor_id varchar(32) NOT NULL,
    region varchar(64) NOT NULL,
    status varchar(16) NOT NULL,
    error text,
    details jsonb
"""
COPIED = (
    "id, checked_at, response_time_ms, status_code, dns_ms, tcp_ms, tls_ms, ttfb_ms, "
    "download_ms, total_ms, size_bytes, monitor_id, region, status, error"
)
AHEAD_DAYS = 3


def _partition_results() -> None:
    """Move ``check_results`` into a table partitioned by UTC day, keeping every row."""
    bind = op.get_bind()
    op.execute("ALTER TABLE check_results RENAME TO check_results_old")
    op.execute("ALTER INDEX ix_check_results_monitor_id_checked_at RENAME TO ix_cr_old")
    op.execute("ALTER TABLE check_results_old RENAME CONSTRAINT pk_check_results TO pk_cr_old")
    op.execute(
        "ALTER TABLE check_results_old "
        "RENAME CONSTRAINT fk_check_results_monitor_id_monitors TO fk_cr_old"
    )
    op.execute("ALTER SEQUENCE check_results_id_seq OWNED BY NONE")
    op.execute(
        f"CREATE TABLE check_results ({COLUMNS}, "
        "CONSTRAINT fk_check_results_monitor_id_monitors FOREIGN KEY (monitor_id) "
        "REFERENCES monitors (id) ON DELETE CASCADE) PARTITION BY RANGE (checked_at)"
    )
    op.execute("ALTER SEQUENCE check_results_id_seq OWNED BY check_results.id")
    op.execute(
        "CREATE INDEX ix_check_results_monitor_id_checked_at "
        "ON check_results (monitor_id, checked_at)"
    )
    op.execute("CREATE TABLE check_results_default PARTITION OF check_results DEFAULT")
    first, last = bind.execute(
        sa.text(
            "SELECT min(checked_at AT TIME ZONE 'UTC')::date, "
            "greatest(max(checked_at AT TIME ZONE 'UTC')::date, "
            "(now() AT TIME ZONE 'UTC')::date) FROM check_results_old"
        )
    ).one()
    today = bind.execute(sa.text("SELECT (now() AT TIME ZONE 'UTC')::date")).scalar_one()
    day = first or today
    last = (last or today) + timedelta(days=AHEAD_DAYS)
    while day <= last:
        nxt = day + timedelta(days=1)
        op.execute(
            f"CREATE TABLE check_results_p{day:%Y%m%d} PARTITION OF check_results "
            f"FOR VALUES FROM ('{day:%Y-%m-%d} 00:00:00+00') TO ('{nxt:%Y-%m-%d} 00:00:00+00')"
        )
        day = nxt
    # JSON 'null' documents become SQL NULL; the lateness moves out of the details.
    op.execute(
        f"INSERT INTO check_results ({COPIED}, details, lateness_ms) "
        f"SELECT {COPIED}, NULLIF(details, 'null'::jsonb), "
        "round((details ->> 'latenessMs')::numeric)::integer FROM check_results_old "
        "ORDER BY checked_at"
    )
    moved = bind.execute(sa.text("SELECT count(*) FROM check_results")).scalar_one()
    kept = bind.execute(sa.text("SELECT count(*) FROM check_results_old")).scalar_one()
    if moved != kept:
        raise RuntimeError(f"moved {moved} of {kept} check results; nothing was changed")
    op.execute("DROP TABLE check_results_old")


def _unpartition_results() -> None:
    op.execute("ALTER TABLE check_results RENAME TO check_results_parted")
    op.execute("ALTER INDEX ix_check_results_monitor_id_checked_at RENAME TO ix_cr_parted")
    op.execute(
        "ALTER TABLE check_results_parted "
        "RENAME CONSTRAINT fk_check_results_monitor_id_monitors TO fk_cr_parted"
    )
    op.execute("ALTER SEQUENCE check_results_id_seq OWNED BY NONE")
    op.execute(
        "CREATE TABLE check_results ("
        "id bigint NOT NULL DEFAULT nextval('check_results_id_seq'), "
        "monitor_id varchar(32) NOT NULL, region varchar(64) NOT NULL, "
        "status varchar(16) NOT NULL, checked_at timestamptz NOT NULL, "
        "response_time_ms integer, status_code integer, dns_ms double precision, "
        "tcp_ms double precision, tls_ms double precision, ttfb_ms double precision, "
        "download_ms double precision, total_ms double precision, size_bytes integer, "
        "error text, details jsonb, "
        "CONSTRAINT pk_check_results PRIMARY KEY (id), "
        "CONSTRAINT fk_check_results_monitor_id_monitors FOREIGN KEY (monitor_id) "
        "REFERENCES monitors (id) ON DELETE CASCADE)"
    )
    op.execute("ALTER SEQUENCE check_results_id_seq OWNED BY check_results.id")
    op.execute(
        "CREATE INDEX ix_check_results_monitor_id_checked_at "
        "ON check_results (monitor_id, checked_at)"
    )
    op.execute(
        f"INSERT INTO check_results ({COPIED}, details) "
        f"SELECT {COPIED}, details FROM check_results_parted"
    )
    op.execute("DROP TABLE check_results_parted")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition_results()
    else:
        with op.batch_alter_table("check_results", schema=None) as batch_op:
            batch_op.drop_column("lateness_ms")
    for table in ROLLUPS:
        op.drop_table(table)
