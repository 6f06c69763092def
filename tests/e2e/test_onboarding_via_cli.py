"""End to end through the CLI: real dev server, emulator over HTTPS and a worker.py subprocess."""

from __future__ import annotations

import json
from typing import Any

from emulator.control import CustomerTenant
from harness.polling import assert_eventually
from tests.e2e.conftest import WEBHOOK_CHANNEL, Stack
from tests.e2e.helpers import (
    cli,
    des_name_for,
    prepare_customer_vault,
    start_again,
    start_onboarding,
    status_of,
    wait_for_status,
)


def _awaiting_customer(status: dict[str, Any]) -> bool:
    return status["stage"] == "awaiting-customer" and status["instructions"] is not None


def _isv_resources(snapshot: dict[str, Any], stack: Stack, type_suffix: str) -> list[Any]:
    prefix = f"/subscriptions/{stack.isv.subscription_id}/".lower()
    return [
        r
        for key, r in snapshot["resources"].items()
        if key.startswith(prefix) and r["type"].lower().endswith(type_suffix.lower())
    ]


async def test_happy_path_through_the_cli(stack: Stack, customer: CustomerTenant) -> None:
    """start, instructions, complete, watch and status carry one onboarding to completed."""
    workflow_id = await start_onboarding(stack, customer)
    waiting = await wait_for_status(stack, workflow_id, _awaiting_customer)
    assert waiting["waiting_for"] == "customer"

    instructions = await cli(stack, "instructions", "-w", workflow_id, "--json")
    assert instructions.code == 0, instructions.stderr
    told = json.loads(instructions.stdout)
    assert told["consent_url"] == (
        f"https://login.microsoftonline.com/{customer.tenant_id}/adminconsent"
        f"?client_id={told['app_id']}"
    )
    listed = await cli(stack, "list", "--stage", "awaiting-customer", "--json")
    assert workflow_id in {row["workflow_id"] for row in json.loads(listed.stdout)}

    _, key_url = await prepare_customer_vault(stack, customer, told["app_id"], assign_role=True)
    submitted = await cli(stack, "complete", "-w", workflow_id, "--key-url", key_url)
    assert submitted.code == 0, submitted.stderr
    assert "submission #1 accepted" in submitted.stdout

    watched = await cli(stack, "watch", "-w", workflow_id, "--interval", "0.3")
    assert watched.code == 0, watched.stdout + watched.stderr + stack.worker.log_tail()
    assert "completed" in watched.stdout

    final = await status_of(stack, workflow_id)
    assert final["stage"] == "completed"
    assert final["resources"]["key_url"] == key_url
    assert [a["outcome"] for a in final["attempts"]] == ["succeeded"]

    snapshot = await stack.control.snapshot()
    isv_apps = snapshot["tenants"][stack.isv.tenant_id.lower()]["applications"].values()
    cmk_apps = [a for a in isv_apps if a.get("signInAudience") == "AzureADMultipleOrgs"]
    assert len(cmk_apps) == 1
    assert len(cmk_apps[0]["federatedIdentityCredentials"]) == 1
    assert len(_isv_resources(snapshot, stack, "/userAssignedIdentities")) == 1
    encryption_sets = [
        r
        for r in _isv_resources(snapshot, stack, "/diskEncryptionSets")
        if r["name"] == des_name_for(customer)
    ]
    assert len(encryption_sets) == 1
    assert encryption_sets[0]["properties"]["activeKey"]["keyUrl"] == key_url
    assert _isv_resources(snapshot, stack, "/disks") == []

    shown = await cli(stack, "status", "-w", workflow_id)
    assert shown.code == 0 and "completed" in shown.stdout
    restarted = await start_again(stack, customer)
    assert restarted.code == 1
    assert "already completed" in restarted.stderr


async def test_forgotten_role_is_reported_then_fixed(
    stack: Stack, customer: CustomerTenant
) -> None:
    """A missing role assignment sends the onboarding back to the customer with the reason;
    after the fix a second submission completes it."""
    workflow_id = await start_onboarding(stack, customer)
    waiting = await wait_for_status(stack, workflow_id, _awaiting_customer)
    app_id = waiting["instructions"]["app_id"]
    vault, key_url = await prepare_customer_vault(stack, customer, app_id, assign_role=False)

    first = await cli(stack, "complete", "-w", workflow_id, "--key-url", key_url)
    assert first.code == 0, first.stderr
    failed = await wait_for_status(
        stack,
        workflow_id,
        lambda s: bool(s["attempts"]) and s["attempts"][0]["outcome"] == "customer_error",
    )
    assert failed["attempts"][0]["code"] == "KeyVaultAccessForbidden"
    assert "KeyVaultAccessForbidden" in failed["last_failure"]
    back = await wait_for_status(stack, workflow_id, _awaiting_customer)
    assert back["waiting_for"] == "customer"

    async def customer_told() -> bool:
        messages = await stack.control.webhook_messages(WEBHOOK_CHANNEL)
        return any(
            m.get("kind") == "attempt_failed" and m.get("customer_tenant_id") == customer.tenant_id
            for m in messages
        )

    await assert_eventually(
        customer_told,
        within=60,
        interval=0.3,
        message="no attempt_failed message at the webhook sink",
    )

    shown = await cli(stack, "status", "-w", workflow_id)
    assert "KeyVaultAccessForbidden" in shown.stdout

    await stack.control.assign_key_role(customer.tenant_id, vault, app_id)
    second = await cli(stack, "complete", "-w", workflow_id, "--key-url", key_url)
    assert second.code == 0, second.stderr
    assert "submission #2 accepted" in second.stdout
    watched = await cli(stack, "watch", "-w", workflow_id, "--interval", "0.3")
    assert watched.code == 0, watched.stdout + watched.stderr
    final = await status_of(stack, workflow_id)
    assert [a["outcome"] for a in final["attempts"]] == ["customer_error", "succeeded"]


async def test_rejected_submission_and_cancel(stack: Stack, customer: CustomerTenant) -> None:
    """The update validator's reason reaches the user (exit 1); cancel ends the onboarding."""
    workflow_id = await start_onboarding(stack, customer)
    await wait_for_status(stack, workflow_id, _awaiting_customer)
    wrong_tenant = await cli(
        stack,
        "complete",
        "-w",
        workflow_id,
        "--key-url",
        "https://contosokv.vault.azure.net/keys/disk-key/0123456789abcdef0123456789abcdef",
        "--customer-tenant-id",
        "00000000-0000-0000-0000-000000000001",
    )
    assert wrong_tenant.code == 1
    assert wrong_tenant.stderr.startswith("error: submission rejected:")
    assert (await status_of(stack, workflow_id))["attempts"] == []

    cancelled = await cli(stack, "cancel", "-w", workflow_id)
    assert cancelled.code == 0, cancelled.stderr
    watched = await cli(stack, "watch", "-w", workflow_id, "--interval", "0.3")
    assert watched.code == 1
    assert (await status_of(stack, workflow_id))["stage"] == "cancelled"
