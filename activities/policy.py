"""The worker's onboarding policy, handed to each workflow once and recorded in its history."""

from __future__ import annotations

from temporalio import activity

from models import ActivityName, Policy


class PolicyActivities:
    """Holds the policy the worker was configured with (config/policy.py)."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    @activity.defn(name=ActivityName.LOAD_POLICY)
    async def load_policy(self) -> Policy:
        return self._policy
