"""The pieces a benchmark needs: started here (dev server, emulator process) or attached to.

Worker processes are always started here, one per measured scenario, because their memory and CPU
are among the figures; they get the bench's environment plus `worker_env` overrides.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from client.connection import connect_temporal
from config.settings import TemporalSettings
from emulator.control import EmulatorControl, IsvTenant
from emulator.runner import EmulatorProcess, start_emulator_process
from harness.local_stack import DEFAULT_NAMESPACE, DevServer, WorkerProcess, worker_env

WORKER_READY_WITHIN = 60.0


@dataclass
class BenchStack:
    workdir: Path
    temporal_address: str
    emulator_url: str
    emulator_ca: Path
    control: EmulatorControl
    client: Client
    worker_overrides: dict[str, str] = field(default_factory=dict)
    # The emulator's throttling model runs this many times faster than Azure; workers' write
    # pace is scaled to match (harness.local_stack.worker_env).
    time_scale: float = 1.0
    _server: DevServer | None = None
    _emulator: EmulatorProcess | None = None
    _workers: list[WorkerProcess] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        workdir: Path,
        *,
        temporal_address: str | None = None,
        emulator_url: str | None = None,
        emulator_ca: Path | None = None,
        worker_overrides: dict[str, str] | None = None,
    ) -> BenchStack:
        workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
        server = emulator = None
        if temporal_address is None:
            server = DevServer(db_file=workdir / f"temporal-{uuid.uuid4().hex[:6]}.db", ui=False)
            await server.start()
            temporal_address = server.address
        if emulator_url is None:
            # Features register at once: the registration path's history is the same either way.
            emulator = start_emulator_process(data_dir=workdir / "emulator", feature_delay=0.0)
            emulator_url, emulator_ca = emulator.url, emulator.ca_path
        assert emulator_ca is not None, "an attached emulator needs its CA bundle"
        client = await connect_temporal(
            TemporalSettings(address=temporal_address, namespace=DEFAULT_NAMESPACE)
        )
        return cls(
            workdir=workdir,
            temporal_address=temporal_address,
            emulator_url=emulator_url,
            emulator_ca=emulator_ca,
            control=EmulatorControl(emulator_url, emulator_ca),
            client=client,
            worker_overrides=dict(worker_overrides or {}),
            _server=server,
            _emulator=emulator,
        )

    async def scale_time(self, time_scale: float) -> None:
        """Azure's throttling model (real limits, full buckets), `time_scale` times faster, for the
        emulator and every worker started after this."""
        await self.control.set_throttling(time_scale=time_scale)
        self.time_scale = time_scale

    async def new_isv(self) -> IsvTenant:
        """A fresh ISV tenant and subscription: its shared identity and quota start from zero."""
        return await self.control.create_isv_tenant(subscription_id=str(uuid.uuid4()))

    async def start_worker(
        self,
        name: str,
        isv: IsvTenant,
        *,
        floor: bool = False,
        extra: dict[str, str] | None = None,
    ) -> tuple[WorkerProcess, str]:
        """worker.py (or the floor worker) on a fresh task queue; returns once it polls."""
        task_queue = f"bench-{name}-{uuid.uuid4().hex[:6]}"
        env = worker_env(
            self.temporal_address,
            task_queue,
            isv,
            self.emulator_url,
            self.emulator_ca,
            time_scale=self.time_scale,
            extra={"LOG_FORMAT": "json", **self.worker_overrides, **(extra or {})},
        )
        python_args = ("-m", "bench.floor_worker") if floor else WorkerProcess.python_args
        worker = WorkerProcess(env, self.workdir / f"{name}.log", python_args=python_args)
        worker.start()
        self._workers.append(worker)
        # The writes queue's worker starts in the same process at the same moment.
        await self._wait_polled(worker, [task_queue])
        return worker, task_queue

    async def _wait_polled(self, worker: WorkerProcess, queues: list[str]) -> None:
        deadline = time.monotonic() + WORKER_READY_WITHIN
        while not all([await self._has_pollers(q) for q in queues]):
            if not worker.running or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start polling:\n{worker.log_tail()}")
            await asyncio.sleep(0.2)

    async def _has_pollers(self, task_queue: str) -> bool:
        response = await self.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=DEFAULT_NAMESPACE,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            )
        )
        return bool(response.pollers)

    def stop_worker(self, worker: WorkerProcess) -> None:
        worker.stop()
        if worker in self._workers:
            self._workers.remove(worker)

    async def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers.clear()
        await self.control.aclose()
        if self._emulator is not None:
            self._emulator.stop()
        if self._server is not None:
            self._server.stop()
