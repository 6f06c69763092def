"""What several test folders share: one in-process Azure emulator per session with a fresh ISV
and customer tenant per test (`default_emulator_knobs` resets it around a test), one real
Temporal dev server per session (`dev_env`, or `dev_environment` for a client with another data
converter), and the `slow` marker for the quick loop.

    uv run pytest -m "not slow"     # unit, emulator, activity and workflow tests: the quick loop
    uv run pytest                   # everything, as CI runs it

A test is slow when it starts real processes that take seconds each (a dev server per test,
worker.py or starter.py subprocesses, the demo, crash and load runs). Whole folders of them are
marked below by directory; single modules elsewhere carry `pytestmark = pytest.mark.slow`.
Polling helpers are in harness/polling.py (assert_eventually), shared with the bench.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from emulator.control import CustomerTenant, EmulatorControl, IsvTenant
from emulator.runner import RunningEmulator, start_emulator
from harness.local_stack import DEFAULT_NAMESPACE, DevServer

TESTS = Path(__file__).parent
# Every test in these folders runs real dev servers and emulator, worker.py or starter.py
# processes (a starter.py run costs about a second of interpreter start-up each).
SLOW_FOLDERS = ("cli", "e2e", "reliability", "bench")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slow_roots = [TESTS / folder for folder in SLOW_FOLDERS]
    for item in items:
        if any(item.path.is_relative_to(root) for root in slow_roots):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
async def emulator(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningEmulator]:
    running = await start_emulator(data_dir=tmp_path_factory.mktemp("emulator"), feature_delay=0.2)
    yield running
    await running.stop()


@pytest.fixture
async def isv(emulator: RunningEmulator) -> IsvTenant:
    """A fresh ISV tenant, so tests never share identities or resources."""
    return await emulator.control.create_isv_tenant()


@pytest.fixture
async def customer(emulator: RunningEmulator) -> CustomerTenant:
    """A fresh customer tenant with its own Key Vault scope."""
    return await emulator.control.create_customer_tenant()


async def _reset_emulator_knobs(control: EmulatorControl) -> None:
    await control.clear_faults()
    await control.clear_operation_failures()
    await control.reset_throttling()


@asynccontextmanager
async def default_emulator_knobs(
    control: EmulatorControl, *, lro_delay: float, feature_delay: float = 0.2
) -> AsyncIterator[None]:
    """Around one test: every knob a test turns on the session's emulator back to its default.

    Before: no faults or DiskRP operation failures, Azure's throttling limits with full buckets,
    these LRO and feature delays, an empty request log. After: faults, operation failures and
    throttling reset again, so none of them leaks into a later test, in this folder or another.
    """
    await _reset_emulator_knobs(control)
    await control.set_lro_delay(lro_delay)
    await control.set_feature_delay(feature_delay)
    await control.reset_requests()
    try:
        yield
    finally:
        await _reset_emulator_knobs(control)


@pytest.fixture(scope="session")
async def temporal_dev_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    """One `temporal server start-dev` per session, started the way the demo and e2e stacks start
    theirs (harness DevServer: a free port, our search attributes, one partition per task queue),
    and only when a test asks for it."""
    server = DevServer(db_file=tmp_path_factory.mktemp("temporal") / "temporal.db", ui=False)
    await server.start()
    yield server
    server.stop()


async def dev_environment(
    server: DevServer, data_converter: DataConverter = pydantic_data_converter
) -> WorkflowEnvironment:
    """A workflow environment on `server` whose client uses `data_converter`."""
    client = await Client.connect(
        server.address, namespace=DEFAULT_NAMESPACE, data_converter=data_converter
    )
    return WorkflowEnvironment.from_client(client)


@pytest.fixture(scope="session")
async def dev_env(temporal_dev_server: DevServer) -> WorkflowEnvironment:
    """A real dev server, for races whose outcome depends on how the server sequences messages,
    for visibility, and for what only a server enforces (heartbeat timeouts, TLS, pollers).

    The time-skipping test server records a signal and an update that arrive together in an order
    that differs from the one it delivered them in, so replaying its history of such a race can
    fail where a real server's history replays (60 of 60 races on a dev server did, while the
    test server's failed about 1 in 15).
    """
    return await dev_environment(temporal_dev_server)
