"""Time-skipping and dev-server Temporal environments for the workflow tests; the onboarding
helpers they drive (fake Azure, `running`, `make_request`) are in harness/fake_onboarding.py."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from harness.fake_onboarding import add_search_attributes
from harness.local_stack import dev_server_flags


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping server per module: a test that times out mid-wait leaves the server's
    time-skipping lock in an unknown state, which must not stall every later module's timers."""
    server = shutil.which("temporal-test-server")
    assert server, "temporal-test-server is missing: run `uv sync`"
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=pydantic_data_converter
    )
    await add_search_attributes(environment.client)
    yield environment
    await environment.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server, for races whose outcome depends on how the server sequences messages.

    The time-skipping test server records a signal and an update that arrive together in an order
    that differs from the one it delivered them in, so replaying its history of such a race can
    fail where a real server's history replays (60 of 60 races on a dev server did, while the
    test server's failed about 1 in 15).
    """
    temporal = shutil.which("temporal")
    assert temporal, "the temporal CLI is missing: run `uv sync`"
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal,
        data_converter=pydantic_data_converter,
        dev_server_extra_args=["--log-level", "error", *dev_server_flags()],
    )
    yield environment
    await environment.shutdown()
