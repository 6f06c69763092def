"""worker.py with METRICS_PORT serves the Temporal SDK's Prometheus metrics on /metrics."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from emulator.control import IsvTenant
from emulator.runner import RunningEmulator
from harness.local_stack import DevServer, WorkerProcess, free_port, worker_env
from harness.polling import assert_eventually
from tests.cli.requests import as_flags
from tests.cli.starter_process import run_starter

# A worker.py subprocess against a real dev server, scraped over HTTP.
pytestmark = pytest.mark.slow

# Metrics the README's Operations section tells operators to watch; each must really exist.
# Most appear only once the worker has run tasks, hence the onboarding before the scrape.
EXPECTED_METRICS = (
    "temporal_worker_start",  # a worker started (one per task queue: workflow and Azure writes)
    "temporal_num_pollers",  # pollers per task queue and poller type
    "temporal_worker_task_slots_available",  # free slots: MAX_CONCURRENT_* minus those in use
    "temporal_long_request",  # poll calls to the server
    "temporal_request",  # other calls to the server
    "temporal_sticky_cache_size",  # workflows cached (MAX_CACHED_WORKFLOWS)
    "temporal_workflow_task_schedule_to_start_latency",  # waiting for a worker: add workers
    "temporal_activity_schedule_to_start_latency",
    "temporal_workflow_task_execution_latency",
    "temporal_activity_execution_latency",  # Azure call time, per activity_type
)
METRIC_LINE = re.compile(r"^([a-z_]+?)(?:_bucket|_sum|_count)?(?:\{([^}]*)\})? ", re.MULTILINE)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[DevServer]:
    started = DevServer(db_file=tmp_path / "temporal.db", ui=False)
    await started.start()
    yield started
    started.stop()


async def _scrape(url: str, worker: WorkerProcess, within: float = 30.0) -> str:
    """/metrics once activity latencies are in; the endpoint opens before anything ran.
    Fails at once if worker.py exits (pytest.fail is no AssertionError: not retried)."""
    async with httpx.AsyncClient(timeout=5) as client:

        async def served() -> str:
            if not worker.running:
                pytest.fail(f"worker.py exited:\n{worker.log_tail()}")
            try:
                response = await client.get(url)
            except httpx.TransportError:  # not listening yet
                raise AssertionError(f"no metrics at {url}:\n{worker.log_tail()}") from None
            assert "temporal_activity_execution_latency" in response.text, (
                f"no metrics at {url}:\n{worker.log_tail()}"
            )
            return response.text

        return await assert_eventually(served, within=within, interval=0.3)


async def test_worker_exports_temporal_sdk_metrics(
    server: DevServer,
    emulator: RunningEmulator,
    isv: IsvTenant,
    tmp_path: Path,
) -> None:
    """The real Temporal metric names are served, labelled with this worker's task queues."""
    port = free_port()
    task_queue = f"metrics-{uuid.uuid4().hex[:8]}"
    env = worker_env(
        server.address,
        task_queue,
        isv,
        emulator.url,
        emulator.ca_path,
        extra={"METRICS_PORT": str(port)},
    )
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start()
    cli_env = {"TEMPORAL_ADDRESS": server.address, "TEMPORAL_TASK_QUEUE": task_queue}
    try:
        # A real onboarding up to the customer hand-off: workflow tasks and Azure activities.
        started = await run_starter("start", *as_flags(_request(isv)), env=cli_env)
        assert started.code == 0, started.stderr
        text = await _scrape(f"http://127.0.0.1:{port}/metrics", worker)
    finally:
        worker.stop()
    names = {match.group(1) for match in METRIC_LINE.finditer(text)}
    missing = [name for name in EXPECTED_METRICS if name not in names]
    assert not missing, f"missing {missing}; served: {sorted(names)}"
    assert f'task_queue="{task_queue}"' in text
    assert f'task_queue="{task_queue}-azure-writes"' in text
    assert 'namespace="default"' in text
    assert 'activity_type="' in text and 'workflow_type="CmkOnboarding"' in text


def _request(isv: IsvTenant) -> dict[str, str]:
    return {
        "customer_tenant_id": str(uuid.uuid4()),
        "customer_name": "Contoso",
        "isv_tenant_id": isv.tenant_id,
        "subscription_id": isv.subscription_id,
        "resource_group": "cmk-rg",
        "region": "eastus",
        "des_name": "metrics-des",
    }
