"""`starter.py demo`: one whole onboarding locally; the emulator plays Azure and the customer."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from cli.errors import CliError
from cli.status_view import ProgressPrinter, render_result
from client import operations
from client.connection import DEFAULT_NAMESPACE, TemporalTarget, connect
from customer_page.form_client import submit_key_url
from emulator.control import EmulatorControl, IsvTenant
from harness.customer_page import CustomerPageProcess
from harness.local_stack import DevServer, WorkerProcess, start_seeded_emulator, worker_env
from models import TERMINAL_STAGES, Stage, parse_request

DEMO_TIMEOUT = 300.0
CUSTOMER_NAME = "Contoso"
REGION = "eastus"
WEBHOOK_CHANNEL = "demo-customer"


def print_failure(console: Console, what: str, detail: object) -> None:
    """In red, with Azure's or the page's words verbatim: `[/<version>]` in them is not markup."""
    console.print(f"[red]{what}: {escape(str(detail))}[/]", soft_wrap=True)


@dataclass(frozen=True)
class DemoTemporal:
    """The Temporal server of the demo: its own dev server, or the one at --temporal-address."""

    address: str
    ui_url: str

    def workflow_url(self, workflow_id: str) -> str:
        return f"{self.ui_url}/namespaces/{DEFAULT_NAMESPACE}/workflows/{workflow_id}"


async def run_demo(
    console: Console,
    *,
    state_dir: Path,
    keep_running: bool,
    temporal_address: str | None = None,
    ui_url: str = "http://localhost:8233",
) -> bool:
    """Bring the stack up, onboard one customer, tear down (unless kept); True if it completed."""
    async with contextlib.AsyncExitStack() as stack:
        if temporal_address is None:
            console.print("[bold]1/5[/] starting a Temporal dev server (with UI) and the emulator")
            # A fresh database each run: a workflow left by an interrupted demo would otherwise
            # wake up against an emulator that no longer knows its tenants.
            shutil.rmtree(state_dir / "temporal", ignore_errors=True)
            server = DevServer(db_file=state_dir / "temporal" / "temporal.db")
            stack.callback(server.stop)
            await server.start()
            temporal = DemoTemporal(server.address, server.ui_url)
        else:
            console.print(
                f"[bold]1/5[/] using Temporal at {temporal_address}; starting the emulator"
            )
            temporal = DemoTemporal(temporal_address, ui_url.rstrip("/"))
        emulator, isv = await start_seeded_emulator(state_dir / "emulator", feature_delay=0.5)
        stack.push_async_callback(emulator.stop)
        task_queue = f"cmk-demo-{uuid.uuid4().hex[:8]}"
        # The customer's setup page: the worker's notifications link to it, the customer uses it.
        page = CustomerPageProcess(temporal.address, task_queue, state_dir / "customer_page.log")
        stack.callback(page.stop)
        await page.start()
        env = worker_env(
            temporal.address,
            task_queue,
            isv,
            emulator.url,
            emulator.ca_path,
            webhook_channel=WEBHOOK_CHANNEL,
            extra=page.link_env,
        )
        worker = WorkerProcess(env, state_dir / "worker.log")
        stack.callback(worker.stop)
        worker.start()
        await worker.wait_started()
        console.print(
            f"    Temporal {temporal.address}, UI {temporal.ui_url}, emulator {emulator.url}, "
            f"worker pid {worker.pid} (log {worker.log_file}), customer page {page.base_url}"
        )
        target = TemporalTarget(temporal.address, DEFAULT_NAMESPACE, task_queue)
        try:
            async with asyncio.timeout(DEMO_TIMEOUT):
                completed = await _onboard_one_customer(
                    console, temporal, target, emulator.control, isv, worker, page
                )
        except TimeoutError:
            raise CliError(
                f"the demo did not finish within {DEMO_TIMEOUT:.0f}s; the worker log ends with:\n"
                + worker.log_tail()
            ) from None
        if keep_running:
            console.print(
                f"\nEverything keeps running: UI {temporal.ui_url}, "
                f"TEMPORAL_ADDRESS={temporal.address} TEMPORAL_TASK_QUEUE={task_queue}. "
                "Press Ctrl+C to stop."
            )
            await asyncio.Event().wait()
        return completed


async def _onboard_one_customer(
    console: Console,
    temporal: DemoTemporal,
    target: TemporalTarget,
    control: EmulatorControl,
    isv: IsvTenant,
    worker: WorkerProcess,
    page: CustomerPageProcess,
) -> bool:
    customer = await control.create_customer_tenant(display_name=CUSTOMER_NAME)
    request = parse_request(
        {
            "customer_tenant_id": customer.tenant_id,
            "customer_name": CUSTOMER_NAME,
            "isv_tenant_id": isv.tenant_id,
            "subscription_id": isv.subscription_id,
            "resource_group": "cmk-rg",
            "region": REGION,
            "des_name": "contoso-des",
        }
    )
    client = await connect(target)
    workflow_id = (await operations.start_onboarding(client, target, request)).workflow_id
    console.print(f"[bold]2/5[/] started onboarding {workflow_id}")
    console.print(f"    watch it live: {temporal.workflow_url(workflow_id)}", soft_wrap=True)

    async def worker_alive() -> None:
        if not worker.running:
            raise CliError(f"the worker exited; its log ends with:\n{worker.log_tail()}")

    printer = ProgressPrinter(console)
    waiting = await operations.watch_status(
        client,
        target,
        workflow_id,
        printer,
        # Waiting for the link too: the notification carrying it goes out just after the stage.
        until=lambda s: (
            (s.stage == Stage.AWAITING_CUSTOMER and s.setup_page_link_sent)
            or s.stage in TERMINAL_STAGES
        ),
        health_check=worker_alive,
    )
    if waiting.instructions is None or waiting.stage in TERMINAL_STAGES:
        print_failure(console, "the onboarding ended before the hand-off", waiting.last_failure)
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

    link = await _emailed_link(control, workflow_id)
    console.print(
        f"    the customer's setup page link (from their notification): {link}", soft_wrap=True
    )
    # The same GET and form POST (cookie and CSRF token included) a browser would send.
    answer = await submit_key_url(link, key_url, note="set up by the demo")
    if answer.notice_kind != "ok":
        print_failure(console, "the setup page refused the key URL", answer.notice)
        return False
    notice = escape(str(answer.notice))
    console.print(f"[bold]4/5[/] submitted the key URL on the setup page: {notice}")
    final = await operations.watch_status(
        client, target, workflow_id, printer, health_check=worker_alive
    )
    console.print("[bold]5/5[/] result")
    if final.stage != Stage.COMPLETED:
        print_failure(console, f"onboarding {final.stage.value}", final.last_failure)
        return False
    render_result(await operations.fetch_result(client, target, workflow_id), console)
    notices = await control.webhook_messages(WEBHOOK_CHANNEL)
    console.print(
        f"customer notifications delivered to the emulator's webhook sink: {len(notices)}"
    )
    console.print(
        f"[green]completed.[/] Temporal UI: {temporal.workflow_url(workflow_id)}", soft_wrap=True
    )
    return True


async def _emailed_link(control: EmulatorControl, workflow_id: str) -> str:
    """The setup page link in the customer's latest notification (the emulator's webhook sink)."""
    for message in reversed(await control.webhook_messages(WEBHOOK_CHANNEL)):
        if message.get("workflow_id") == workflow_id and message.get("setup_page_url"):
            return str(message["setup_page_url"])
    raise CliError("the customer's notification carries no setup page link; see the worker log")
