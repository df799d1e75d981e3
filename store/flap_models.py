"""Per-monitor flapping state: recent state changes and whether alerts are held."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, JSONDoc


class MonitorFlapState(Base):
    """``changes`` holds the ISO times of the state changes still inside the window."""

    __tablename__ = "monitor_flap_states"

    monitor_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    changes: Mapped[list[str]] = mapped_column(JSONDoc)
    # Set while the monitor is FLAPPING (from the change that made it so).
    flapping_since: Mapped[datetime | None] = mapped_column(index=True)
    last_change_at: Mapped[datetime | None]
