"""Every alerting field of a monitor: both sides of each bound, with the value read back."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Tenant

BASE = {
    "name": "Shop",
    "url": "https://shop.example.com/health",
    "type": "HTTP",
    "interval": 300,
    "regions": ["us-east-1", "eu-west-1", "ap-south-1"],
}


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        pytest.param("failureThreshold", 1, 10, id="failureThreshold"),
        pytest.param("recoveryThreshold", 1, 10, id="recoveryThreshold"),
        pytest.param("regionQuorum", 1, 3, id="regionQuorum (3 regions)"),
        pytest.param("retryInterval", 10, 3600, id="retryInterval"),
        pytest.param("reminderInterval", 1, 10080, id="reminderInterval"),
    ],
)
async def test_alerting_field_bounds_are_enforced_and_kept(
    client: httpx.AsyncClient, tenant: Tenant, field: str, low: int, high: int
) -> None:
    for bad in (low - 1, high + 1):
        r = await client.post("/api/monitors", json={**BASE, field: bad}, headers=tenant.headers)
        assert r.status_code == 400, (field, bad)
        assert r.json()["fields"] == [
            {"field": field, "issue": f"must be between {low} and {high}"}
        ]
    for good in (low, high):
        r = await client.post("/api/monitors", json={**BASE, field: good}, headers=tenant.headers)
        assert r.status_code == 201, r.text
        got = await client.get(f"/api/monitors/{r.json()['data']['id']}", headers=tenant.headers)
        assert got.json()["data"][field] == good
