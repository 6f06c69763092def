"""Connect to Temporal and turn its RPC failures into the client library's own exceptions."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from client.errors import (
    InvalidClientInput,
    OnboardingClientError,
    OperationRejected,
    TemporalUnreachable,
    WorkflowNotFound,
)
from config.secret_files import with_secret_files
from config.settings import (
    DEFAULT_NAMESPACE,
    DEFAULT_TASK_QUEUE,
    DEFAULT_TEMPORAL_ADDRESS,
    SettingsError,
    TemporalSettings,
)
from payload_codec.codec import CodecConfigError, data_converter

DEFAULT_ADDRESS = DEFAULT_TEMPORAL_ADDRESS


@dataclass(frozen=True)
class TemporalTarget:
    """Where the CLI sends its calls; filled by resolve_target() or by the demo."""

    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    task_queue: str = DEFAULT_TASK_QUEUE


async def connect_temporal(settings: TemporalSettings, **overrides: Any) -> Client:
    """A client with the project's pydantic data converter (and payload codec when configured);
    `overrides` are further Client.connect arguments, e.g. a runtime with metrics."""
    options: dict[str, Any] = {
        "namespace": settings.namespace,
        "data_converter": data_converter(settings.codec_keys),
        "tls": settings.tls_config(),
    }
    if settings.api_key:
        options["api_key"] = settings.api_key
    if settings.rpc_metadata:
        options["rpc_metadata"] = dict(settings.rpc_metadata)
    options.update(overrides)
    return await Client.connect(settings.address, **options)


def resolve_target(
    address: str | None, namespace: str | None, task_queue: str | None
) -> TemporalTarget:
    """Flags win over TEMPORAL_* variables, which win over the envconfig profile.

    A bad setting is not reported here but by connect(), so `--help` and `demo` still work.
    """
    try:
        settings = TemporalSettings.from_env(os.environ)
    except SettingsError:
        settings = TemporalSettings()
    return TemporalTarget(
        address=address or settings.address,
        namespace=namespace or settings.namespace,
        task_queue=task_queue or settings.task_queue,
    )


def client_settings(env: Mapping[str, str]) -> TemporalSettings:
    """The worker's Temporal settings from `env`, secrets included from their `<NAME>_FILE`
    (TEMPORAL_API_KEY_FILE, PAYLOAD_CODEC_KEYS_FILE: compose and Kubernetes secrets)."""
    try:
        return TemporalSettings.from_env(with_secret_files(env))
    except (SettingsError, CodecConfigError) as error:
        raise InvalidClientInput(str(error)) from None


async def connect(target: TemporalTarget) -> Client:
    """A client set up like the worker's: TLS / API key and payload codec from the environment."""
    settings = client_settings(os.environ)
    settings = dataclasses.replace(
        settings, address=target.address, namespace=target.namespace, task_queue=target.task_queue
    )
    try:
        return await connect_temporal(settings)
    except RuntimeError:
        raise unreachable(target.address) from None


def unreachable(address: str) -> TemporalUnreachable:
    return TemporalUnreachable(
        f"Temporal is not reachable at {address}: start it (`uv run starter.py demo`, "
        "`temporal server start-dev`) or set --address / TEMPORAL_ADDRESS"
    )


# A query or update nobody answered in time: the frontend gives up with one of these.
NO_ANSWER_STATUSES = frozenset({RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED})


def cause_text(cause: BaseException | None) -> str:
    """The one-line reason of a workflow or update failure's cause, for a person."""
    return getattr(cause, "message", None) or str(cause)


def rpc_failure(
    error: RPCError, target: TemporalTarget, workflow_id: str | None = None
) -> OnboardingClientError:
    """The exception for an RPC failure: not found, unreachable, or a plain failure."""
    if error.status == RPCStatusCode.NOT_FOUND and workflow_id is not None:
        return WorkflowNotFound(
            f"workflow '{workflow_id}' not found in namespace '{target.namespace}'"
        )
    if error.status == RPCStatusCode.NOT_FOUND:
        return WorkflowNotFound(f"namespace '{target.namespace}' not found")
    if error.status == RPCStatusCode.UNAVAILABLE:
        return unreachable(target.address)
    return OperationRejected(f"Temporal refused the call: {error.message}")


async def existing_workflow(
    client: Client, target: TemporalTarget, workflow_id: str
) -> tuple[WorkflowHandle, WorkflowExecutionDescription]:
    """The handle and description of the latest run of `workflow_id`, or WorkflowNotFound."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return handle, await handle.describe()
    except RPCError as error:
        raise rpc_failure(error, target, workflow_id) from None
