"""The real stack every reliability test runs against: a Temporal dev server on a database file,
the emulator as a child process (so it can be killed and restarted), and worker.py processes.

Everything is a separate process so a test can SIGKILL or restart any part of it, exactly as a
crash would, and the parts talk only over the network, as they do in production.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from client.connection import TemporalTarget
from emulator.control import IsvTenant
from emulator.runner import EmulatorProcess, start_emulator_process
from harness.local_stack import LOCAL_TIME_SCALE, DevServer, WorkerProcess, worker_env

# Azure's real throttling model (ARM token buckets, DiskRP's DES windows), TIME_SCALE times faster;
# the workers' write pace is scaled to match (harness.local_stack.worker_env).
TIME_SCALE = LOCAL_TIME_SCALE


@dataclass
class ReliabilityStack:
    server: DevServer
    emulator: EmulatorProcess
    isv: IsvTenant
    client: Client
    target: TemporalTarget
    root: Path
    workers: list[WorkerProcess]

    def start_workers(self, count: int, extra: dict[str, str] | None = None) -> None:
        for _ in range(count):
            env = worker_env(
                self.server.address,
                self.target.task_queue,
                self.isv,
                self.emulator.url,
                self.emulator.ca_path,
                time_scale=TIME_SCALE,
                extra=extra,
            )
            worker = WorkerProcess(env, self.root / f"worker-{len(self.workers)}.log")
            worker.start()
            self.workers.append(worker)

    async def restart_emulator(self, *, kill: bool = False) -> None:
        """Stop the emulator (SIGTERM, or SIGKILL with `kill`) and start it again on the same port
        and data directory with its persisted state; the workers keep their configuration."""
        port = int(self.emulator.url.rsplit(":", 1)[1])
        old = self.emulator
        if kill:
            old.kill()
        else:
            old.stop()
        await old.control.aclose()
        self.emulator = start_emulator_process(
            data_dir=self.root / "emulator", port=port, persist=True, feature_delay=0.0
        )
        await self.emulator.control.set_throttling(time_scale=TIME_SCALE)


@asynccontextmanager
async def open_stack(root: Path, *, persist: bool) -> AsyncIterator[ReliabilityStack]:
    server = DevServer(db_file=root / "temporal.db", ui=False)
    await server.start()
    emulator = start_emulator_process(
        data_dir=root / "emulator", persist=persist, feature_delay=0.0
    )
    await emulator.control.set_throttling(time_scale=TIME_SCALE)
    isv = await emulator.control.create_isv_tenant()
    client = await Client.connect(server.address, data_converter=pydantic_data_converter)
    target = TemporalTarget(server.address, "default", f"reliability-{uuid.uuid4().hex[:8]}")
    stack = ReliabilityStack(server, emulator, isv, client, target, root, [])
    try:
        yield stack
    finally:
        for worker in stack.workers:
            worker.stop()
        await stack.emulator.control.aclose()
        stack.emulator.stop()
        server.stop()


@pytest.fixture
async def reliability_stack(tmp_path: Path) -> AsyncIterator[ReliabilityStack]:
    """The stack with an in-memory emulator (the fault and load tests never restart it)."""
    async with open_stack(tmp_path, persist=False) as stack:
        yield stack


@pytest.fixture
async def persistent_stack(tmp_path: Path) -> AsyncIterator[ReliabilityStack]:
    """The stack with an emulator that writes its state after every request, so
    `restart_emulator` brings back every tenant, resource and long-running operation."""
    async with open_stack(tmp_path, persist=True) as stack:
        yield stack
