"""The OpenAPI document: request bodies the handlers read themselves, stable operation ids.

Handlers read JSON bodies through ``api.body`` (so that NaN, NUL or deep nesting
get our 400, not a framework's), so FastAPI does not see their models; ``body``
declares a model as an operation's request body, and ``install`` puts the models
in the document's components.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

_BODIES: dict[str, type[BaseModel]] = {}
# Put in a query parameter's schema: the handler takes an empty value (``?page=``) as
# absent. The document says so with the parameter's ``allowEmptyValue``.
EMPTY_IS_ABSENT = "x-empty-is-absent"


def body(
    model: type[BaseModel],
    *,
    required: bool = True,
    media_types: tuple[str, ...] = ("application/json",),
) -> dict[str, Any]:
    """``openapi_extra`` for a route whose request body is ``model`` (JSON unless told)."""
    _BODIES[model.__name__] = model
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    content = {media: {"schema": ref} for media in media_types}
    return {"requestBody": {"required": required, "content": content}}


def created(parameter: str, *operations: str, **extra: dict[str, str]) -> dict[int | str, Any]:
    """A 201 with OpenAPI links: the new resource's id feeds ``parameter`` of ``operations``.

    ``extra`` maps more operation ids to their own {parameter: runtime expression};
    fuzzers (schemathesis' stateful phase) follow the links to reach real resources.
    """
    links: dict[str, Any] = {
        op: {"operationId": op, "parameters": {parameter: "$response.body#/data/id"}}
        for op in operations
    }
    links.update({op: {"operationId": op, "parameters": params} for op, params in extra.items()})
    return {201: {"description": "Created", "links": links}}


def operation_id(route: APIRoute) -> str:
    """``<tag>_<function>``: stable while the handler keeps its name.

    The tag is reduced to ``[a-z0-9_]`` ("status pages (public)" -> ``status_pages_public``)
    so that every id is a plain identifier a client generator can use as a name.
    """
    tag = str(route.tags[0]) if route.tags else "api"
    return re.sub(r"[^a-z0-9]+", "_", tag.lower()).strip("_") + f"_{route.name}"


def install(app: FastAPI) -> None:
    """Serve a document that includes the request body models."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for operations in schema["paths"].values():
                for operation in operations.values():
                    for parameter in operation.get("parameters", []):
                        if parameter.get("schema", {}).pop(EMPTY_IS_ABSENT, False):
                            parameter["allowEmptyValue"] = True
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, model in sorted(_BODIES.items()):
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[name] = model_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
