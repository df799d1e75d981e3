"""Engines and sessions. One ``Store`` per process; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool


def sync_url(url: str) -> str:
    """The URL for synchronous use (Alembic): plain sqlite, psycopg 3 for PostgreSQL."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite").render_as_string(hide_password=False)
    if u.get_backend_name() == "postgresql":
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(
        f"unsupported database URL {u.render_as_string()!r}: "
        "use sqlite:///path or postgresql+psycopg://user@host/db"
    )


def async_url(url: str) -> str:
    """The URL for the async engine: aiosqlite for SQLite, psycopg 3 for PostgreSQL."""
    u = make_url(sync_url(url))
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return u.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the API read while a worker writes; busy_timeout waits out short locks.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    """An async engine and its session factory."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        aurl = async_url(url)
        self.dialect = make_url(aurl).get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["poolclass"] = NullPool if ":memory:" not in aurl else None
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
        else:
            # A fixed pool: overflow connections are closed on return, and under a
            # sustained load that means a new PostgreSQL backend for every request.
            # No pre-ping (a round trip per checkout); a dropped connection is
            # detected on use, and the pool is invalidated then.
            kwargs.update(pool_size=pool_size, max_overflow=0, pool_recycle=1800)
        self.engine: AsyncEngine = create_async_engine(aurl, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # For single statements that are atomic on their own: no BEGIN/COMMIT trips.
        self.autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
