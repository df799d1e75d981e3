"""The OpenAPI document: what a client generator or a fuzzer learns from it.

Every rule holds for every operation the app serves: a new route cannot ship
without its request body, its answers' schemas and the error body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx

from ai.event import FIELDS as INGEST_FIELDS
from api.schemas.ai import AiEventIn, CostAlertSet
from api.schemas.status_pages import StatusPageCreate
from api.status_page_input import FIELDS as PAGE_FIELDS
from api.status_page_input import READ_ONLY as PAGE_READ_ONLY
from tests.api.conftest import Tenant

WRITES_WITH_BODY = {
    ("post", "/api/monitors"): "MonitorCreate",
    ("put", "/api/monitors/{monitor_id}"): "MonitorFields",
    ("post", "/api/api-keys"): "KeyCreate",
    ("post", "/api/organization"): "OrganizationCreate",
    ("patch", "/api/organization"): "OrganizationUpdate",
    ("post", "/api/alert-channels"): "ChannelCreate",
    ("patch", "/api/alert-channels/{channel_id}"): "ChannelUpdate",
    ("post", "/api/maintenance"): "WindowCreate",
    ("patch", "/api/maintenance/{window_id}"): "WindowUpdate",
    ("post", "/api/incidents/{incident_id}/updates"): "IncidentUpdateCreate",
    ("post", "/api/status-pages"): "StatusPageCreate",
    ("put", "/api/status-pages/{slug}"): "StatusPageUpdate",
    ("post", "/api/status-pages/{slug}/notices"): "NoticeCreate",
    ("post", "/status/{slug}/subscribe"): "SubscribeForm",
    ("post", "/api/ai/ingest/{monitor_id}"): "AiEventIn",
    ("put", "/api/ai/prices/{model}"): "PriceSet",
    ("put", "/api/monitors/{monitor_id}/cost-alert"): "CostAlertSet",
    ("post", "/api/team/invite"): "InviteCreate",
    ("post", "/api/team/accept"): "InvitationAccept",
    ("post", "/api/billing/checkout"): "CheckoutCreate",
    ("post", "/api/billing/webhook"): "RevenueCatWebhook",
}
# Writes that take no body: actions on the resource the path names.
BODILESS_WRITES = {
    ("post", "/api/monitors/{monitor_id}/pause"),
    ("post", "/api/monitors/{monitor_id}/resume"),
    ("post", "/api/alert-channels/{channel_id}/test"),
    ("post", "/api/alert-deliveries/{delivery_id}/retry"),
    ("post", "/api/status-pages/{slug}/verify-domain"),
    ("post", "/api/status-pages/{slug}/notices/{notice_id}/resolve"),
    ("post", "/api/monitors/{monitor_id}/insights/{insight_id}/dismiss"),
    ("post", "/api/monitors/{monitor_id}/ingest-key"),
    ("post", "/api/billing/portal"),
    ("post", "/status/{slug}/subscribe/confirm"),
    ("post", "/status/{slug}/unsubscribe"),
}
# Bodies that are not one JSON object: the cron job's log, an OTLP export.
OTHER_BODIES = {
    ("post", "/api/heartbeat/{token}"),
    ("post", "/api/heartbeat/{token}/start"),
    ("post", "/api/heartbeat/{token}/fail"),
    ("post", "/api/heartbeat/{token}/{exit_status}"),
    ("post", "/v1/traces"),
    ("post", "/api/config/apply"),  # a YAML document, or the same as JSON
}
HTML = "text/html"
NO_BODY = {"204", "304"}
# JSON answers whose shape another specification defines (not one of our models).
FOREIGN_JSON = {
    ("get", "/status/{slug}/api/v2/{name}"),  # Statuspage v2
    ("post", "/v1/traces"),  # OTLP's ExportTraceServiceResponse
}
OPERATION_ID = re.compile(r"^[a-z][a-z0-9_]*$")


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def _carries_error_body(ref: dict[str, Any], components: dict[str, Any]) -> bool:
    """The error body itself, or a model that adds fields beside it (never instead)."""
    base = components["ErrorBody"]
    name = ref.get("$ref", "").removeprefix("#/components/schemas/")
    schema = components.get(name)
    if schema is None:
        return False
    same = all(schema["properties"].get(k) == v for k, v in base["properties"].items())
    return same and schema["required"] == base["required"]


async def test_openapi_declares_every_request_body(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    paths = document["paths"]

    for (method, path), model in WRITES_WITH_BODY.items():
        content = paths[path][method]["requestBody"]["content"]
        assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}, (
            method,
            path,
        )
    # A write that is not listed has to say what it reads.
    writes = {
        (method, path)
        for method, path, _ in _operations(document)
        if method in ("post", "put", "patch")
    }
    assert writes == set(WRITES_WITH_BODY) | BODILESS_WRITES | OTHER_BODIES
    for method, path in writes - BODILESS_WRITES:
        assert "requestBody" in paths[path][method], (method, path)
    for method, path in BODILESS_WRITES:
        assert "requestBody" not in paths[path][method], (method, path)


async def test_openapi_request_body_models_name_the_fields_their_handlers_take() -> None:
    """The models describe bodies validated by hand: their names must be the same set."""
    assert set(AiEventIn.model_fields) == INGEST_FIELDS
    assert set(StatusPageCreate.model_fields) == PAGE_FIELDS | PAGE_READ_ONLY
    assert set(CostAlertSet.model_fields) == {"dailyBudget", "monthlyBudget", "alertEmails"}


async def test_openapi_request_bodies_carry_examples(client: httpx.AsyncClient) -> None:
    """A JSON body's model has an example request (the reference's, where it has one)."""
    document = await _document(client)
    components = document["components"]["schemas"]

    missing = []
    for method, path, operation in _operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref")
        if ref is None:
            continue  # not a model: an OTLP export
        model = components[ref.removeprefix("#/components/schemas/")]
        if not model.get("examples"):
            missing.append((method, path))

    assert missing == []


async def test_openapi_gives_every_answer_a_schema_and_every_error_the_error_body(
    client: httpx.AsyncClient,
) -> None:
    document = await _document(client)
    components = document["components"]["schemas"]
    ids, problems = [], []
    for method, path, operation in _operations(document):
        ids.append(operation["operationId"])
        responses = operation["responses"]
        successes = {s: r for s, r in responses.items() if s.startswith("2")}
        if not successes:
            problems.append((method, path, "no 2xx answer"))
        html_page = HTML in responses.get("200", {}).get("content", {})
        for status, answer in responses.items():
            content = answer.get("content", {})
            if status in NO_BODY:
                if content:
                    problems.append((method, path, status, "a body on a bodiless status"))
                continue
            if not content or not all(c.get("schema") for c in content.values()):
                problems.append((method, path, status, "no schema"))
                continue
            if status < "400":
                json_schema = content.get("application/json", {}).get("schema", {})
                if json_schema and "$ref" not in json_schema and (method, path) not in FOREIGN_JSON:
                    problems.append((method, path, status, "a JSON answer that is not a model"))
                continue
            if "application/json" in content:
                if not _carries_error_body(content["application/json"]["schema"], components):
                    problems.append((method, path, status, "not the error body"))
                if set(content) - {"application/json", HTML}:
                    problems.append((method, path, status, "errors are JSON (or a page)"))
            elif not (html_page and set(content) == {HTML}):
                problems.append((method, path, status, "an HTML error on a JSON operation"))

    assert problems == []
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not OPERATION_ID.match(i)] == []
    assert len(ids) >= 97
    assert {"monitors_create", "status_pages_create", "ai_ingest", "team_accept_invitation"} <= set(
        ids
    )
    error = components["ErrorBody"]
    assert error["required"] == ["error", "code", "requestId"]


async def test_openapi_types_every_parameter(client: httpx.AsyncClient) -> None:
    document = await _document(client)

    untyped = [
        (method, path, p["name"])
        for method, path, operation in _operations(document)
        for p in operation.get("parameters", [])
        if "type" not in p["schema"] and "enum" not in p["schema"]
    ]
    assert untyped == []
    operation = document["paths"]["/api/monitors"]["get"]
    page = {p["name"]: p["schema"] for p in operation["parameters"]}
    # ?page= is taken as absent, and the document says so.
    assert all(p["allowEmptyValue"] for p in operation["parameters"])
    assert page["page"].items() >= {"type": "integer", "minimum": 1, "maximum": 10**9}.items()
    assert page["limit"].items() >= {"type": "integer", "minimum": 1, "maximum": 100}.items()
    deliveries = document["paths"]["/api/alert-deliveries"]["get"]["parameters"]
    status = next(p["schema"] for p in deliveries if p["name"] == "status")
    assert status["enum"] == ["", "pending", "delivered", "failed"]
    badge = document["paths"]["/status/{slug}/badges/{component_id}/{kind}.svg"]["get"]
    kind = next(p["schema"] for p in badge["parameters"] if p["name"] == "kind")
    assert "uptime-30d" in kind["enum"]


async def test_openapi_public_documents_declare_their_content_types(
    client: httpx.AsyncClient,
) -> None:
    paths = (await _document(client))["paths"]

    def types(path: str, method: str = "get", status: str = "200") -> set[str]:
        return set(paths[path][method]["responses"][status]["content"])

    assert types("/status/{slug}") == {HTML}
    assert types("/status/{slug}", status="404") == {HTML}
    assert types("/status/{slug}/feed.atom") == {"application/atom+xml"}
    assert types("/status/{slug}/badges/{component_id}/{kind}.svg") == {"image/svg+xml"}
    assert types("/status/{slug}/subscribe", "post", "202") == {"application/json", HTML}
    assert types("/v1/traces", "post") == {"application/x-protobuf", "application/json"}
    assert "304" in paths["/status/{slug}/feed.atom"]["get"]["responses"]


async def test_method_not_allowed_lists_every_method_of_the_path(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.request("OPTIONS", "/api/alert-channels/ac_x", headers=tenant.headers)

    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert response.json()["code"] == "method_not_allowed"


async def test_method_not_allowed_on_a_concrete_path_lists_only_its_methods(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """``/api/team/accept`` is its own resource, not a member id of ``/api/team/{member_id}``."""
    response = await client.request("OPTIONS", "/api/team/accept", headers=tenant.headers)

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
