"""An incident with the updates a person wrote about it."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import In, Out, Timestamp
from api.schemas.monitors import Incident
from store.status_page_models import UpdateStatus

UPDATE_BODY_MAX = 10_000


class IncidentUpdateCreate(In):
    status: UpdateStatus = Field(examples=["identified"])
    body: str = Field(
        min_length=1,
        max_length=UPDATE_BODY_MAX,
        description="Markdown; what is known (blank is refused)",
        examples=["The database failover is complete; error rates are falling."],
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{"status": "identified", "body": "A bad deploy; rolling back now."}]
        }
    }


class IncidentUpdate(Out):
    id: str = Field(examples=["iu_001"])
    incidentId: str
    status: UpdateStatus
    body: str = Field(description="Markdown as written")
    html: str = Field(description="The body rendered to safe HTML")
    createdAt: Timestamp | None


class IncidentWithUpdates(Incident):
    updates: list[IncidentUpdate] = Field(description="Oldest first")
