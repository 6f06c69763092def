"""local_stack.DevServer: free ports, search attributes registered, restart keeps history."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus

from harness.local_stack import DevServer, StackError
from models import search_attributes


async def test_restart_keeps_workflows_and_search_attributes(tmp_path: Path) -> None:
    """A restarted dev server serves on the same port from the same database file."""
    server = DevServer(db_file=tmp_path / "temporal.db", ui=False)
    await server.start()
    try:
        client = await Client.connect(server.address)
        described = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        assert {key.name for key in search_attributes.ALL} <= set(described.custom_attributes)
        handle = await client.start_workflow(
            "CmkOnboarding", {}, id="survives-restart", task_queue="nobody-polls"
        )
        port = server.port

        await server.restart()
        assert server.port == port
        client = await Client.connect(server.address)
        description = await client.get_workflow_handle(handle.id).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
    finally:
        server.stop()
    assert not server.running


async def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    """A database path the server cannot open fails start() with the server's own log."""
    unusable = tmp_path / "a-directory.db"
    unusable.mkdir()
    server = DevServer(db_file=unusable, ui=False, log_file=tmp_path / "server.log")
    with pytest.raises(StackError, match="exited while starting"):
        await server.start(ready_within=30)
    assert not server.running
