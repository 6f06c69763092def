"""worker.py told to give up (TEMPORAL_CONNECT_ATTEMPTS) exits 3 after logging each attempt, and
never aborts in interpreter finalization ("Fatal Python error: PyGILState_Release", exit 134):
the SDK's threads were still running when Python tore down, which made the abort racy, so the
check runs several workers at once."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from emulator.control import IsvTenant
from emulator.runner import RunningEmulator
from harness.local_stack import free_port, worker_env
from tests.cli.starter_process import REPO_ROOT

pytestmark = pytest.mark.slow

EXIT_TEMPORAL_UNREACHABLE = 3
RUNS = 4


async def _give_up(env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO_ROOT / "worker.py"),
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_worker_gives_up_with_exit_3_and_never_aborts(
    emulator: RunningEmulator, isv: IsvTenant
) -> None:
    env = worker_env(
        f"127.0.0.1:{free_port()}",  # nothing listens there
        "give-up",
        isv,
        emulator.url,
        emulator.ca_path,
        extra={"TEMPORAL_CONNECT_ATTEMPTS": "2"},
    )
    runs = await asyncio.gather(*(_give_up(env) for _ in range(RUNS)))
    for code, stdout, stderr in runs:
        output = stdout + stderr
        assert "Fatal Python error" not in output, output
        assert code == EXIT_TEMPORAL_UNREACHABLE, output
        events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        names = [event["event"] for event in events]
        assert names.count("temporal unreachable, retrying") == 1, names
        assert names[-1] == "temporal unreachable", names
        assert events[-1]["attempt"] == 2
