"""Issue 5, item 8: no credential ever lands in a workflow history or in the worker's log.

The test runs its own representative onboardings with the real worker (happy path, a customer who
forgets the role and fixes it, a cancellation), so it does not depend on which other e2e tests ran,
then scans every run of every workflow on the session's dev server and the worker's whole log.
Histories are scanned as JSON *with every payload decoded*: Temporal stores payload data base64
encoded, so a secret inside an activity input or result would not show in the raw JSON.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import CancelledError

from harness.polling import assert_eventually
from models import QUERY_STATUS, OnboardingStatus, Stage
from tests.e2e.conftest import Stack
from tests.e2e.helpers import cli, prepare_customer_vault, start_onboarding

# What a leaked credential looks like. The Bearer pattern needs a token-sized run of token
# characters, so prose such as azure-core's "Bearer token authentication is not permitted ..."
# is not a finding.
LEAK_PATTERNS = {
    "bearer token": re.compile(r"Bearer\s+[A-Za-z0-9\-._~+/]{20,}=*"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\."),
    "client_secret with a value": re.compile(
        r"client_secret[\"']?\s*[:=]\s*[\"']?[^\s\"',;&}]{6,}", re.IGNORECASE
    ),
    "PEM certificate or private key": re.compile(r"-----BEGIN"),
}


def find_leaks(text: str, known_secrets: tuple[str, ...]) -> list[str]:
    """Every finding as 'kind: start of the match', shortened so a failure does not re-leak it."""
    findings = [
        f"{kind}: {match.group(0)[:16]}..."
        for kind, pattern in LEAK_PATTERNS.items()
        for match in pattern.finditer(text)
    ]
    findings += [f"known secret: {s[:4]}..." for s in known_secrets if s and s in text]
    return findings


def _decoded(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return value


def history_text(history_json: dict[str, Any]) -> str:
    """The history's JSON plus the decoded data and metadata of every payload in it."""
    parts = [json.dumps(history_json)]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "data" in node and isinstance(node.get("metadata"), dict):
                parts.append(_decoded(str(node["data"])))
                parts.extend(_decoded(str(v)) for v in node["metadata"].values())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(history_json)
    return "\n".join(parts)


def _payload(data: str) -> dict[str, Any]:
    return {
        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
        "data": base64.b64encode(data.encode()).decode(),
    }


# A syntactically real JWT (header.payload.signature), made up for the self-check.
PLANTED_JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0aWQiOiJjb250b3NvIiwiYXVkIjoiYXJtIn0.c2lnbmF0dXJl"
)
PLANTED_SECRET = "Xq8~planted.isv.secret-value_0123456789"


@pytest.mark.parametrize(
    ("kind", "sample"),
    [
        ("bearer token", f"GET /subscriptions Authorization: Bearer {PLANTED_JWT}"),
        ("JWT", f'{{"access_token": "{PLANTED_JWT}"}}'),
        ("client_secret with a value", f"client_secret={PLANTED_SECRET}&grant_type=x"),
        ("client_secret with a value", f'{{"AZURE_CLIENT_SECRET": "{PLANTED_SECRET}"}}'),
        ("PEM certificate or private key", "-----BEGIN PRIVATE KEY-----\nMIIEv..."),
        ("known secret", f"retrying with {PLANTED_SECRET}"),
    ],
)
def test_scanner_finds_a_planted_leak(kind: str, sample: str) -> None:
    """Each pattern fires on a sample that carries that kind of credential."""
    assert any(f.startswith(kind) for f in find_leaks(sample, (PLANTED_SECRET,)))


def test_scanner_finds_a_jwt_hidden_in_a_base64_payload() -> None:
    """A token inside an activity result is only visible after decoding the payload."""
    history = {
        "events": [
            {
                "activityTaskCompletedEventAttributes": {
                    "result": {"payloads": [_payload(json.dumps({"token": PLANTED_JWT}))]}
                }
            }
        ]
    }
    assert find_leaks(json.dumps(history), ()) == []
    assert any(f.startswith("JWT") for f in find_leaks(history_text(history), ()))


def test_scanner_ignores_prose_about_credentials() -> None:
    """What the code legitimately says about credentials is not a finding."""
    clean = (
        "Bearer token authentication is not permitted for non-TLS protected (non-https) URLs. "
        "AZURE_CLIENT_SECRET is required in azure mode; client_secret: None"
    )
    assert find_leaks(clean, (PLANTED_SECRET,)) == []


# --- the flows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    workflow_id: str
    customer_tenant_id: str
    key_url: str | None


async def _status(client: Client, workflow_id: str) -> OnboardingStatus:
    handle = client.get_workflow_handle(workflow_id)
    return await handle.query(QUERY_STATUS, result_type=OnboardingStatus)


async def _until(
    client: Client, workflow_id: str, condition: Callable[[OnboardingStatus], bool]
) -> OnboardingStatus:
    """The first status that satisfies `condition`; on timeout the failure shows the last one."""

    async def reached() -> OnboardingStatus:
        status = await _status(client, workflow_id)
        assert condition(status), f"{workflow_id} never got there: {status}"
        return status

    return await assert_eventually(reached, within=60, interval=0.3)


def _awaiting(status: OnboardingStatus) -> bool:
    return status.stage == Stage.AWAITING_CUSTOMER and status.instructions is not None


async def _submit(stack: Stack, workflow_id: str, key_url: str) -> None:
    submitted = await cli(stack, "complete", "-w", workflow_id, "--key-url", key_url)
    assert submitted.code == 0, submitted.stderr


async def _onboard(stack: Stack, client: Client, *, forget_role: bool) -> Flow:
    """To completion; with `forget_role`, through one KeyVaultAccessForbidden loop-back first."""
    customer = await stack.control.create_customer_tenant(display_name="Contoso")
    workflow_id = await start_onboarding(stack, customer)
    app_id = (await _until(client, workflow_id, _awaiting)).instructions.app_id  # type: ignore[union-attr]
    vault, key_url = await prepare_customer_vault(
        stack, customer, app_id, assign_role=not forget_role
    )
    await _submit(stack, workflow_id, key_url)
    if forget_role:
        failed = await _until(
            client,
            workflow_id,
            lambda s: _awaiting(s) and bool(s.attempts) and s.attempts[0].outcome != "pending",
        )
        assert failed.attempts[0].code == "KeyVaultAccessForbidden"
        await stack.control.assign_key_role(customer.tenant_id, vault, app_id)
        await _submit(stack, workflow_id, key_url)
    await client.get_workflow_handle(workflow_id).result()
    return Flow(workflow_id, customer.tenant_id, key_url)


async def _cancel(stack: Stack, client: Client) -> Flow:
    customer = await stack.control.create_customer_tenant(display_name="Contoso")
    workflow_id = await start_onboarding(stack, customer)
    await _until(client, workflow_id, _awaiting)
    cancelled = await cli(stack, "cancel", "-w", workflow_id)
    assert cancelled.code == 0, cancelled.stderr
    with pytest.raises(WorkflowFailureError) as ended:
        await client.get_workflow_handle(workflow_id).result()
    assert isinstance(ended.value.cause, CancelledError)
    return Flow(workflow_id, customer.tenant_id, None)


# --- the scan ------------------------------------------------------------------------------------


async def test_no_secret_in_any_history_or_the_worker_log(stack: Stack) -> None:
    client = await Client.connect(stack.server.address, data_converter=pydantic_data_converter)
    flows = await asyncio.gather(
        _onboard(stack, client, forget_role=False),
        _onboard(stack, client, forget_role=True),
        _cancel(stack, client),
    )
    known = (stack.isv.client_secret,)

    runs = [execution async for execution in client.list_workflows()]
    assert {f.workflow_id for f in flows} <= {r.id for r in runs}
    histories = await asyncio.gather(
        *(client.get_workflow_handle(r.id, run_id=r.run_id).fetch_history() for r in runs)
    )
    leaks: dict[str, list[str]] = {}
    scanned: list[str] = []
    for run, history in zip(runs, histories, strict=True):
        text = history_text(json.loads(history.to_json()))
        scanned.append(text)
        if found := find_leaks(text, known):
            leaks[f"history {run.id}"] = found

    log = stack.worker.log_file.read_text(errors="replace")
    if found := find_leaks(log, known):
        leaks["worker log"] = found
    assert leaks == {}

    # The scan saw what it was meant to: these flows' histories with their payloads decoded (the
    # key URLs travel only inside payloads: update arguments, activity inputs) and the live
    # worker log, which records the loop-back's failed attempt (happy runs log nothing per
    # workflow at the default level).
    everything = "\n".join(scanned)
    for flow in flows:
        assert flow.customer_tenant_id in everything
        assert flow.key_url is None or flow.key_url in everything
    loop_back = flows[1]
    assert loop_back.workflow_id in log and "KeyVaultAccessForbidden" in log, log[-2000:]
