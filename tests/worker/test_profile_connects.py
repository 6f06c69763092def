"""worker.py and starter.py reach a real dev server through an envconfig profile file alone."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulator.control import IsvTenant
from emulator.runner import RunningEmulator
from harness.local_stack import DevServer, WorkerProcess, worker_env
from harness.polling import assert_eventually
from tests.cli.requests import as_flags
from tests.cli.starter_process import run_starter

# Its own dev server, worker.py and starter.py subprocesses.
pytestmark = pytest.mark.slow

# The dev server ignores this header; sending it proves the profile's secret travels with the
# profile and lets the test check it never reaches a log. (An API key itself would be refused
# here: the dev server has no TLS, and an API key over plain gRPC is refused by design.)
PROFILE_API_KEY = "profile-api-key-7f3c9a"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[DevServer]:
    started = DevServer(db_file=tmp_path / "temporal.db", ui=False)
    await started.start()
    yield started
    started.stop()


def _profile_env(server: DevServer, tmp_path: Path) -> dict[str, str]:
    """Only TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE: no address or namespace variable."""
    config = tmp_path / "temporal.toml"
    config.write_text(
        f"""
[profile.default]
address = "127.0.0.1:1"

[profile.local]
address = "{server.address}"
namespace = "default"
[profile.local.tls]
disabled = true
[profile.local.grpc_meta]
x-profile-secret = "{PROFILE_API_KEY}"
"""
    )
    return {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "local"}


async def test_worker_and_starter_connect_through_a_profile(
    server: DevServer,
    emulator: RunningEmulator,
    isv: IsvTenant,
    tmp_path: Path,
) -> None:
    """The starter starts an onboarding and the worker runs it to the customer hand-off, both
    configured only by the profile; the API key from the profile is in neither's output."""
    task_queue = f"profile-{uuid.uuid4().hex[:8]}"
    profile = _profile_env(server, tmp_path)
    env = worker_env("unused", task_queue, isv, emulator.url, emulator.ca_path)
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"):
        env.pop(name)
    worker = WorkerProcess(env | profile, tmp_path / "worker.log")
    worker.start()
    cli_env = {"TEMPORAL_ADDRESS": "", "TEMPORAL_NAMESPACE": "", "TEMPORAL_TASK_QUEUE": task_queue}
    cli_env |= profile
    try:
        fields = {
            "customer_tenant_id": str(uuid.uuid4()),
            "customer_name": "Contoso",
            "isv_tenant_id": isv.tenant_id,
            "subscription_id": isv.subscription_id,
            "resource_group": "cmk-rg",
            "region": "eastus",
            "des_name": "profile-des",
        }
        started = await run_starter("start", *as_flags(fields), "--json", env=cli_env)
        assert started.code == 0, started.stderr
        workflow_id = json.loads(started.stdout)["workflow_id"]
        outputs = [started.stdout + started.stderr]

        async def waits_for_customer() -> bool:
            status = await run_starter("status", "-w", workflow_id, "--json", env=cli_env)
            assert status.code == 0, f"{status.stderr}\n{worker.log_tail()}"
            outputs.append(status.stdout + status.stderr)
            return bool(json.loads(status.stdout)["stage"] == "awaiting-customer")

        await assert_eventually(
            waits_for_customer,
            within=60,
            interval=0.3,  # each check runs starter.py
            message=f"never reached the hand-off:\n{worker.log_tail()}",
        )
    finally:
        worker.stop()
    log = (tmp_path / "worker.log").read_text()
    started_line = next(json.loads(line) for line in log.splitlines() if '"worker started"' in line)
    assert started_line["address"] == server.address
    assert PROFILE_API_KEY not in log
    assert all(PROFILE_API_KEY not in output for output in outputs)


async def test_starter_names_a_missing_profile(server: DevServer, tmp_path: Path) -> None:
    """A profile the file lacks: exit 2 and one line naming TEMPORAL_PROFILE, not a traceback."""
    env = _profile_env(server, tmp_path) | {"TEMPORAL_PROFILE": "staging", "TEMPORAL_ADDRESS": ""}
    result = await run_starter("list", env=env)
    assert result.code == 2, result.stderr
    assert "TEMPORAL_PROFILE='staging'" in result.stderr and "[profile.staging]" in result.stderr
    assert "Traceback" not in result.stderr
