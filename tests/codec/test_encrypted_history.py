"""Real dev server: histories hold no plaintext customer data; codec server and CLI decode it."""

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads, SearchAttributes, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    QueryWorkflowRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models import search_attributes
from payload_codec.codec import AesGcmCodec, CodecKeys, PayloadDecryptionError, data_converter
from tests.codec.conftest import CODEC_TOKEN
from tests.codec.helpers import KEY_B, KEY_URL, TENANT_ID, keys
from tests.codec.probe_workflow import ProbeInput, ProbeResult, ProbeWorkflow, describe_key

CUSTOMER_NAME = "Contoso Plain Search Attribute"
SECRETS = (TENANT_ID.encode(), KEY_URL.encode())


@pytest.fixture
async def finished(codec_env: WorkflowEnvironment) -> AsyncIterator[WorkflowHandle]:
    """A probe workflow run to completion through signal, query and activity, with the codec on."""
    task_queue = f"codec-{uuid.uuid4()}"
    async with Worker(
        codec_env.client,
        task_queue=task_queue,
        workflows=[ProbeWorkflow],
        activities=[describe_key],
    ):
        handle = await codec_env.client.start_workflow(
            ProbeWorkflow.run,
            ProbeInput(tenant_id=TENANT_ID, key_url=KEY_URL),
            id=f"codec-probe-{uuid.uuid4()}",
            task_queue=task_queue,
            memo={"customer_tenant_id": TENANT_ID},
            static_summary=f"onboarding {TENANT_ID}",
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(search_attributes.CUSTOMER_NAME, CUSTOMER_NAME)]
            ),
        )
        await handle.signal(ProbeWorkflow.add_note, f"customer key {KEY_URL}")
        assert KEY_URL in await handle.query(ProbeWorkflow.note)
        result = await handle.result()
        assert result == ProbeResult(
            described=f"tenant {TENANT_ID} uses {KEY_URL}", note=f"customer key {KEY_URL}"
        )
        yield handle


async def _raw_client(env: WorkflowEnvironment) -> Client:
    """A client with no codec: what anyone with database or API access but no keys sees."""
    return await Client.connect(
        env.client.service_client.config.target_host, namespace=env.client.namespace
    )


async def _raw_history(env: WorkflowEnvironment, workflow_id: str):
    raw = await _raw_client(env)
    response = await raw.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=env.client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    return response.history


def _payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload inside a proto message, except search attributes (plain by design)."""
    if isinstance(message, Payload):
        yield message
        return
    if isinstance(message, SearchAttributes):
        return
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            items = [v for v in value.values() if isinstance(v, Message)]
        elif descriptor.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            yield from _payloads_in(item)


async def test_history_holds_no_plaintext_customer_data(
    codec_env: WorkflowEnvironment, finished: WorkflowHandle
) -> None:
    """Input, memo, summaries, details, signal, activity args and result are all ciphertext."""
    history = await _raw_history(codec_env, finished.id)
    kinds = {event.event_type for event in history.events}
    assert {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    } <= kinds
    raw = history.SerializeToString()
    for secret in SECRETS:
        assert secret not in raw
    payloads = list(_payloads_in(history))
    assert payloads and all(p.metadata["encoding"] == b"binary/encrypted" for p in payloads)


@pytest.mark.parametrize(
    ("query_type", "secret"),
    [("note", KEY_URL), ("__temporal_workflow_metadata", TENANT_ID)],
)
async def test_query_answers_are_encrypted_on_the_wire(
    codec_env: WorkflowEnvironment, finished: WorkflowHandle, query_type: str, secret: str
) -> None:
    """Query answers, even the UI's current-details query, reach a codec-less caller encrypted."""
    raw = await _raw_client(codec_env)
    response = await raw.workflow_service.query_workflow(
        QueryWorkflowRequest(
            namespace=codec_env.client.namespace,
            execution=WorkflowExecution(workflow_id=finished.id),
            query=WorkflowQuery(query_type=query_type),
        )
    )
    assert secret.encode() not in response.SerializeToString()
    decoded = await AesGcmCodec(keys()).decode(response.query_result.payloads)
    assert secret.encode() in b"".join(p.data for p in decoded)


async def test_search_attributes_stay_plain_by_design(
    codec_env: WorkflowEnvironment, finished: WorkflowHandle
) -> None:
    """Search attribute values are visible in the raw history, as documented."""
    history = await _raw_history(codec_env, finished.id)
    assert CUSTOMER_NAME.encode() in history.SerializeToString()


async def test_codec_server_decodes_the_history(
    codec_env: WorkflowEnvironment, finished: WorkflowHandle, codec_server_url: str
) -> None:
    """Posting the raw history payloads to /decode returns the plaintext tenant id and key URL."""
    history = await _raw_history(codec_env, finished.id)
    body = json_format.MessageToJson(Payloads(payloads=list(_payloads_in(history))))
    headers = {
        "Authorization": f"Bearer {CODEC_TOKEN}",
        "Content-Type": "application/json",
        "X-Namespace": codec_env.client.namespace,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{codec_server_url}/decode", data=body, headers=headers) as response,
    ):
        assert response.status == 200
        decoded = json_format.Parse(await response.text(), Payloads())
    plain = b"".join(p.data for p in decoded.payloads)
    for secret in SECRETS:
        assert secret in plain


async def _temporal_show(env: WorkflowEnvironment, workflow_id: str, *codec_args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        shutil.which("temporal") or "temporal",
        "workflow",
        "show",
        "--workflow-id",
        workflow_id,
        "--address",
        env.client.service_client.config.target_host,
        "--namespace",
        env.client.namespace,
        "--detailed",
        *codec_args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_temporal_cli_shows_plaintext_through_codec_endpoint(
    codec_env: WorkflowEnvironment, finished: WorkflowHandle, codec_server_url: str
) -> None:
    """`temporal workflow show --codec-endpoint` prints plaintext; without it only ciphertext."""
    without = await _temporal_show(codec_env, finished.id)
    assert TENANT_ID not in without and KEY_URL not in without
    shown = await _temporal_show(
        codec_env,
        finished.id,
        "--codec-endpoint",
        codec_server_url,
        "--codec-auth",
        f"Bearer {CODEC_TOKEN}",
    )
    assert TENANT_ID in shown and KEY_URL in shown


@pytest.mark.parametrize(
    ("wrong_keys", "message"),
    [
        (CodecKeys(keys={"a": KEY_B}, active_key_id="a"), "key id 'a': authentication failed"),
        (CodecKeys(keys={"b": KEY_B}, active_key_id="b"), "key id 'a' is not configured"),
    ],
)
async def test_client_with_wrong_key_fails_clearly(
    codec_env: WorkflowEnvironment, finished: WorkflowHandle, wrong_keys: CodecKeys, message: str
) -> None:
    """A client holding the wrong key material or key id cannot read the result and says why."""
    client = Client(
        codec_env.client.service_client,
        namespace=codec_env.client.namespace,
        data_converter=data_converter(wrong_keys),
    )
    with pytest.raises(PayloadDecryptionError, match=message):
        await client.get_workflow_handle(finished.id).result()
