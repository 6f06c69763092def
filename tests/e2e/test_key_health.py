"""Key health end to end: one real onboarding, every emulator health fault injected and cleared
(finding, CmkHealth in visibility, both notifications), then offboarding, all through starter.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import Client

from emulator.control import CustomerTenant
from emulator.control_ext import HEALTH_FAULTS
from harness.polling import assert_eventually
from models.lifecycle import QUERY_HEALTH, WatchStatus, watch_workflow_id
from payload_codec.codec import data_converter
from tests.e2e.conftest import WEBHOOK_CHANNEL, Stack
from tests.e2e.helpers import (
    REGION,
    cli,
    prepare_customer_vault,
    request_fields,
    wait_for_status,
)

EXPECTED = {
    "consent_revoked": "CONSENT_REVOKED",
    "role_removed": "KEY_ROLE_REMOVED",
    "key_disabled": "KEY_DISABLED",
    "key_expired": "KEY_EXPIRED",
    "key_deleted": "KEY_DELETED",
    "vault_gone": "KEY_VAULT_GONE",
    "identity_deleted": "IDENTITY_DELETED",
    "fic_deleted": "FEDERATED_CREDENTIAL_DELETED",
    "des_changed": "ENCRYPTION_SET_CHANGED_OUTSIDE_SERVICE",
}
# Seconds: a check every second, so each fault shows (and clears) within a few.
WATCH = {"check_interval": "PT1S", "unhealthy_probe_interval": "PT1S"}
WITHIN = 60


@dataclass(frozen=True)
class Onboarded:
    workflow_id: str
    des_id: str
    customer: CustomerTenant


@pytest.fixture(scope="module")
async def onboarded(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Onboarded:
    """One completed onboarding whose watch checks every second, shared by this module."""
    await stack.worker.wait_started()
    customer = await stack.control.create_customer_tenant(display_name="Contoso Health")
    fields: dict[str, Any] = dict(request_fields(stack, customer)) | {"key_health": WATCH}
    request = tmp_path_factory.mktemp("key-health") / "request.json"
    request.write_text(json.dumps(fields))
    started = await cli(stack, "start", "--from-json", str(request), "--json")
    assert started.code == 0, started.stderr
    workflow_id = str(json.loads(started.stdout)["workflow_id"])
    waiting = await wait_for_status(stack, workflow_id, lambda s: s["instructions"] is not None)
    _, key_url = await prepare_customer_vault(
        stack, customer, waiting["instructions"]["app_id"], assign_role=True
    )
    assert (await cli(stack, "complete", "-w", workflow_id, "--key-url", key_url)).code == 0
    done = await wait_for_status(stack, workflow_id, lambda s: s["stage"] == "completed")
    return Onboarded(workflow_id, done["resources"]["encryption_set_id"], customer)


async def _wait_health(stack: Stack, workflow_id: str, health: str, code: str | None) -> None:
    """Polls the watch's `health` query in-process (a starter.py per poll costs seconds on a busy
    machine); `starter.py health` and `list --health` are checked once per fault."""
    client = await Client.connect(stack.server.address, data_converter=data_converter(None))
    watch = client.get_workflow_handle(watch_workflow_id(workflow_id))

    async def reached() -> None:
        status = await watch.query(QUERY_HEALTH, result_type=WatchStatus)
        codes = [f.code for f in status.findings]
        assert status.health == health and (code is None or code in codes), (
            f"health never {health}/{code}; last: {status}\n{stack.worker.log_tail()}"
        )

    # assert_eventually re-raises the check's last AssertionError, with the last answer in it.
    await assert_eventually(reached, within=WITHIN, interval=0.3)


async def _wait_notified(
    stack: Stack, workflow_id: str, after: int, health: str, code: str | None
) -> None:
    """A health_changed message for the customer and one for the ISV, both at the webhook."""

    async def told() -> None:
        messages = (await stack.control.webhook_messages(WEBHOOK_CHANNEL))[after:]
        audiences = {
            m.get("audience")
            for m in messages
            if m.get("kind") == "health_changed"
            and m.get("workflow_id") == workflow_id
            and m.get("health") == health
            and (code is None or code in {f["code"] for f in m.get("findings", [])})
        }
        assert audiences == {"customer", "isv"}, f"{health}/{code} told to {audiences}"

    await assert_eventually(told, within=WITHIN, interval=0.5)


def test_every_emulator_fault_kind_is_covered() -> None:
    """A fault kind added to the emulator must get its expected finding here."""
    assert set(EXPECTED) == set(HEALTH_FAULTS)


@pytest.mark.parametrize(("kind", "code"), list(EXPECTED.items()))
async def test_fault_is_detected_notified_and_cleared(
    stack: Stack, onboarded: Onboarded, kind: str, code: str
) -> None:
    """Each fault shows as its finding code, CmkHealth (via `list --health`) and a message to the
    customer and the ISV; clearing it brings healthy back, again told to both."""
    workflow_id = onboarded.workflow_id
    await _wait_health(stack, workflow_id, "healthy", None)
    sent = len(await stack.control.webhook_messages(WEBHOOK_CHANNEL))
    fault = await stack.control.inject_health_fault(onboarded.des_id, kind)
    try:
        expected = "degraded" if kind == "des_changed" else "broken"
        await _wait_health(stack, workflow_id, expected, code)
        shown = await cli(stack, "health", "-w", workflow_id, "--json")
        assert shown.code == 0, shown.stderr
        assert code in {f["code"] for f in json.loads(shown.stdout)["findings"]}
        listed = await cli(stack, "list", "--health", expected, "--json")
        assert listed.code == 0, listed.stderr
        assert workflow_id in {row["workflow_id"] for row in json.loads(listed.stdout)}
        await _wait_notified(stack, workflow_id, sent, expected, code)
        sent = len(await stack.control.webhook_messages(WEBHOOK_CHANNEL))
    finally:
        await stack.control.clear_health_fault(fault)
    await _wait_health(stack, workflow_id, "healthy", None)
    await _wait_notified(stack, workflow_id, sent, "healthy", None)


def _active_key(snapshot: dict[str, Any], des_id: str) -> str:
    return str(snapshot["resources"][des_id.lower()]["properties"]["activeKey"]["keyUrl"])


async def test_change_key_rolls_back_a_refused_key_then_moves_to_a_usable_one(
    stack: Stack, onboarded: Onboarded
) -> None:
    """starter.py change-key against the emulator: a key in a vault the app has no role on is
    refused by Azure and the DES is put back on the old key (exit 1, reason and fix); a new key
    in the customer's vault passes the test disk and stays (exit 0); status records both."""
    tenant = onboarded.customer.tenant_id
    before = _active_key(await stack.control.snapshot(), onboarded.des_id)
    await stack.control.create_vault(tenant, f"kvnr{tenant[:6]}", region=REGION)
    no_role = await stack.control.create_key(tenant, f"kvnr{tenant[:6]}", "disk-key", size=3072)
    refused = await cli(stack, "change-key", "-w", onboarded.workflow_id, "--key-url", no_role)
    assert refused.code == 1, refused.stdout + refused.stderr + stack.worker.log_tail()
    assert "rolled_back" in refused.stdout and "fix:" in refused.stdout
    assert _active_key(await stack.control.snapshot(), onboarded.des_id) == before

    vault = before.split("//", 1)[1].split(".", 1)[0]
    rotated = await stack.control.create_key(tenant, vault, "disk-key-2026", size=3072)
    moved = await cli(
        stack, "change-key", "-w", onboarded.workflow_id, "--key-url", rotated, "--json"
    )
    assert moved.code == 0, moved.stdout + moved.stderr + stack.worker.log_tail()
    change = json.loads(moved.stdout)
    assert (change["outcome"], change["old_key_url"], change["new_key_url"]) == (
        "succeeded",
        before,
        rotated,
    )
    assert _active_key(await stack.control.snapshot(), onboarded.des_id) == rotated
    health = await cli(stack, "health", "-w", onboarded.workflow_id, "--json")
    assert health.code == 0, health.stderr
    recorded = json.loads(health.stdout)["key_changes"]
    assert [c["outcome"] for c in recorded] == ["rolled_back", "succeeded"]


async def test_offboarding_deletes_the_set_and_stops_the_watch(
    stack: Stack, onboarded: Onboarded
) -> None:
    """After the faults: offboard deletes the DES (shared identity kept) and stops the watch."""
    offboarded = await cli(stack, "offboard", "-w", onboarded.workflow_id, "--json")
    assert offboarded.code == 0, offboarded.stderr + stack.worker.log_tail()
    result = json.loads(offboarded.stdout)
    assert result["deleted"] == [onboarded.des_id] and result["watch_stopped"]
    snapshot = await stack.control.snapshot()
    assert onboarded.des_id.lower() not in snapshot["resources"]
