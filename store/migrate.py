"""Apply Alembic migrations programmatically (``vigil migrate``, ``vigil run``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from store.db import sync_url

HERE = Path(__file__).parent


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the store at ``database_url`` up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)
