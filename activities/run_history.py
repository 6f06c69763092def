"""Earlier runs of a workflow id, read from Temporal's visibility with the worker's client."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client

from models import ActivityName


class RunHistoryActivities:
    """Holds the worker's Temporal client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name=ActivityName.EARLIER_COMPLETED_RUN)
    async def earlier_completed_run(self, workflow_id: str) -> str | None:
        """The run id of a completed run of `workflow_id`, or None if there is none."""
        escaped = workflow_id.replace("\\", "\\\\").replace("'", "\\'")
        query = f"WorkflowId = '{escaped}' AND ExecutionStatus = 'Completed'"
        async for execution in self._client.list_workflows(query, limit=1):
            return execution.run_id
        return None
