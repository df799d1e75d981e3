"""an integer monitor key in check_results (monitors.num); covering daily rollup indexes

Revision ID: 0016
Revises: 0015

Every raw result stored the monitor's 20-character id, in the row and in the
(monitor, time) index: about 40 of a row's 212 bytes. ``monitors.num`` is a small
integer the store assigns on insert (an identity on PostgreSQL; a trigger and a
never-reused counter on SQLite), and ``check_results.monitor_num`` refers to it.

Every row is kept: PostgreSQL's day partitions are rebuilt (same bounds) and filled
from the old table, SQLite's table is recreated; both count the rows before the old
table goes, and refuse to finish if one is missing.

On PostgreSQL the daily rollups' two indexes also carry the columns the uptime and
the dashboard read (INCLUDE), so those reads touch index pages only: a day's rows lie
in the order monitors first checked that day, one heap page per monitor and day.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# On SQLite a monitor inserted without a num gets the next one from monitor_nums
# (AUTOINCREMENT: a deleted monitor's number is never handed out again). A later
# migration that recreates ``monitors`` (batch mode) must create this trigger again;
# tests/store/test_monitor_num.py fails if it is gone.
SQLITE_TRIGGER = """
CREATE TRIGGER monitors_assign_num AFTER INSERT ON monitors
FOR EACH ROW WHEN NEW.num IS NULL
BEGIN
    INSERT INTO monitor_nums (num) VALUES (NULL);
    UPDATE monitors SET num = last_insert_rowid() WHERE rowid = NEW.rowid;
    DELETE FROM monitor_nums;
END
"""

# The fixed-width columns first, the key among them (no alignment padding).
PG_COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('check_results_id_seq'),
    checked_at timestamptz NOT NULL,
    response_time_ms integer,
    status_code integer,
    dns_ms real, tcp_ms real, tls_ms real, ttfb_ms real, download_ms real, total_ms real,
    size_bytes integer,
    lateness_ms integer,
    {key},
    region varchar(64) NOT NULL,
    status varchar(16) NOT NULL,
    error text,
    details jsonb
"""
# What uptime_days reads by (monitor, day), and checks_since by day.
UPTIME_COLUMNS = "checks, up, degraded, down, maintenance, hours_mask, total_sum, total_count"
DASHBOARD_COLUMNS = "monitor_id, checks, up, degraded"


def _daily_indexes(*, covering: bool) -> None:
    uptime = f" INCLUDE ({UPTIME_COLUMNS})" if covering else ""
    dashboard = f" INCLUDE ({DASHBOARD_COLUMNS})" if covering else ""
    op.execute("ALTER TABLE check_rollups_daily DROP CONSTRAINT pk_check_rollups_daily")
    op.execute(
        "ALTER TABLE check_rollups_daily ADD CONSTRAINT pk_check_rollups_daily "
        f"PRIMARY KEY (monitor_id, region, bucket_at){uptime}"
    )
    op.execute("DROP INDEX ix_check_rollups_daily_bucket_at")
    op.execute(
        "CREATE INDEX ix_check_rollups_daily_bucket_at "
        f"ON check_rollups_daily (bucket_at){dashboard}"
    )


KEPT = (
    "id, checked_at, response_time_ms, status_code, dns_ms, tcp_ms, tls_ms, ttfb_ms, "
    "download_ms, total_ms, size_bytes, lateness_ms, region, status, error, details"
)


def _count(table: str) -> int:
    return int(op.get_bind().execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _check(moved: int, kept: int) -> None:
    if moved != kept:
        raise RuntimeError(f"moved {moved} of {kept} check results; nothing was changed")


def _rebuild_pg(*, key: str, key_column: str, select_key: str, join: str) -> None:
    """Rebuild the partitioned ``check_results`` with another monitor column, every
    partition with the same bounds, every row kept (in one transaction)."""
    bind = op.get_bind()
    parts = bind.execute(
        sa.text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'check_results'::regclass ORDER BY c.relname"
        )
    ).all()
    op.execute("ALTER TABLE check_results RENAME TO check_results_old")
    for name, _ in parts:
        op.execute(f"ALTER TABLE {name} RENAME TO {name.replace('check_results', 'cr_old', 1)}")
    op.execute("ALTER SEQUENCE check_results_id_seq OWNED BY NONE")
    op.execute(
        f"CREATE TABLE check_results ({PG_COLUMNS.format(key=key)}) PARTITION BY RANGE (checked_at)"
    )
    op.execute("ALTER SEQUENCE check_results_id_seq OWNED BY check_results.id")
    for name, bound in parts:
        op.execute(f"CREATE TABLE {name} PARTITION OF check_results {bound}")
    # Partition by partition, in each one's own order (the order rows were written).
    op.execute(
        f"INSERT INTO check_results ({KEPT}, {key_column}) "
        f"SELECT {', '.join('o.' + c for c in KEPT.split(', '))}, {select_key} "
        f"FROM check_results_old o JOIN monitors m ON {join}"
    )
    _check(_count("check_results"), _count("check_results_old"))
    # The index and the foreign key after the rows: a sorted build, one validating join.
    op.execute(
        f"CREATE INDEX ix_check_results_{key_column}_checked_at "
        f"ON check_results ({key_column}, checked_at)"
    )
    referred = "num" if key_column == "monitor_num" else "id"
    op.execute(
        f"ALTER TABLE check_results ADD CONSTRAINT fk_check_results_{key_column}_monitors "
        f"FOREIGN KEY ({key_column}) REFERENCES monitors ({referred}) ON DELETE CASCADE"
    )
    op.execute("DROP TABLE check_results_old")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Existing monitors are numbered in the same statement.
        op.execute("ALTER TABLE monitors ADD COLUMN num integer GENERATED BY DEFAULT AS IDENTITY")
        op.execute("ALTER TABLE monitors ALTER COLUMN num SET NOT NULL")
        op.create_unique_constraint("uq_monitors_num", "monitors", ["num"])
        _rebuild_pg(
            key="monitor_num integer NOT NULL",
            key_column="monitor_num",
            select_key="m.num",
            join="m.id = o.monitor_id",
        )
        _daily_indexes(covering=True)
        return
    op.add_column("monitors", sa.Column("num", sa.Integer(), nullable=True))
    op.execute("UPDATE monitors SET num = rowid")
    op.create_index("uq_monitors_num", "monitors", ["num"], unique=True)
    op.execute("CREATE TABLE monitor_nums (num INTEGER PRIMARY KEY AUTOINCREMENT)")
    # Start the counter after the numbers just given.
    op.execute(
        "INSERT INTO monitor_nums (num) SELECT max(num) FROM monitors HAVING max(num) IS NOT NULL"
    )
    op.execute("DELETE FROM monitor_nums")
    op.execute(SQLITE_TRIGGER)

    kept = _count("check_results")
    op.add_column("check_results", sa.Column("monitor_num", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE check_results SET monitor_num = "
        "(SELECT num FROM monitors WHERE monitors.id = check_results.monitor_id)"
    )
    op.drop_index("ix_check_results_monitor_id_checked_at", table_name="check_results")
    with op.batch_alter_table("check_results", recreate="always") as batch_op:
        batch_op.drop_constraint("fk_check_results_monitor_id_monitors", type_="foreignkey")
        batch_op.drop_column("monitor_id")
        batch_op.alter_column("monitor_num", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_check_results_monitor_num_monitors",
            "monitors",
            ["monitor_num"],
            ["num"],
            ondelete="CASCADE",
        )
    _check(_count("check_results"), kept)
    op.create_index(
        "ix_check_results_monitor_num_checked_at", "check_results", ["monitor_num", "checked_at"]
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _daily_indexes(covering=False)
        _rebuild_pg(
            key="monitor_id varchar(32) NOT NULL",
            key_column="monitor_id",
            select_key="m.id",
            join="m.num = o.monitor_num",
        )
        op.drop_constraint("uq_monitors_num", "monitors", type_="unique")
        op.drop_column("monitors", "num")
        return
    kept = _count("check_results")
    op.add_column("check_results", sa.Column("monitor_id", sa.String(32), nullable=True))
    op.execute(
        "UPDATE check_results SET monitor_id = "
        "(SELECT id FROM monitors WHERE monitors.num = check_results.monitor_num)"
    )
    op.drop_index("ix_check_results_monitor_num_checked_at", table_name="check_results")
    with op.batch_alter_table("check_results", recreate="always") as batch_op:
        batch_op.drop_constraint("fk_check_results_monitor_num_monitors", type_="foreignkey")
        batch_op.drop_column("monitor_num")
        batch_op.alter_column("monitor_id", existing_type=sa.String(32), nullable=False)
        batch_op.create_foreign_key(
            "fk_check_results_monitor_id_monitors",
            "monitors",
            ["monitor_id"],
            ["id"],
            ondelete="CASCADE",
        )
    _check(_count("check_results"), kept)
    op.create_index(
        "ix_check_results_monitor_id_checked_at", "check_results", ["monitor_id", "checked_at"]
    )
    op.execute("DROP TRIGGER monitors_assign_num")
    op.execute("DROP TABLE monitor_nums")
    op.drop_index("uq_monitors_num", table_name="monitors")
    with op.batch_alter_table("monitors") as batch_op:
        batch_op.drop_column("num")
