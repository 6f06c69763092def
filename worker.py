"""The CMK onboarding worker: settings -> logging -> Azure clients -> activities -> Temporal worker.

uv run python worker.py        # configured only by environment variables (see settings.py)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities import LogNotifier, Notifier, WebhookNotifier, build_activities
from activities.azure_clients import AzureClients
from activities.keep_alive import HeartbeatWhileRunning
from client.connection import connect_temporal
from config.logging_setup import configure_logging
from config.policy import policy_from_env
from config.secret_files import with_secret_files
from config.settings import SettingsError, WorkerSettings
from customer_page.settings import LinkIssuer
from workflows import WORKFLOWS
from workflows.sandbox import sandboxed_runner
from workflows.task_queues import azure_writes_task_queue, des_writes_task_queue

EXIT_BAD_SETTINGS = 2
EXIT_TEMPORAL_UNREACHABLE = 3
# In-flight activities get this long to finish after SIGTERM before they are cancelled.
GRACEFUL_SHUTDOWN = timedelta(seconds=10)
# Waits between connection attempts: doubling from the first to the cap.
CONNECT_FIRST_DELAY = 1.0
CONNECT_MAX_DELAY = 30.0
# The code a workflow replays with: its build id changes whenever any of these changes.
BUILD_ID_PACKAGES = ("workflows", "models", "activities")

log = structlog.get_logger("cmk.worker")


def build_notifier(settings: WorkerSettings) -> Notifier:
    if settings.notifier == "webhook":
        assert settings.notifier_webhook_url is not None
        return WebhookNotifier(settings.notifier_webhook_url, ca_path=settings.notifier_webhook_ca)
    return LogNotifier()


def build_runtime(settings: WorkerSettings) -> Runtime:
    """The SDK runtime: its Rust core logs go to the `temporalio.core` logger (so structlog
    renders them like every other line), and metrics are exported on METRICS_PORT when set."""
    logs = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    metrics = (
        None
        if settings.metrics_port is None
        else PrometheusConfig(bind_address=f"0.0.0.0:{settings.metrics_port}")
    )
    return Runtime(telemetry=TelemetryConfig(logging=logs, metrics=metrics))


def connect_delays(
    first: float = CONNECT_FIRST_DELAY, cap: float = CONNECT_MAX_DELAY
) -> Iterator[float]:
    """1, 2, 4, ... seconds, then the cap forever."""
    delay = first
    while True:
        yield min(delay, cap)
        delay *= 2


async def connect_until_stopped(
    settings: WorkerSettings, runtime: Runtime, stop: asyncio.Event
) -> Client | None:
    """A client once Temporal answers; None if `stop` is set first or the attempts run out.

    A worker started before its server (compose, a rolling restart) waits for it instead of
    exiting; SIGTERM still stops it at once.
    """
    temporal = settings.temporal
    delays = connect_delays()
    attempt = 0
    while True:
        attempt += 1
        connecting = asyncio.create_task(connect_temporal(temporal, runtime=runtime))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if stop.is_set():
            connecting.cancel()
            return None
        try:
            return connecting.result()
        except RuntimeError as error:
            if settings.connect_attempts is not None and attempt >= settings.connect_attempts:
                log.error(
                    "temporal unreachable",
                    address=temporal.address,
                    attempt=attempt,
                    error=str(error),
                )
                return None
            delay = next(delays)
            log.warning(
                "temporal unreachable, retrying",
                address=temporal.address,
                attempt=attempt,
                next_delay_s=delay,
                error=str(error),
            )
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return None
        except TimeoutError:
            pass


async def run(settings: WorkerSettings, setup_links: LinkIssuer | None = None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = await connect_until_stopped(settings, build_runtime(settings), stop)
    if client is None:
        if stop.is_set():
            log.info("worker stopped before connecting", address=settings.temporal.address)
            return 0
        return EXIT_TEMPORAL_UNREACHABLE
    notifier = build_notifier(settings)
    try:
        async with AzureClients(settings.azure) as clients:
            activities = build_activities(
                clients,
                notifier,
                policy=policy_from_env(os.environ),
                setup_links=setup_links,
                temporal=client,
            )
            workers = build_workers(client, settings, activities)
            await _run_until_signalled(workers, settings, stop)
    finally:
        await notifier.aclose()
    return 0


def build_workers(
    client: Client, settings: WorkerSettings, activities: Sequence[Callable[..., Any]]
) -> list[Worker]:
    """The workflow worker, and the paced workers of the DES-writes and Azure-writes queues
    (same activities: those queues only ever receive the write activities, see
    workflows/task_queues.py).
    """
    task_queue = settings.temporal.task_queue
    common: dict[str, Any] = {
        "build_id": code_build_id(),
        "activities": activities,
        "max_concurrent_activities": settings.max_concurrent_activities,
        "graceful_shutdown_timeout": GRACEFUL_SHUTDOWN,
        "interceptors": [HeartbeatWhileRunning()],
    }
    runner = sandboxed_runner() if settings.workflow_sandbox else UnsandboxedWorkflowRunner()

    def paced(pace: float | None) -> dict[str, Any]:
        return {} if pace is None else {"max_task_queue_activities_per_second": pace}

    return [
        Worker(
            client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
            max_cached_workflows=settings.max_cached_workflows,
            workflow_runner=runner,
            **common,
        ),
        Worker(
            client,
            task_queue=des_writes_task_queue(task_queue),
            **common,
            **paced(settings.azure_des_writes_per_second),
        ),
        Worker(
            client,
            task_queue=azure_writes_task_queue(task_queue),
            **common,
            **paced(settings.azure_writes_per_second),
        ),
    ]


def code_build_id() -> str:
    """A build id from this service's own source files.

    Without one the SDK hashes the code of every loaded module (msgraph alone brings thousands),
    which took the worker over 20 s to start on a busy machine.
    """
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for package in BUILD_ID_PACKAGES:
        for source in sorted((root / package).rglob("*.py")):
            digest.update(source.relative_to(root).as_posix().encode())
            digest.update(source.read_bytes())
    return f"cmk-{digest.hexdigest()[:16]}"


async def _run_until_signalled(
    workers: list[Worker], settings: WorkerSettings, stop: asyncio.Event
) -> None:
    running = [asyncio.create_task(worker.run()) for worker in workers]
    task_queue = settings.temporal.task_queue
    log.info(
        "worker started",
        task_queue=task_queue,
        des_writes_task_queue=des_writes_task_queue(task_queue),
        azure_des_writes_per_second=settings.azure_des_writes_per_second,
        azure_writes_task_queue=azure_writes_task_queue(task_queue),
        azure_writes_per_second=settings.azure_writes_per_second,
        namespace=settings.temporal.namespace,
        address=settings.temporal.address,
        azure_mode=settings.azure.mode,
        notifier=settings.notifier,
        metrics_port=settings.metrics_port,
    )
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({*running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not all(task.done() for task in running):
        log.info("shutting down", task_queue=task_queue)
        # Both drain at once: in-flight writes get the same grace period as everything else.
        await asyncio.gather(
            *(w.shutdown() for w, t in zip(workers, running, strict=True) if not t.done())
        )
    stopping.cancel()
    for task in running:
        await task  # re-raises a worker failure
    log.info("worker stopped", task_queue=task_queue)


def main() -> int:
    try:
        # DefaultAzureCredential reads AZURE_CLIENT_SECRET from os.environ itself.
        os.environ.update(with_secret_files(os.environ))
        settings = WorkerSettings.from_env()
        policy_from_env(os.environ)  # a bad policy file stops the worker here, not mid-start
        # Set: notifications carry signed customer page links instead of CLI replies.
        setup_links = LinkIssuer.from_env()
    except SettingsError as error:
        print(f"worker.py: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure_logging(settings.log_format)
    if setup_links is not None:
        log.info("customer page links on", base_url=setup_links.base_url, ttl=str(setup_links.ttl))
    return asyncio.run(run(settings, setup_links))


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalization: the SDK's Rust (tokio) threads can still call into Python
    # while it shuts down and abort a cleanly stopped worker with "Fatal Python error:
    # PyGILState_Release" (exit 134), as in starter.py (temporalio/sdk-python#300).
    os._exit(exit_code)
