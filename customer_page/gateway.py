"""What the page asks Temporal, through the client library: the status, and a submission."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from temporalio.client import Client, WorkflowExecutionStatus

from client import operations
from client.connection import TemporalTarget, existing_workflow
from models import Attempt, CustomerSetupComplete, OnboardingStatus


@dataclass(frozen=True)
class ClosedOnboarding:
    """The workflow has ended; `outcome` is its execution status, e.g. completed or failed."""

    outcome: str


class OnboardingGateway(Protocol):
    async def fetch(self, workflow_id: str) -> OnboardingStatus | ClosedOnboarding:
        """The live status, or ClosedOnboarding; client.errors exceptions otherwise."""
        ...

    async def submit(self, workflow_id: str, body: CustomerSetupComplete) -> Attempt:
        """The accepted attempt; OperationRejected carries the validator's reason."""
        ...


class TemporalGateway:
    def __init__(self, client: Client, target: TemporalTarget) -> None:
        self._client = client
        self._target = target

    async def fetch(self, workflow_id: str) -> OnboardingStatus | ClosedOnboarding:
        _, description = await existing_workflow(self._client, self._target, workflow_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            # A closed run needs a worker to replay it for a query; its close status says enough.
            name = description.status.name.lower() if description.status else "closed"
            return ClosedOnboarding(outcome=name)
        return await operations.fetch_status(self._client, self._target, workflow_id)

    async def submit(self, workflow_id: str, body: CustomerSetupComplete) -> Attempt:
        attempt = await operations.submit_customer_setup(
            self._client, self._target, workflow_id, body, as_signal=False
        )
        assert attempt is not None  # the update path always returns the accepted attempt
        return attempt
