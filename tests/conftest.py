"""What several test folders share: one in-process Azure emulator per session with a fresh ISV
and customer tenant per test, and the `slow` marker for the quick loop.

    uv run pytest -m "not slow"     # unit, emulator, activity and workflow tests: the quick loop
    uv run pytest                   # everything, as CI runs it

A test is slow when it starts real processes that take seconds each (a dev server per test,
worker.py or starter.py subprocesses, the demo, crash and load runs). Whole folders of them are
marked below by directory; single modules elsewhere carry `pytestmark = pytest.mark.slow`.
Polling helpers are in harness/polling.py (assert_eventually), shared with the bench.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulator.control import CustomerTenant, IsvTenant
from emulator.runner import RunningEmulator, start_emulator

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
