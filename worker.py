"""The CMK onboarding worker: settings -> logging -> Azure clients -> activities -> Temporal worker.

uv run python worker.py        # configured only by environment variables (see settings.py)
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

import structlog
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities import LogNotifier, Notifier, WebhookNotifier, build_activities
from azure_clients import AzureClients
from logging_setup import configure_logging
from settings import SettingsError, WorkerSettings, connect_temporal
from workflows import WORKFLOWS

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
            worker = Worker(
                client,
                task_queue=temporal.task_queue,
                workflows=WORKFLOWS,
                activities=build_activities(clients, notifier),
                max_concurrent_activities=settings.max_concurrent_activities,
                max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
                graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
            )
            await _run_until_signalled(worker, settings)
    finally:
        await notifier.aclose()
    return 0


async def _run_until_signalled(worker: Worker, settings: WorkerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running = asyncio.create_task(worker.run())
    log.info(
        "worker started",
        task_queue=settings.temporal.task_queue,
        namespace=settings.temporal.namespace,
        address=settings.temporal.address,
        azure_mode=settings.azure.mode,
        notifier=settings.notifier,
        metrics_port=settings.metrics_port,
    )
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not running.done():
        log.info("shutting down", task_queue=settings.temporal.task_queue)
        await worker.shutdown()
    stopping.cancel()
    await running  # re-raises a worker failure
    log.info("worker stopped", task_queue=settings.temporal.task_queue)


def main() -> int:
    try:
        settings = WorkerSettings.from_env()
    except SettingsError as error:
        print(f"worker.py: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure_logging(settings.log_format)
    return asyncio.run(run(settings))


if __name__ == "__main__":
    sys.exit(main())
