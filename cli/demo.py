"""`starter.py demo`: one whole onboarding locally; the emulator plays Azure and the customer."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

from rich.console import Console

from cli import operations
from cli.connection import DEFAULT_NAMESPACE, TemporalTarget, connect
from cli.errors import CliError
from cli.status_view import ProgressPrinter, render_result
from emulator.control import EmulatorControl
from local_stack import DevServer, WorkerProcess, start_seeded_emulator, worker_env
from models import CustomerSetupComplete, Stage, parse_request

DEMO_TIMEOUT = 300.0
CUSTOMER_NAME = "Contoso"
REGION = "eastus"
WEBHOOK_CHANNEL = "demo-customer"


async def run_demo(console: Console, *, state_dir: Path, keep_running: bool) -> bool:
    """Bring the stack up, onboard one customer, tear down (unless kept); True if it completed."""
    # A fresh database each run: a workflow left over from an interrupted demo would otherwise
    # wake up against an emulator that no longer knows its tenants.
    shutil.rmtree(state_dir / "temporal", ignore_errors=True)
    server = DevServer(db_file=state_dir / "temporal" / "temporal.db")
    worker: WorkerProcess | None = None
    console.print("[bold]1/5[/] starting the Temporal dev server (with UI) and the Azure emulator")
    await server.start()
    emulator, isv = await start_seeded_emulator(state_dir / "emulator", feature_delay=0.5)
    try:
        task_queue = f"cmk-demo-{uuid.uuid4().hex[:8]}"
        target = TemporalTarget(server.address, DEFAULT_NAMESPACE, task_queue)
        env = worker_env(
            server.address,
            task_queue,
            isv,
            emulator.url,
            emulator.ca_path,
            webhook_channel=WEBHOOK_CHANNEL,
        )
        worker = WorkerProcess(env, state_dir / "worker.log")
        worker.start()
        console.print(
            f"    Temporal {server.address}, UI {server.ui_url}, emulator {emulator.url}, "
            f"worker pid {worker.pid} (log {worker.log_file})"
        )
        async with asyncio.timeout(DEMO_TIMEOUT):
            completed = await _onboard_one_customer(
                console,
                server,
                target,
                emulator.control,
                isv.tenant_id,
                isv.subscription_id,
                worker,
            )
        if keep_running:
            console.print(
                f"\nEverything keeps running: UI {server.ui_url}, "
                f"TEMPORAL_ADDRESS={server.address} TEMPORAL_TASK_QUEUE={task_queue}. "
                "Press Ctrl+C to stop."
            )
            await asyncio.Event().wait()
        return completed
    except TimeoutError:
        raise CliError(
            f"the demo did not finish within {DEMO_TIMEOUT:.0f}s; worker log:\n"
            + (worker.log_tail() if worker else "")
        ) from None
    finally:
        if worker is not None:
            worker.stop()
        await emulator.stop()
        server.stop()


async def _onboard_one_customer(
    console: Console,
    server: DevServer,
    target: TemporalTarget,
    control: EmulatorControl,
    isv_tenant_id: str,
    subscription_id: str,
    worker: WorkerProcess,
) -> bool:
    customer = await control.create_customer_tenant(display_name=CUSTOMER_NAME)
    request = parse_request(
        {
            "customer_tenant_id": customer.tenant_id,
            "customer_name": CUSTOMER_NAME,
            "isv_tenant_id": isv_tenant_id,
            "subscription_id": subscription_id,
            "resource_group": "cmk-rg",
            "region": REGION,
            "des_name": "contoso-des",
        }
    )
    client = await connect(target)
    outcome = await operations.start_onboarding(client, target, request)
    workflow_id = outcome.workflow_id
    console.print(f"[bold]2/5[/] started onboarding {workflow_id}")
    console.print(f"    watch it live: {server.workflow_url(workflow_id)}")

    async def worker_alive() -> None:
        if not worker.running:
            raise CliError(f"the worker exited; its log ends with:\n{worker.log_tail()}")

    printer = ProgressPrinter(console)
    waiting = await operations.watch_status(
        client,
        target,
        workflow_id,
        printer,
        until=lambda s: s.stage == Stage.AWAITING_CUSTOMER or s.stage in _ENDED,
        health_check=worker_alive,
    )
    if waiting.stage in _ENDED or waiting.instructions is None:
        console.print(f"[red]the onboarding ended before the hand-off: {waiting.last_failure}[/]")
        return False

    console.print("[bold]3/5[/] playing the customer's administrator in their own tenant:")
    app_id = waiting.instructions.app_id
    vault = f"contoso{customer.tenant_id[:8]}"
    await control.grant_consent(customer.tenant_id, app_id)
    console.print(f"    admin consent for app {app_id} (service principal created)")
    await control.create_vault(customer.tenant_id, vault, region=request.region)
    key_url = await control.create_key(customer.tenant_id, vault, "disk-key", kty="RSA", size=3072)
    console.print(f"    vault {vault} in {request.region} with purge protection, RSA 3072 key")
    await control.assign_key_role(customer.tenant_id, vault, app_id)
    console.print("    role 'Key Vault Crypto Service Encryption User' assigned to the app")

    attempt = await operations.submit_customer_setup(
        client,
        target,
        workflow_id,
        CustomerSetupComplete(key_url=key_url, customer_tenant_id=customer.tenant_id),
        as_signal=False,
    )
    assert attempt is not None
    console.print(f"[bold]4/5[/] submitted the key URL (submission #{attempt.number} accepted)")
    final = await operations.watch_status(
        client, target, workflow_id, printer, health_check=worker_alive
    )
    console.print("[bold]5/5[/] result")
    if final.stage != Stage.COMPLETED:
        console.print(f"[red]onboarding {final.stage.value}: {final.last_failure}[/]")
        return False
    render_result(await operations.fetch_result(client, workflow_id), console)
    notices = await control.webhook_messages(WEBHOOK_CHANNEL)
    console.print(f"customer notifications delivered to the webhook sink: {len(notices)}")
    console.print(f"[green]completed.[/] Temporal UI: {server.workflow_url(workflow_id)}")
    return True


_ENDED = frozenset({Stage.COMPLETED, Stage.FAILED, Stage.CANCELLED})
