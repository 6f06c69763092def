"""Undo what one onboarding created for its customer: idempotent, never the shared identity."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

from temporalio import workflow
from temporalio.exceptions import ActivityError

from models import ActivityName, OnboardingRequest
from workflows import plan, steps


@dataclass
class Leftovers:
    """What may exist because of this onboarding; flags are set before the create is attempted."""

    test_disk: bool = False
    encryption_set: bool = False
    identity: bool = False
    app_object_id: str | None = None


async def compensate(request: OnboardingRequest, leftovers: Leftovers) -> list[str]:
    """Delete the leftovers in dependency order; return what could not be deleted."""
    problems: list[str] = []

    async def delete(name: ActivityName, resource_id: str, what: str) -> object:
        try:
            return await steps.delete(name, resource_id, f"{what} {resource_id}")
        except ActivityError as error:
            problem = f"{what} {resource_id} not deleted: {error.cause or error}"
            workflow.logger.warning("Compensation step failed: %s", problem)
            problems.append(problem)
            return None

    # The disk uses the encryption set, which Azure refuses to delete while it is in use.
    if leftovers.test_disk:
        await delete(ActivityName.DELETE_TEST_DISK, plan.test_disk_id(request), "test disk")
    if leftovers.encryption_set:
        des_id = plan.encryption_set_id(request)
        if await delete(ActivityName.DELETE_ENCRYPTION_SET, des_id, "encryption set") is False:
            workflow.logger.info(
                "Encryption set %s kept: in use, already gone or not this onboarding's", des_id
            )
    if plan.is_isolated(request):
        deletions: list[Awaitable[object]] = []
        if leftovers.identity:
            deletions.append(
                delete(
                    ActivityName.DELETE_MANAGED_IDENTITY,
                    plan.identity_id(request),
                    "per-customer identity",
                )
            )
        if leftovers.app_object_id is not None:
            deletions.append(
                delete(
                    ActivityName.DELETE_APPLICATION,
                    leftovers.app_object_id,
                    "per-customer application",
                )
            )
        await asyncio.gather(*deletions)
    return problems
