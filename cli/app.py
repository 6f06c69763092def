"""The `starter.py` command line: typer commands parse flags and print; the work is elsewhere."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from temporalio.service import RPCError, RPCStatusCode

from cli.errors import EXIT_CODES_HELP, CliError, ExitCode, exit_code_for
from cli.request_input import build_request
from cli.status_view import ProgressPrinter, render_instructions, render_status
from client import operations
from client.connection import (
    DEFAULT_ADDRESS,
    DEFAULT_NAMESPACE,
    DEFAULT_TASK_QUEUE,
    TemporalTarget,
    connect,
    resolve_target,
)
from client.errors import OnboardingClientError
from models import CustomerSetupComplete, OnboardingStatus, Stage, key_url_problem

app = typer.Typer(
    help="Onboard customers to cross-tenant customer-managed keys for Azure managed disks.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")

WorkflowIdOption = Annotated[
    str, typer.Option("--workflow-id", "-w", help="Onboarding workflow id (printed by `start`).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run one command's coroutine; a CliError becomes its message on stderr and its exit code."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except CliError as error:
        err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(error.code) from None
    except OnboardingClientError as error:
        err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(exit_code_for(error)) from None
    except RPCError as error:
        # Calls that already map their errors never get here; this catches a server that
        # went away mid-command.
        code = (
            ExitCode.TEMPORAL_UNREACHABLE
            if error.status == RPCStatusCode.UNAVAILABLE
            else ExitCode.FAILED
        )
        err.print(f"error: Temporal call failed: {error.message}", markup=False, soft_wrap=True)
        raise typer.Exit(code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def target_of(ctx: typer.Context) -> TemporalTarget:
    target = ctx.obj
    assert isinstance(target, TemporalTarget)
    return target


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.callback()
def main(
    ctx: typer.Context,
    # No typer defaults: an unset flag must not hide the envconfig profile's address/namespace.
    address: Annotated[
        str | None,
        typer.Option(
            envvar="TEMPORAL_ADDRESS",
            help=f"Temporal frontend host:port (default: the profile's, else {DEFAULT_ADDRESS}).",
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            envvar="TEMPORAL_NAMESPACE",
            help=f"Temporal namespace (default: the profile's, else {DEFAULT_NAMESPACE}).",
        ),
    ] = None,
    task_queue: Annotated[
        str | None,
        typer.Option(
            envvar="TEMPORAL_TASK_QUEUE",
            help=f"Task queue the worker polls (default: {DEFAULT_TASK_QUEUE}).",
        ),
    ] = None,
) -> None:
    ctx.obj = resolve_target(address, namespace, task_queue)


@app.command(epilog=EXIT_CODES_HELP)
def start(
    ctx: typer.Context,
    from_json: Annotated[
        Path | None,
        typer.Option(help="JSON file with OnboardingRequest fields; flags override it."),
    ] = None,
    customer_tenant_id: Annotated[
        str | None, typer.Option(help="Customer's Entra tenant id.")
    ] = None,
    customer_name: Annotated[str | None, typer.Option(help="Customer's display name.")] = None,
    isv_tenant_id: Annotated[str | None, typer.Option(help="Your (ISV) Entra tenant id.")] = None,
    subscription_id: Annotated[
        str | None, typer.Option(help="ISV subscription for the DES.")
    ] = None,
    resource_group: Annotated[str | None, typer.Option(help="ISV resource group.")] = None,
    region: Annotated[
        str | None, typer.Option(help="Azure region of the disks, e.g. eastus.")
    ] = None,
    des_name: Annotated[str | None, typer.Option(help="Disk encryption set name.")] = None,
    disk_sku: Annotated[str | None, typer.Option(help="Disk SKU (default Premium_LRS).")] = None,
    encryption_type: Annotated[str | None, typer.Option(help="DES encryption type.")] = None,
    key_url: Annotated[str | None, typer.Option(help="Customer key URL, if already known.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Start an onboarding (or attach to the running one for the same customer and DES)."""
    flags = {
        "customer_tenant_id": customer_tenant_id,
        "customer_name": customer_name,
        "isv_tenant_id": isv_tenant_id,
        "subscription_id": subscription_id,
        "resource_group": resource_group,
        "region": region,
        "des_name": des_name,
        "disk_sku": disk_sku,
        "encryption_type": encryption_type,
        "key_url": key_url,
    }
    target = target_of(ctx)

    async def work() -> operations.StartOutcome:
        request = build_request(from_json, flags)
        client = await connect(target)
        return await operations.start_onboarding(client, target, request)

    outcome = run(work)
    if as_json:
        print_json(outcome.__dict__)
    elif outcome.started:
        out.print(
            f"started onboarding [bold]{outcome.workflow_id}[/] (run {outcome.run_id})",
            soft_wrap=True,
        )
    else:
        out.print(
            f"attached to the running onboarding [bold]{outcome.workflow_id}[/] "
            f"(run {outcome.run_id}); nothing new was started",
            soft_wrap=True,
        )


@app.command(epilog=EXIT_CODES_HELP)
def complete(
    ctx: typer.Context,
    workflow_id: WorkflowIdOption,
    key_url: Annotated[
        str, typer.Option(help="https://<vault>.vault.azure.net/keys/<name>/<version>")
    ],
    customer_tenant_id: Annotated[
        str | None, typer.Option(help="Tenant the key lives in; checked against the workflow's.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Free text kept with the attempt.")] = None,
    signal: Annotated[
        bool, typer.Option("--signal", help="Send the fire-and-forget signal, not the update.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Hand the customer's key URL to the onboarding; prints the accepted attempt or why not."""
    target = target_of(ctx)
    if problem := key_url_problem(key_url):
        err.print(f"error: --key-url {problem}", markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.BAD_INPUT)
    try:
        body = CustomerSetupComplete(
            key_url=key_url, customer_tenant_id=customer_tenant_id, note=note
        )
    except ValidationError as error:
        problem = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        err.print(f"error: --customer-tenant-id {problem}", markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.BAD_INPUT) from None

    async def work() -> Any:
        client = await connect(target)
        return await operations.submit_customer_setup(
            client, target, workflow_id, body, as_signal=signal
        )

    attempt = run(work)
    if as_json:
        print_json(attempt.model_dump(mode="json") if attempt else {"signalled": True})
    elif attempt is None:
        out.print(
            f"signal sent to {workflow_id}; follow it with `starter.py watch -w {workflow_id}`"
        )
    else:
        out.print(
            f"submission #{attempt.number} accepted for {workflow_id}: {attempt.key_url}; "
            f"follow it with `starter.py watch -w {workflow_id}`",
            soft_wrap=True,
            markup=False,
        )


@app.command(epilog=EXIT_CODES_HELP)
def status(ctx: typer.Context, workflow_id: WorkflowIdOption, as_json: JsonFlag = False) -> None:
    """Show an onboarding's stage, who it waits for, attempts, reminders and resources."""
    target = target_of(ctx)

    async def work() -> OnboardingStatus:
        return await operations.fetch_status(await connect(target), target, workflow_id)

    current = run(work)
    if as_json:
        sys.stdout.write(current.model_dump_json(indent=2) + "\n")
    else:
        render_status(current, out)


@app.command(epilog=EXIT_CODES_HELP)
def watch(
    ctx: typer.Context,
    workflow_id: WorkflowIdOption,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls.")] = 1.0,
) -> None:
    """Follow an onboarding until it completes, fails or is cancelled (exit 0 only if completed)."""
    target = target_of(ctx)
    printer = ProgressPrinter(out)

    async def work() -> OnboardingStatus:
        client = await connect(target)
        return await operations.watch_status(
            client, target, workflow_id, printer, interval=interval
        )

    final = run(work)
    raise typer.Exit(ExitCode.OK if final.stage == Stage.COMPLETED else ExitCode.FAILED)


@app.command(epilog=EXIT_CODES_HELP)
def instructions(
    ctx: typer.Context, workflow_id: WorkflowIdOption, as_json: JsonFlag = False
) -> None:
    """Print what the customer's administrator must do (consent, vault, key, role, reply)."""
    target = target_of(ctx)

    async def work() -> OnboardingStatus:
        return await operations.fetch_status(await connect(target), target, workflow_id)

    current = run(work)
    if current.instructions is None:
        err.print(
            f"error: no customer instructions yet: the onboarding is {current.stage.value}; "
            "they exist once the ISV identity is ready"
        )
        raise typer.Exit(ExitCode.FAILED)
    if as_json:
        sys.stdout.write(current.instructions.model_dump_json(indent=2) + "\n")
    else:
        render_instructions(current, out)


@app.command(epilog=EXIT_CODES_HELP)
def cancel(ctx: typer.Context, workflow_id: WorkflowIdOption) -> None:
    """Cancel an onboarding; the workflow removes what it created for this customer."""
    target = target_of(ctx)

    async def work() -> None:
        await operations.cancel_onboarding(await connect(target), target, workflow_id)

    run(work)
    out.print(f"cancellation requested for {workflow_id}; it compensates, then ends as cancelled")


@app.command(name="list", epilog=EXIT_CODES_HELP)
def list_command(
    ctx: typer.Context,
    stage: Annotated[
        str | None,
        typer.Option(help="Only this stage, e.g. awaiting-customer (search attribute CmkStage)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List onboardings, newest first, optionally only those in one stage."""
    target = target_of(ctx)

    async def work() -> list[dict[str, Any]]:
        wanted = operations.require_stage(stage)
        return await operations.list_onboardings(await connect(target), target, wanted, limit)

    rows = run(work)
    if as_json:
        print_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_edge=False)
    table.add_column("workflow id", overflow="fold")
    for column in ("customer", "stage", "status", "started"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(
            row["workflow_id"],
            escape(row["customer_name"] or "-"),
            row["stage"] or "-",
            (row["status"] or "-").lower(),
            row["start_time"][:19],
        )
    out.print(table if rows else "no onboardings match")


@app.command(epilog=EXIT_CODES_HELP)
def demo(
    keep_running: Annotated[
        bool, typer.Option(help="Leave server, emulator and worker up to explore the UI.")
    ] = False,
    state_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its database, certificates and logs.")
    ] = Path(".demo"),
    temporal_address: Annotated[
        str | None,
        typer.Option(help="Use this Temporal server instead of starting a dev server."),
    ] = None,
    ui_url: Annotated[
        str, typer.Option(help="Temporal UI base URL, with --temporal-address.")
    ] = "http://localhost:8233",
) -> None:
    """Run a whole onboarding locally: dev server + UI, emulator, worker, a scripted customer."""
    from cli.demo import run_demo

    completed = run(
        lambda: run_demo(
            out,
            state_dir=state_dir,
            keep_running=keep_running,
            temporal_address=temporal_address,
            ui_url=ui_url,
        )
    )
    raise typer.Exit(ExitCode.OK if completed else ExitCode.FAILED)
