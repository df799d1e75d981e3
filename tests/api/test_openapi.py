"""The OpenAPI document: what a client generator or a fuzzer learns from it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Tenant
from tests.api.described import DESCRIBED

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
}


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_openapi_declares_every_json_request_body(client: httpx.AsyncClient) -> None:
    paths = (await _document(client))["paths"]

    for (method, path), model in WRITES_WITH_BODY.items():
        content = paths[path][method]["requestBody"]["content"]["application/json"]
        assert content["schema"] == {"$ref": f"#/components/schemas/{model}"}


async def test_openapi_gives_every_answer_a_schema_and_every_error_the_error_body(
    client: httpx.AsyncClient,
) -> None:
    document = await _document(client)
    ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            ids.append(operation["operationId"])
            if operation["operationId"] not in DESCRIBED:
                continue
            responses = operation["responses"]
            ok = responses.get("200") or responses["201"]
            assert all(c.get("schema") for c in ok["content"].values()), (method, path)
            for status, answer in responses.items():
                if status >= "400":
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
    assert len(ids) == len(set(ids))
    assert set(ids) >= DESCRIBED
    assert {"monitors_create", "monitors_list_all", "alert_channels_update"} <= set(ids)
    error = document["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error", "code", "requestId"]


async def test_openapi_types_query_parameters(client: httpx.AsyncClient) -> None:
    operation = (await _document(client))["paths"]["/api/monitors"]["get"]
    page = {p["name"]: p["schema"] for p in operation["parameters"]}

    assert page["page"].items() >= {"type": "integer", "minimum": 1, "maximum": 10**9}.items()
    assert page["limit"].items() >= {"type": "integer", "minimum": 1, "maximum": 100}.items()


async def test_method_not_allowed_lists_every_method_of_the_path(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.request("OPTIONS", "/api/alert-channels/ac_x", headers=tenant.headers)

    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert response.json()["code"] == "method_not_allowed"
