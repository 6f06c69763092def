"""Issue 5, item 6: malformed or unsupported onboarding requests never reach Azure.

Every case goes through both ways a request enters the system:

- the starter CLI (`starter.py start --from-json FILE`, and flags where the field has one): exit 2,
  the field named on stderr, nothing started;
- `temporal workflow start --type CmkOnboarding --input '<json>'` with the real temporal CLI, so the
  raw JSON skips the starter's checks and only the workflow's own validation stands between it and
  Azure: the workflow fails at once with a non-retryable `InvalidRequest` application error naming
  the field, without scheduling a single activity.

The stack is a dedicated one (dev server, emulator process, worker.py) so that, after the whole
matrix, the emulator's request log must hold no ARM or Graph call at all and its state must be
unchanged. A final control sends a valid request the same way and sees it reach Azure, which is
what makes "no call" mean "rejected" rather than "never delivered".
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from emulator.control import RequestRecord
from harness.local_stack import temporal_binary
from harness.polling import assert_eventually
from models import NIL_GUID, ErrorType
from tests.cli.requests import as_flags
from tests.cli.starter_process import CliRun, run_starter
from tests.e2e.conftest import Stack, running_stack

WORKFLOW_TYPE = "CmkOnboarding"
# Keys of the request that `starter.py start` also takes as flags.
FLAG_FIELDS = {
    "customer_tenant_id",
    "customer_name",
    "isv_tenant_id",
    "subscription_id",
    "resource_group",
    "region",
    "des_name",
    "disk_sku",
    "encryption_type",
    "key_url",
}
REMOVE = object()  # a change that deletes the field from the valid request
NO_INPUT = object()  # `temporal workflow start` without --input at all
TWO_INPUTS = object()  # `temporal workflow start --input A --input B`: two workflow arguments
# Azure families in the emulator's request log (the token endpoint and admin API are neither).
AZURE_PATH = re.compile(r"^/(subscriptions|providers|v1\.0)(/|$)", re.IGNORECASE)
# Starter processes import temporalio, rich and typer (~1 s of CPU each): a few at a time keeps a
# shared 2-core machine responsive without serialising the whole matrix.
CLI_CONCURRENCY = 4
OUTCOME_TIMEOUT = 30.0
VAULT_KEY = "https://contosokv.vault.azure.net/keys/disk-key/0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class BadInput:
    """One malformed request: how it differs from a valid one and which field must be named."""

    id: str
    field_name: str
    change: dict[str, Any] = field(default_factory=dict)
    # A whole body that is not an object (or NO_INPUT), instead of `change`.
    body: Any = None
    # Also pass the request as starter flags (only string values of fields that have a flag).
    flags: bool = False
    # What the starter says instead of a field line, when the file is not a request object.
    cli_says: str | None = None

    def request(self, valid: dict[str, Any]) -> Any:
        if self.body is not None:
            return self.body
        merged = valid | self.change
        return {k: v for k, v in merged.items() if v is not REMOVE}


CASES = [
    # --- GUIDs ---
    BadInput(
        "tenant-not-a-guid",
        "customer_tenant_id",
        {"customer_tenant_id": "contoso.onmicrosoft.com"},
        flags=True,
    ),
    BadInput(
        "tenant-guid-in-braces",
        "customer_tenant_id",
        {"customer_tenant_id": "{6f1c1a36-3f1e-4a0b-9a55-0e8a1c2b3d4e}"},
    ),
    BadInput(
        "tenant-guid-one-digit-short",
        "customer_tenant_id",
        {"customer_tenant_id": "6f1c1a36-3f1e-4a0b-9a55-0e8a1c2b3d4"},
    ),
    # Accepted before: the nil GUID names no tenant.
    BadInput("tenant-nil-guid", "customer_tenant_id", {"customer_tenant_id": NIL_GUID}),
    # Accepted before: `$` in a re.match pattern let a trailing newline through.
    BadInput(
        "tenant-guid-trailing-newline",
        "customer_tenant_id",
        {"customer_tenant_id": "6f1c1a36-3f1e-4a0b-9a55-0e8a1c2b3d4e\n"},
    ),
    BadInput("subscription-nil-guid", "subscription_id", {"subscription_id": NIL_GUID}),
    # Accepted before: a "cross-tenant" key in the ISV's own tenant.
    BadInput(
        "customer-tenant-is-the-isv-tenant",
        "customer_tenant_id",
        {"customer_tenant_id": "ISV"},
        flags=True,
    ),
    # --- names: lengths and characters ---
    BadInput("des-name-81-characters", "des_name", {"des_name": "d" * 81}, flags=True),
    BadInput("des-name-space-and-bang", "des_name", {"des_name": "contoso des!"}),
    BadInput("des-name-empty", "des_name", {"des_name": ""}),
    # Accepted before (trailing newline, as for GUIDs).
    BadInput("des-name-trailing-newline", "des_name", {"des_name": "contoso-des\n"}),
    BadInput(
        "resource-group-slash-path-trick",
        "resource_group",
        {"resource_group": "cmk-rg/providers/x"},
    ),
    BadInput("customer-name-blank", "customer_name", {"customer_name": "   "}),
    BadInput("customer-name-100-kB", "customer_name", {"customer_name": "x" * 100_000}),
    # --- regions, disk SKUs, encryption types ---
    BadInput("region-not-in-policy", "region", {"region": "westeurope"}, flags=True),
    BadInput("region-not-a-location", "region", {"region": "east us; rm -rf"}),
    BadInput("disk-sku-ultra", "disk_sku", {"disk_sku": "UltraSSD_LRS"}, flags=True),
    BadInput("disk-sku-premium-v2", "disk_sku", {"disk_sku": "PremiumV2_LRS"}),
    BadInput("disk-sku-unknown", "disk_sku", {"disk_sku": "Premium_XYZ"}),
    BadInput("encryption-type-unknown", "encryption_type", {"encryption_type": "Rot13"}),
    # --- key URLs given up front ---
    BadInput(
        "key-url-http",
        "key_url",
        {"key_url": "http://contosokv.vault.azure.net/keys/disk-key"},
        flags=True,
    ),
    BadInput("key-url-other-host", "key_url", {"key_url": "https://evil.com/keys/disk-key"}),
    BadInput(
        "key-url-vault-suffix-then-other-host",
        "key_url",
        {"key_url": "https://contosokv.vault.azure.net.evil.com/keys/disk-key"},
        flags=True,
    ),
    BadInput(
        "key-url-missing-key-name",
        "key_url",
        {"key_url": "https://contosokv.vault.azure.net/keys/"},
    ),
    # DiskRP requires the version segment, even with rotation to the latest version.
    BadInput(
        "key-url-without-version",
        "key_url",
        {"key_url": "https://contosokv.vault.azure.net/keys/disk-key"},
        flags=True,
    ),
    BadInput("key-url-query-string", "key_url", {"key_url": VAULT_KEY + "?api-version=7.4"}),
    BadInput("key-url-fragment", "key_url", {"key_url": VAULT_KEY + "#v2"}),
    BadInput(
        "key-url-dot-dot-to-secrets",
        "key_url",
        {"key_url": "https://contosokv.vault.azure.net/keys/../secrets/x"},
    ),
    BadInput(
        "key-url-secret-not-key",
        "key_url",
        {"key_url": "https://contosokv.vault.azure.net/secrets/x"},
    ),
    BadInput(
        "key-url-userinfo",
        "key_url",
        {"key_url": "https://admin:pw@contosokv.vault.azure.net/keys/disk-key"},
    ),
    BadInput(
        "key-url-port",
        "key_url",
        {"key_url": "https://contosokv.vault.azure.net:8443/keys/disk-key"},
    ),
    # Accepted before: urlsplit drops the newline, so the check saw a clean URL.
    BadInput(
        "key-url-embedded-newline",
        "key_url",
        {"key_url": "https://contosokv.vault.azure.net/keys/disk-key\n"},
    ),
    # --- durations and numbers ---
    BadInput("reminder-interval-negative", "reminder_interval", {"reminder_interval": "-PT1H"}),
    BadInput("reminder-interval-zero", "reminder_interval", {"reminder_interval": "PT0S"}),
    BadInput(
        "deadline-shorter-than-reminder",
        "reminder_interval",
        {"reminder_interval": "P3D", "customer_deadline": "P1D"},
    ),
    BadInput("deadline-absurd-274-years", "customer_deadline", {"customer_deadline": "P100000D"}),
    BadInput("test-disk-100-TB", "test_disk_size_gb", {"test_disk_size_gb": 100_000}),
    # --- empty, missing and unknown fields ---
    BadInput("des-name-missing", "des_name", {"des_name": REMOVE}, flags=True),
    BadInput("unknown-field", "colour", {"colour": "red"}),
    BadInput("unknown-policy-field", "policy.colour", {"policy": {"colour": "red"}}),
    # --- wrong JSON types ---
    BadInput("isv-tenant-number", "isv_tenant_id", {"isv_tenant_id": 12345}),
    BadInput("customer-name-null", "customer_name", {"customer_name": None}),
    BadInput("region-list", "region", {"region": ["eastus"]}),
    BadInput("policy-list-not-object", "policy", {"policy": []}),
    BadInput("max-attempts-string", "max_customer_attempts", {"max_customer_attempts": "5"}),
    # Accepted before: pydantic read `true` as a duration of one second.
    BadInput("reminder-interval-boolean", "reminder_interval", {"reminder_interval": True}),
    BadInput(
        "request-is-a-list",
        "request",
        body=[{"customer_name": "Contoso"}],
        cli_says="must hold a JSON object",
    ),
]
STARTER_ONLY = [
    # Files json.loads cannot turn into a request; both were tracebacks (exit 1) before.
    BadInput(
        "request-file-nested-5000-deep",
        "request",
        body='{"colour": ' + "[" * 5000 + "]" * 5000 + "}",
        cli_says="nests arrays or objects too deeply",
    ),
    BadInput(
        "request-file-not-utf8",
        "request",
        body=b'\xff\xfe{"region": "eastus"}',
        cli_says="is not UTF-8 text",
    ),
]
WORKFLOW_ONLY = [
    # The temporal CLI can start a workflow with no argument, or several; the starter cannot.
    # Both crashed the workflow task (TypeError) and were retried forever before.
    BadInput("request-missing-entirely", "request", body=NO_INPUT),
    BadInput("request-given-twice", "request", body=TWO_INPUTS),
]


def _json_body(case: BadInput, valid: dict[str, Any]) -> str:
    request = case.request(valid)
    return request if isinstance(request, str) else json.dumps(request)


def _write_request(path: Path, case: BadInput, valid: dict[str, Any]) -> None:
    if isinstance(case.body, bytes):
        path.write_bytes(case.body)
    else:
        path.write_text(_json_body(case, valid))


# --- the stack and the two entry points --------------------------------------------------------


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("bad-input")) as started:
        yield started


@pytest.fixture(scope="module")
async def client(stack: Stack) -> Client:
    return await Client.connect(stack.server.address, data_converter=pydantic_data_converter)


@pytest.fixture(scope="module")
async def pristine_snapshot(stack: Stack) -> dict[str, Any]:
    """The emulator's state before any bad request: what it must still be afterwards."""
    return await stack.control.snapshot()


def valid_request(stack: Stack) -> dict[str, Any]:
    """A request that would onboard: the ISV and subscription are the emulator's real ones, so a
    bad field that slipped through would show up as Azure calls in the request log."""
    tenant = str(uuid.uuid4())
    return {
        "customer_tenant_id": tenant,
        "customer_name": "Contoso",
        "isv_tenant_id": stack.isv.tenant_id,
        "subscription_id": stack.isv.subscription_id,
        "resource_group": "cmk-rg",
        "region": "eastus",
        "des_name": f"des-{tenant[:8]}",
    }


def _resolve(case: BadInput, stack: Stack) -> BadInput:
    """Fill in what depends on the stack (the ISV tenant id)."""
    if case.change.get("customer_tenant_id") == "ISV":
        return replace(case, change={"customer_tenant_id": stack.isv.tenant_id})
    return case


@dataclass
class CliOutcome:
    from_json: CliRun
    flags: CliRun | None


async def run_starter_matrix(stack: Stack, folder: Path) -> dict[str, CliOutcome]:
    """Every case through `starter.py start`, a few processes at a time."""
    gate = asyncio.Semaphore(CLI_CONCURRENCY)

    async def starter(*args: str) -> CliRun:
        async with gate:
            return await run_starter("start", *args, env=stack.cli_env)

    async def one(case: BadInput) -> CliOutcome:
        case = _resolve(case, stack)
        valid = valid_request(stack)
        request_file = folder / f"{case.id}.json"
        _write_request(request_file, case, valid)
        from_json = await starter("--from-json", str(request_file))
        by_flags = None
        if case.flags:
            request = case.request(valid)
            assert all(k in FLAG_FIELDS and isinstance(v, str) for k, v in request.items())
            by_flags = await starter(*as_flags(request))
        return CliOutcome(from_json, by_flags)

    cases = CASES + STARTER_ONLY
    outcomes = await asyncio.gather(*(one(case) for case in cases))
    return {case.id: outcome for case, outcome in zip(cases, outcomes, strict=True)}


@dataclass
class WorkflowOutcome:
    workflow_id: str
    start: CliRun
    failure: BaseException | None
    event_types: list[EventType.ValueType]


async def temporal_start(stack: Stack, workflow_id: str, inputs: list[str]) -> CliRun:
    """`temporal workflow start` as an operator would type it: raw JSON, no starter in between."""
    command = [
        temporal_binary(),
        "workflow",
        "start",
        "--address",
        stack.server.address,
        "--namespace",
        "default",
        "--task-queue",
        stack.task_queue,
        "--type",
        WORKFLOW_TYPE,
        "--workflow-id",
        workflow_id,
    ]
    for body in inputs:
        command += ["--input", body]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return CliRun(process.returncode, stdout.decode(), stderr.decode())


async def run_workflow_matrix(stack: Stack, client: Client) -> dict[str, WorkflowOutcome]:
    """Every case started at once through the temporal CLI, then each run's end and history."""

    async def one(case: BadInput) -> WorkflowOutcome:
        case = _resolve(case, stack)
        workflow_id = f"bad-input-{case.id}-{uuid.uuid4().hex[:6]}"
        valid = valid_request(stack)
        if case.body is NO_INPUT:
            inputs = []
        elif case.body is TWO_INPUTS:
            inputs = [json.dumps(valid)] * 2
        else:
            inputs = [_json_body(case, valid)]
        started = await temporal_start(stack, workflow_id, inputs)
        assert started.code == 0, f"{case.id}: temporal workflow start: {started.stderr}"
        handle = client.get_workflow_handle(workflow_id)
        failure: BaseException | None = None
        try:
            # A workflow task that crashes is retried forever: that shows up as this timeout.
            await asyncio.wait_for(handle.result(), OUTCOME_TIMEOUT)
        except (WorkflowFailureError, TimeoutError) as error:
            failure = error
        history = await handle.fetch_history()
        return WorkflowOutcome(
            workflow_id, started, failure, [event.event_type for event in history.events]
        )

    cases = CASES + WORKFLOW_ONLY
    outcomes = await asyncio.gather(*(one(case) for case in cases))
    return {case.id: outcome for case, outcome in zip(cases, outcomes, strict=True)}


@dataclass
class Matrix:
    starter: dict[str, CliOutcome]
    workflows: dict[str, WorkflowOutcome]


@pytest.fixture(scope="module")
async def matrix(
    stack: Stack,
    client: Client,
    pristine_snapshot: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Matrix:
    """Both entry points at once: the workflows fail while the starter processes run."""
    starter, workflows = await asyncio.gather(
        run_starter_matrix(stack, tmp_path_factory.mktemp("bad-requests")),
        run_workflow_matrix(stack, client),
    )
    return Matrix(starter, workflows)


# --- per-case checks ----------------------------------------------------------------------------


def test_the_matrix_is_wide_enough() -> None:
    """Issue 5 asks for at least 25 distinct bad inputs, each through both entry points."""
    assert len(CASES) >= 25
    everything = CASES + STARTER_ONLY + WORKFLOW_ONLY
    assert len({case.id for case in everything}) == len(everything)


def _assert_cli_rejected(case: BadInput, run: CliRun, how: str) -> None:
    context = f"{case.id} via {how}: exit {run.code}\nstdout: {run.stdout}\nstderr: {run.stderr}"
    assert run.code == 2, context
    assert "Traceback" not in run.stderr, context
    assert run.stdout == "", context
    if case.cli_says is not None:
        # A file that is not a request object never gets to field checks: the file is named.
        assert run.stderr.startswith("error: --from-json: "), context
        assert case.cli_says in run.stderr, context
    else:
        assert "nothing was started" in run.stderr, context
        # One line per problem: "  <field> (--<flag>): <what to fix>".
        assert f"  {case.field_name} (--" in run.stderr, context


@pytest.mark.parametrize("case", CASES + STARTER_ONLY, ids=lambda case: case.id)
def test_starter_rejects_with_exit_2_naming_the_field(case: BadInput, matrix: Matrix) -> None:
    outcome = matrix.starter[case.id]
    _assert_cli_rejected(case, outcome.from_json, "--from-json")
    if case.flags:
        assert outcome.flags is not None
        _assert_cli_rejected(case, outcome.flags, "flags")


@pytest.mark.parametrize("case", CASES + WORKFLOW_ONLY, ids=lambda case: case.id)
def test_workflow_fails_non_retryable_naming_the_field_before_any_activity(
    case: BadInput, matrix: Matrix
) -> None:
    outcome = matrix.workflows[case.id]
    assert isinstance(outcome.failure, WorkflowFailureError), f"{case.id}: {outcome.failure!r}"
    cause = outcome.failure.cause
    assert isinstance(cause, ApplicationError), f"{case.id}: {cause!r}"
    assert cause.type == ErrorType.INVALID_REQUEST
    assert cause.non_retryable
    assert f"{case.field_name}: " in cause.message, cause.message
    # Validation is the workflow's first step: nothing was scheduled, no task crashed and retried.
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in outcome.event_types
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in outcome.event_types
    assert outcome.event_types[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED


# --- the emulator afterwards --------------------------------------------------------------------


def _azure_calls(records: list[RequestRecord]) -> list[str]:
    return [f"{r.method} {r.path}" for r in records if AZURE_PATH.match(r.path)]


async def test_no_azure_call_and_nothing_created_then_a_valid_request_does_reach_azure(
    stack: Stack,
    client: Client,
    pristine_snapshot: dict[str, Any],
    matrix: Matrix,
) -> None:
    """After the whole matrix the emulator saw no ARM or Graph request and holds what it held;
    the starter started no workflow. Then the same `temporal workflow start` with a valid request
    gets the worker calling Azure, so the silence above was the validation's doing."""
    assert _azure_calls(await stack.control.requests()) == []
    assert await stack.control.snapshot() == pristine_snapshot
    # Pristine means: only the ISV worker's own app registration, no onboarding's app, identity,
    # encryption set or disk.
    isv_apps = pristine_snapshot["tenants"][stack.isv.tenant_id.lower()]["applications"]
    assert [a for a in isv_apps.values() if a["signInAudience"] == "AzureADMultipleOrgs"] == []
    assert pristine_snapshot["resources"] == {}

    on_server = {execution.id async for execution in client.list_workflows()}
    assert on_server == {outcome.workflow_id for outcome in matrix.workflows.values()}

    control_id = f"bad-input-control-{uuid.uuid4().hex[:6]}"
    started = await temporal_start(stack, control_id, [json.dumps(valid_request(stack))])
    assert started.code == 0, started.stderr

    async def azure_called() -> bool:
        return bool(_azure_calls(await stack.control.requests()))

    await assert_eventually(
        azure_called,
        within=30,
        interval=0.3,
        message=f"valid request made no Azure call:\n{stack.worker.log_tail()}",
    )
    handle = client.get_workflow_handle(control_id)
    await handle.cancel()

    async def closed() -> bool:
        return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING

    await assert_eventually(
        closed, within=30, interval=0.3, message="control onboarding did not end"
    )
