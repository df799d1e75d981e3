"""``/api/config``: monitors as code through the API (docs/monitors-as-code.md).

``POST /api/config/apply`` takes the document as YAML text, or as the same
document in JSON (JSON is read as YAML, so line numbers hold for both), and
answers the plan. The API resolves no ``${NAME}`` references: it has no business
handing its own environment to a tenant's document, so a reference is a located
400 (``vigil apply`` resolves them from the operator's environment).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.body import MAX_BODY
from api.deps import AuthDep, ClockDep, SessionDep, SettingsDep, StoreDep, require_role
from api.errors import ApiError
from api.fleetconfig.apply import apply_document, apply_in_store
from api.fleetconfig.document import SECTIONS, ConfigError, Document, parse
from api.fleetconfig.export import DuplicateNamesError, export
from api.idempotency import run_create
from api.schemas.common import API_ERRORS, Data
from api.schemas.config import Plan
from checks.target_policy import parse_networks

router = APIRouter(prefix="/api/config", tags=["config"], responses=API_ERRORS)
YAML = "application/yaml"
_ERROR_REF = {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
# The document's outline (its items are checked by the API's own rules, not by schema).
_SECTION = {"type": "array", "items": {"type": "object"}}
_OUTLINE = {
    "type": "object",
    "properties": {
        "version": {"type": "integer", "enum": [1]},
        **{name: _SECTION for name in SECTIONS},
    },
    "additionalProperties": False,
}
_DOCUMENT = {
    "requestBody": {
        "required": True,
        "description": "The document (docs/monitors-as-code.md), as YAML or as JSON",
        "content": {YAML: {"schema": _OUTLINE}, "application/json": {"schema": _OUTLINE}},
    }
}


def located(exc: ConfigError) -> ApiError:
    """400 naming each problem's path and line; the message is the first one."""
    first = exc.issues[0]
    where = f"line {first.line}: " if first.line else ""
    message = f"{where}{first.path} {first.message}" if first.path else where + first.message
    return ApiError(
        400,
        message,
        fields=[(i.path or "body", i.message) for i in exc.issues],
        lines=[i.line for i in exc.issues],
    )


async def _document(request: Request) -> Document:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"Request body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        raise ApiError(
            400,
            "Request body is empty; send the document (YAML, or JSON)",
            fields=[("body", "is empty")],
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400,
            f"Request body is not UTF-8 text ({exc.reason} at byte {exc.start})",
            fields=[("body", "must be UTF-8 text")],
        ) from None
    try:
        return parse(text, variables=None)
    except ConfigError as exc:
        raise located(exc) from None


@router.post(
    "/apply",
    response_model=Data[Plan],
    openapi_extra=_DOCUMENT,
    dependencies=[require_role("ADMIN")],
)
async def apply(
    request: Request,
    auth: AuthDep,
    store: StoreDep,
    clock: ClockDep,
    settings: SettingsDep,
    dry_run: Annotated[
        bool, Query(alias="dryRun", description="Answer the plan, change nothing")
    ] = False,
    prune: Annotated[
        bool, Query(description="Delete what a section of the document does not list")
    ] = False,
) -> Any:
    """Make the organization match the document, in one transaction; answer the plan.

    A document with any problem applies nothing: 400 with every problem in
    ``fields`` (``monitors[2].interval``), each with its ``line``. Accepts
    ``Idempotency-Key`` (not on dry runs, which write nothing to replay).
    """
    doc = await _document(request)
    regions = tuple(settings.regions)
    allowed = parse_networks(settings.allowed_targets_csv)
    if dry_run:
        try:
            plan = await apply_in_store(
                store,
                auth.org,
                doc,
                regions=regions,
                prune=prune,
                dry_run=True,
                now=clock.now(),
                allowed=allowed,
            )
        except ConfigError as exc:
            raise located(exc) from None
        return {"data": plan.as_json()}

    async def _apply(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        try:
            plan = await apply_document(
                session,
                auth.org,
                doc,
                regions=regions,
                prune=prune,
                now=clock.now(),
                allowed=allowed,
            )
        except ConfigError as exc:
            raise located(exc) from None
        return 200, {"data": plan.as_json()}

    return await run_create(request, auth, store, clock, _apply)


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "description": "The document, as vigil export writes it",
            "content": {YAML: {"schema": {"type": "string"}}},
        },
        # Written out: with a model, FastAPI would give errors this route's YAML type.
        **{
            s: {"description": r["description"], "content": {"application/json": _ERROR_REF}}
            for s, r in API_ERRORS.items()
        },
    },
)
async def export_document(auth: AuthDep, session: SessionDep, settings: SettingsDep) -> Response:
    """The organization's channels, monitors, windows and pages as YAML; secrets as references.

    409 when two resources of one kind share a name (the document finds them by it).
    """
    try:
        exported = await export(session, auth.org, regions=tuple(settings.regions))
    except DuplicateNamesError as exc:
        raise ApiError(409, f"Cannot export: {exc}") from None
    return Response(exported.text, media_type=YAML)
