"""The worker tests' name for the session's dev server; it, the emulator and the tenants come
from tests/conftest.py."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment


@pytest.fixture(scope="session")
def dev_server(dev_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The same server as `dev_env`, under the name the worker tests ask for."""
    return dev_env
