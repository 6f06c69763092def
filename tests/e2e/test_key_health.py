"""Key health end to end: a real onboarding, every emulator health fault injected and cleared,
a key change, and offboarding, all through starter.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emulator.control import CustomerTenant
from harness.polling import assert_eventually
from tests.e2e.conftest import Stack
from tests.e2e.helpers import cli, prepare_customer_vault, request_fields, wait_for_status

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


async def _health(stack: Stack, workflow_id: str) -> dict[str, Any]:
    shown = await cli(stack, "health", "-w", workflow_id, "--json")
    assert shown.code == 0, shown.stderr
    return dict(json.loads(shown.stdout))


async def _wait_health(stack: Stack, workflow_id: str, health: str, code: str | None) -> None:
    last: dict[str, Any] = {}

    async def reached() -> bool:
        shown = await cli(stack, "health", "-w", workflow_id, "--json")
        if shown.code != 0:
            last["error"] = shown.stderr
            return False
        last.update(json.loads(shown.stdout))
        codes = [f["code"] for f in last["findings"]]
        return last["health"] == health and (code is None or code in codes)

    await assert_eventually(
        reached,
        within=60,
        message=f"health never {health}/{code}; last: {last}\n{stack.worker.log_tail()}",
    )


async def test_every_fault_is_detected_and_cleared_then_offboarded(
    stack: Stack, customer: CustomerTenant, tmp_path: Path
) -> None:
    """Each health fault of the emulator shows as its finding code and clears when undone."""
    fields: dict[str, Any] = dict(request_fields(stack, customer))
    fields["key_health"] = {"check_interval": "PT1S", "unhealthy_probe_interval": "PT1S"}
    request = tmp_path / "request.json"
    request.write_text(json.dumps(fields))
    started = await cli(stack, "start", "--from-json", str(request), "--json")
    assert started.code == 0, started.stderr
    workflow_id = json.loads(started.stdout)["workflow_id"]
    waiting = await wait_for_status(stack, workflow_id, lambda s: s["instructions"] is not None)
    _, key_url = await prepare_customer_vault(
        stack, customer, waiting["instructions"]["app_id"], assign_role=True
    )
    assert (await cli(stack, "complete", "-w", workflow_id, "--key-url", key_url)).code == 0
    done = await wait_for_status(stack, workflow_id, lambda s: s["stage"] == "completed")
    des_id = done["resources"]["encryption_set_id"]
    await _wait_health(stack, workflow_id, "healthy", None)

    for kind, code in EXPECTED.items():
        fault = await stack.control.inject_health_fault(des_id, kind)
        expected = "degraded" if kind == "des_changed" else "broken"
        await _wait_health(stack, workflow_id, expected, code)
        listed = await cli(stack, "list", "--health", expected, "--json")
        assert workflow_id in {row["workflow_id"] for row in json.loads(listed.stdout)}
        await stack.control.clear_health_fault(fault)
        await _wait_health(stack, workflow_id, "healthy", None)

    offboarded = await cli(stack, "offboard", "-w", workflow_id, "--json")
    assert offboarded.code == 0, offboarded.stderr + stack.worker.log_tail()
    result = json.loads(offboarded.stdout)
    assert result["deleted"] == [des_id] and result["watch_stopped"]
