"""Monitors as code: the plan ``POST /api/config/apply`` answers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.common import Out


class PlannedChange(Out):
    action: Literal["create", "update", "delete", "unchanged"]
    section: Literal["alertChannels", "monitors", "maintenance", "statusPages"]
    name: str = Field(description="The name (a window's title) the document finds it by")
    fields: list[str] = Field(description="An update's changed fields")
    id: str | None = Field(description="null for a dry run's creates")
    note: str | None = Field(description="Why a resource the document leaves out stays")


class PlanCounts(Out):
    create: int
    update: int
    delete: int
    unchanged: int


class Plan(Out):
    dryRun: bool
    prune: bool
    applied: bool = Field(description="false for a dry run: nothing was changed")
    summary: PlanCounts
    changes: list[PlannedChange]
    lines: list[str] = Field(description="The plan as vigil apply prints it")
