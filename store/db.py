"""Engines and sessions. One ``Store`` per process; nothing is created at import time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import psycopg.conninfo
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from store.secrets import SecretBox, attach, load_box


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

    def __init__(
        self, url: str, *, pool_size: int = 20, secret_box: SecretBox | None = None
    ) -> None:
        """``secret_box`` defaults to the key from the environment or the key file."""
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
        self.secrets = secret_box or load_box(url)
        attach(self.engine.dialect, self.secrets)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._raw: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None
        self._raw_lock = asyncio.Lock()

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A plain psycopg connection in autocommit mode, PostgreSQL only.

        For the hottest single statements (heartbeat pings): SQLAlchemy's async
        layer cost several times the statement itself.
        """
        if not self.is_postgres:
            raise RuntimeError("Store.raw() is for PostgreSQL only")
        if self._raw is None:
            async with self._raw_lock:
                if self._raw is None:
                    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
                        _conninfo(self.url),
                        min_size=4,
                        max_size=10,
                        # Wait briefly for a connection: while the server is down a
                        # ping answers 503 at once rather than after 30 s.
                        timeout=5.0,
                        kwargs={"autocommit": True},
                        open=False,
                    )
                    await pool.open()
                    self._raw = pool
        async with self._raw.connection() as conn:
            yield conn

    async def close(self) -> None:
        if self._raw is not None:
            await self._raw.close()
            self._raw = None
        await self.engine.dispose()


def _conninfo(url: str) -> str:
    """A libpq URL for psycopg, keeping query parameters (sslmode, a socket host...)."""
    return (
        make_url(sync_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)
    )
