"""compose/: no Docker engine runs here, so the files are checked for what can be
checked: the compose file parses, references only the image it builds and services
it defines, every process command is one ``vigil`` accepts, and the Dockerfile copies
every package the project installs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from workers.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose" / "compose.yaml"
DOCKERFILE = ROOT / "compose" / "Dockerfile"
EXTERNAL_IMAGES = {"postgres:15"}


def _services() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(COMPOSE.read_text())
    services: dict[str, dict[str, Any]] = doc["services"]
    return services


def _vigil_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _services().items() if s.get("image") not in EXTERNAL_IMAGES}


def test_every_service_uses_the_built_image_or_a_known_one() -> None:
    for name, service in _services().items():
        image = service.get("image")
        if image in EXTERNAL_IMAGES:
            continue
        assert image == "vigil:local", f"{name} uses {image!r}"
        build = service["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_depends_on_names_defined_services_with_valid_conditions() -> None:
    services = _services()
    for name, service in services.items():
        for needed, rule in (service.get("depends_on") or {}).items():
            assert needed in services, f"{name} depends on undefined {needed!r}"
            assert rule["condition"] in {
                "service_started",
                "service_healthy",
                "service_completed_successfully",
            }
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[needed], f"{needed} has no healthcheck"


@pytest.mark.parametrize("name", sorted(_vigil_services()))
def test_every_vigil_command_parses(name: str) -> None:
    command = _vigil_services()[name]["command"]
    args = build_parser().parse_args(command)
    assert callable(args.fn)


def test_the_fleet_has_every_part() -> None:
    commands = {name: s["command"] for name, s in _vigil_services().items()}
    assert ["migrate"] in commands.values()
    assert ["api"] in commands.values()
    assert ["dispatcher"] in commands.values()
    regions = {c[c.index("--region") + 1] for c in commands.values() if c[0] == "worker"}
    assert len(regions) >= 2
    env = _vigil_services()["api"]["environment"]
    assert regions <= set(env["VIGIL_REGIONS"].split(","))
    browser = [s for s in _vigil_services().values() if s.get("shm_size")]
    assert browser and browser[0]["command"][0] == "worker"
    assert _services()["postgres"]["healthcheck"]
    # Secrets come from the env file, not from the compose file.
    assert all("VIGIL_BOOTSTRAP_KEY" not in s.get("environment", {}) for s in _services().values())
    assert (COMPOSE.parent / "vigil.env.example").exists()


def test_dockerfile_copies_every_installed_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\S+) \1$", DOCKERFILE.read_text(), flags=re.M))
    assert packages <= copied, f"the Dockerfile does not copy {sorted(packages - copied)}"
    assert re.search(r'^ENTRYPOINT \["vigil"\]', DOCKERFILE.read_text(), flags=re.M)
    assert "vigil" in project["project"]["scripts"]
