"""Drive an onboarding through the starter CLI and play the customer through the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from emulator.control import CustomerTenant
from harness.polling import assert_eventually
from tests.cli.requests import as_flags
from tests.cli.starter_process import CliRun, run_starter
from tests.e2e.conftest import Stack

REGION = "eastus"


async def cli(stack: Stack, *args: str) -> CliRun:
    return await run_starter(*args, env=stack.cli_env)


def des_name_for(customer: CustomerTenant) -> str:
    return f"des-{customer.tenant_id[:8]}"


def request_fields(stack: Stack, customer: CustomerTenant) -> dict[str, str]:
    return {
        "customer_tenant_id": customer.tenant_id,
        "customer_name": "Contoso",
        "isv_tenant_id": stack.isv.tenant_id,
        "subscription_id": stack.isv.subscription_id,
        "resource_group": "cmk-rg",
        "region": REGION,
        "des_name": des_name_for(customer),
    }


async def start_again(stack: Stack, customer: CustomerTenant) -> CliRun:
    return await cli(stack, "start", *as_flags(request_fields(stack, customer)))


async def start_onboarding(stack: Stack, customer: CustomerTenant) -> str:
    fields = request_fields(stack, customer)
    started = await cli(stack, "start", *as_flags(fields), "--json")
    assert started.code == 0, started.stderr
    return str(json.loads(started.stdout)["workflow_id"])


async def status_of(stack: Stack, workflow_id: str) -> dict[str, Any]:
    result = await cli(stack, "status", "-w", workflow_id, "--json")
    assert result.code == 0, f"{result.stderr}\nworker log:\n{stack.worker.log_tail()}"
    return dict(json.loads(result.stdout))


async def wait_for_status(
    stack: Stack, workflow_id: str, condition: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first `status --json` answer that satisfies `condition`."""
    seen: dict[str, Any] = {}

    async def check() -> bool:
        seen.update(await status_of(stack, workflow_id))
        return condition(seen)

    await assert_eventually(
        check,
        within=60,
        interval=0.3,  # each check runs starter.py
        message=f"status never matched; last: {seen}\nworker log:\n{stack.worker.log_tail()}",
    )
    return seen


async def prepare_customer_vault(
    stack: Stack, customer: CustomerTenant, app_id: str, *, assign_role: bool
) -> tuple[str, str]:
    """Consent, a purge-protected vault in the disks' region and an RSA 3072 key; the key URL."""
    vault = f"kv{customer.tenant_id[:8]}"
    await stack.control.grant_consent(customer.tenant_id, app_id)
    await stack.control.create_vault(customer.tenant_id, vault, region=REGION)
    key_url = await stack.control.create_key(customer.tenant_id, vault, "disk-key", size=3072)
    if assign_role:
        await stack.control.assign_key_role(customer.tenant_id, vault, app_id)
    return vault, key_url
