"""worker.py without Temporal: it retries with backoff, starts once the server is up, stops on
SIGTERM; and every line it writes with LOG_FORMAT=json is JSON, the SDK's own lines included."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator.control import IsvTenant
from emulator.runner import RunningEmulator
from harness.local_stack import DevServer, WorkerProcess, free_port, worker_env
from harness.polling import assert_eventually

# worker.py subprocesses and real dev servers.
pytestmark = pytest.mark.slow

API_KEY = "not-a-real-api-key-7f3a9c"


def _worker(
    tmp_path: Path,
    address: str,
    isv: IsvTenant,
    emulator: RunningEmulator,
    extra: dict[str, str] | None = None,
) -> WorkerProcess:
    task_queue = f"resilience-{uuid.uuid4()}"
    env = worker_env(address, task_queue, isv, emulator.url, emulator.ca_path, extra=extra)
    return WorkerProcess(env, tmp_path / "worker.log")


def _events(worker: WorkerProcess) -> list[dict[str, Any]]:
    lines = worker.log_file.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


async def _until(
    condition: Callable[[], bool], worker: WorkerProcess, within: float, what: str
) -> None:
    """Until `condition` holds; fails at once if worker.py exits first (pytest.fail is no
    AssertionError, so assert_eventually does not retry it)."""

    async def seen() -> None:
        if condition():
            return
        if not worker.running:
            pytest.fail(f"worker.py exited while waiting for {what}:\n{worker.log_tail()}")
        raise AssertionError(f"no {what} within {within:.0f}s:\n{worker.log_tail()}")

    await assert_eventually(seen, within=within, interval=0.2)


def _retries(worker: WorkerProcess) -> list[dict[str, Any]]:
    return [e for e in _events(worker) if e["event"] == "temporal unreachable, retrying"]


async def test_worker_retries_until_temporal_is_up_then_starts(
    emulator: RunningEmulator, isv: IsvTenant, tmp_path: Path
) -> None:
    """Against a closed port the worker logs each attempt (address, attempt, next delay doubling)
    and keeps trying; once a server listens there it starts polling."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    worker = _worker(tmp_path, address, isv, emulator)
    server = DevServer(db_file=tmp_path / "temporal.db", port=port, ui=False)
    worker.start()
    try:
        await _until(lambda: len(_retries(worker)) >= 2, worker, 60, "two retry lines")
        first, second = _retries(worker)[:2]
        assert (first["attempt"], first["next_delay_s"]) == (1, 1.0)
        assert (second["attempt"], second["next_delay_s"]) == (2, 2.0)
        assert first["address"] == address and first["level"] == "warning"
        await server.start()
        await worker.wait_started(within=90)
        assert worker.stop(timeout=30) == 0, worker.log_tail()
    finally:
        worker.stop()
        server.stop()


async def test_sigterm_while_retrying_exits_0_at_once(
    emulator: RunningEmulator, isv: IsvTenant, tmp_path: Path
) -> None:
    """SIGTERM during the wait between attempts ends the worker with 0 (not 134) within
    seconds, and the API key is in none of its retry lines."""
    address = f"127.0.0.1:{free_port()}"
    worker = _worker(tmp_path, address, isv, emulator, extra={"TEMPORAL_API_KEY": API_KEY})
    worker.start()
    try:
        await _until(lambda: len(_retries(worker)) >= 1, worker, 60, "a retry line")
        assert worker._process is not None
        worker._process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = await asyncio.to_thread(worker._process.wait, 10)
        assert code == 0, worker.log_tail()
        assert time.monotonic() - started < 5
        assert API_KEY not in worker.log_file.read_text()
    finally:
        worker.stop()


async def test_json_logs_carry_the_sdk_core_lines_too(
    emulator: RunningEmulator, isv: IsvTenant, tmp_path: Path
) -> None:
    """With LOG_FORMAT=json, the Rust core's warnings (here: its polls failing once the server
    is gone) are JSON lines from the `temporalio.core` logger; no line is plain or coloured."""
    server = DevServer(db_file=tmp_path / "temporal.db", ui=False)
    await server.start()
    worker = _worker(tmp_path, server.address, isv, emulator)
    worker.start()
    try:
        await worker.wait_started(within=90)
        server.stop()
        await _until(
            lambda: '"logger": "temporalio.core' in worker.log_file.read_text(errors="replace"),
            worker,
            60,
            "a core log line",
        )
    finally:
        worker.stop(timeout=30)
        server.stop()
    text = worker.log_file.read_text(errors="replace")
    assert "\x1b[" not in text
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    core = [e for e in events if e["logger"].startswith("temporalio.core")]
    assert core and all(e["level"] == "warning" and "sdk_core" in e["event"] for e in core)
