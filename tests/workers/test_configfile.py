"""``vigil apply`` and ``vigil export``: the commands, their output and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.fleet_documents import FULL, SECRETS
from workers.cli import main

ROOT = Path(__file__).resolve().parents[2]
REGIONS = "us-east-1,eu-west-1,ap-south-1"


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The store, the regions and FULL's secrets, for in-process runs and subprocesses."""
    values = {"VIGIL_DATABASE_URL": database_url, "VIGIL_REGIONS": REGIONS, **SECRETS}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    assert main(["admin", "create-org", "--name", "Acme", "--slug", "acme", "--trusted"]) == 0
    return values


def test_vigil_apply_prints_the_plan_then_applies(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(FULL)
    capsys.readouterr()

    assert main(["apply", str(path), "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert main(["export"]) == 0
    assert "monitors: []" in capsys.readouterr().out  # the dry run wrote nothing

    # The real command once, as a person runs it.
    done = subprocess.run(
        [sys.executable, "-m", "workers.cli", "apply", str(path), "--org", "acme"],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == 'create    alertChannels "Ops hook"'
    assert done.stdout.splitlines()[-2:] == [
        "Plan: 9 to create, 0 to update, 0 to delete, 0 unchanged.",
        "Applied.",
    ]
    assert dry.splitlines()[:-1] == done.stdout.splitlines()[:-1]
    assert dry.splitlines()[-1] == "Dry run: nothing was changed."
    assert main(["apply", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Nothing to change."


def test_vigil_export_writes_references_and_lists_the_variables(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, exported = tmp_path / "vigil.yaml", tmp_path / "exported.yaml"
    path.write_text(FULL)
    assert main(["apply", str(path)]) == 0
    capsys.readouterr()

    assert main(["export", "--org", "acme", "-o", str(exported)]) == 0

    text = exported.read_text()
    assert "secret: ${VIGIL_CHANNEL_OPS_HOOK_SECRET}" in text
    assert all(secret not in text for secret in SECRETS.values())
    assert capsys.readouterr().err.splitlines() == [
        "exported 3 alertChannels, 3 monitors, 2 maintenance, 1 statusPages",
        "set these environment variables before 'vigil apply': VIGIL_CHANNEL_CHAT_WEBHOOK_URL "
        "VIGIL_CHANNEL_OPS_HOOK_SECRET VIGIL_MONITOR_API_HEADER_AUTHORIZATION "
        "VIGIL_MONITOR_LOGIN_PAGE_URL",
    ]


def test_vigil_apply_of_a_bad_file_names_file_line_and_field(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(FULL.replace("    interval: 300\n", "    interval: 86400\n"))

    assert main(["apply", str(path)]) == 2

    assert capsys.readouterr().err.splitlines() == [
        f"vigil: nothing was applied: {path} has 1 problem:",
        f"{path}:32: monitors[1].interval: must be between 15 and 3600",
    ]
    assert main(["apply", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_vigil_apply_needs_org_when_there_are_several(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "create-org", "--name", "Globex", "--slug", "globex"]) == 0
    path = tmp_path / "vigil.yaml"
    path.write_text("monitors: []\n")
    capsys.readouterr()

    assert main(["apply", str(path)]) == 2

    assert capsys.readouterr().err == (
        "vigil: the store has several organizations; say which with --org (acme, globex)\n"
    )
