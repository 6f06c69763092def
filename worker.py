"""The CMK onboarding worker: settings -> logging -> Azure clients -> activities -> Temporal worker.

uv run python worker.py        # configured only by environment variables (see settings.py)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities import LogNotifier, Notifier, WebhookNotifier, build_activities
from activities.azure_clients import AzureClients
from activities.keep_alive import HeartbeatWhileRunning
from config.logging_setup import configure_logging
from config.settings import SettingsError, WorkerSettings, connect_temporal
from workflows import WORKFLOWS
from workflows.task_queues import azure_writes_task_queue

EXIT_BAD_SETTINGS = 2
EXIT_TEMPORAL_UNREACHABLE = 3
# In-flight activities get this long to finish after SIGTERM before they are cancelled.
GRACEFUL_SHUTDOWN = timedelta(seconds=10)

log = structlog.get_logger("cmk.worker")


def build_notifier(settings: WorkerSettings) -> Notifier:
    if settings.notifier == "webhook":
        assert settings.notifier_webhook_url is not None
        return WebhookNotifier(settings.notifier_webhook_url, ca_path=settings.notifier_webhook_ca)
    return LogNotifier()


def build_runtime(settings: WorkerSettings) -> Runtime | None:
    """A runtime exporting Temporal SDK metrics on METRICS_PORT, or None for the default."""
    if settings.metrics_port is None:
        return None
    metrics = PrometheusConfig(bind_address=f"0.0.0.0:{settings.metrics_port}")
    return Runtime(telemetry=TelemetryConfig(metrics=metrics))


async def run(settings: WorkerSettings) -> int:
    temporal = settings.temporal
    runtime = build_runtime(settings)
    try:
        client = await connect_temporal(temporal, **({"runtime": runtime} if runtime else {}))
    except RuntimeError as error:
        log.error("temporal unreachable", address=temporal.address, error=str(error))
        return EXIT_TEMPORAL_UNREACHABLE
    notifier = build_notifier(settings)
    try:
        async with AzureClients(settings.azure) as clients:
            workers = build_workers(client, settings, build_activities(clients, notifier))
            await _run_until_signalled(workers, settings)
    finally:
        await notifier.aclose()
    return 0


def build_workers(
    client: Client, settings: WorkerSettings, activities: Sequence[Callable[..., Any]]
) -> list[Worker]:
    """The workflow worker, and the paced worker of the Azure-writes queue (same activities:
    that queue only ever receives the write activities, see workflows/task_queues.py).
    """
    task_queue = settings.temporal.task_queue
    common: dict[str, Any] = {
        "activities": activities,
        "max_concurrent_activities": settings.max_concurrent_activities,
        "graceful_shutdown_timeout": GRACEFUL_SHUTDOWN,
        "interceptors": [HeartbeatWhileRunning()],
    }
    workflow_options: dict[str, Any] = {}
    if not settings.workflow_sandbox:
        workflow_options["workflow_runner"] = UnsandboxedWorkflowRunner()
    writes_options: dict[str, Any] = {}
    if settings.azure_writes_per_second is not None:
        writes_options["max_task_queue_activities_per_second"] = settings.azure_writes_per_second
    return [
        Worker(
            client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
            max_cached_workflows=settings.max_cached_workflows,
            **workflow_options,
            **common,
        ),
        Worker(client, task_queue=azure_writes_task_queue(task_queue), **common, **writes_options),
    ]


async def _run_until_signalled(workers: list[Worker], settings: WorkerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running = [asyncio.create_task(worker.run()) for worker in workers]
    task_queue = settings.temporal.task_queue
    log.info(
        "worker started",
        task_queue=task_queue,
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
        settings = WorkerSettings.from_env()
    except SettingsError as error:
        print(f"worker.py: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure_logging(settings.log_format)
    return asyncio.run(run(settings))


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalization: the SDK's Rust (tokio) threads can still call into Python
    # while it shuts down and abort a cleanly stopped worker with "Fatal Python error:
    # PyGILState_Release" (exit 134), as in starter.py (temporalio/sdk-python#300).
    os._exit(exit_code)
