"""The `starter.py` command line: typer commands parse flags and print; the work is elsewhere."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from cli import campaign_view
from cli.doctor import doctor
from cli.errors import EXIT_CODES_HELP, CliError, ExitCode, exit_code_for
from cli.request_input import build_request
from cli.status_view import ProgressPrinter, render_instructions, render_status
from client import lifecycle, operations
from client.connection import (
    DEFAULT_ADDRESS,
    DEFAULT_NAMESPACE,
    DEFAULT_TASK_QUEUE,
    TemporalTarget,
    connect,
    existing_workflow,
    resolve_target,
)
from client.errors import OnboardingClientError
from customer_page.links import parse_ttl
from customer_page.revocation import revoke as revoke_links
from customer_page.settings import LinkIssuer
from models import CustomerSetupComplete, OnboardingStatus, Stage, key_url_problem
from models.lifecycle import KeyChange, OffboardResult, WatchStatus

HELP_WIDTH_OFF_TERMINAL = 100

app = typer.Typer(
    help="Onboard customers to cross-tenant customer-managed keys for Azure managed disks.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts quote URL shapes such as `[/<version>]`, which rich markup would parse as tags.
    rich_markup_mode=None,
    # Off a terminal click assumes 80 columns and breaks the key URL shape mid-word: 100 instead,
    # unless COLUMNS says otherwise; a terminal keeps its own width.
    context_settings={"terminal_width": shutil.get_terminal_size((HELP_WIDTH_OFF_TERMINAL, 24))[0]},
)

# Wide enough for an ARM resource id or a Temporal UI link in a table cell on one line.
PIPED_WIDTH = 400


def console_for(*, stderr: bool = False, file: TextIO | None = None) -> Console:
    """A rich console that wraps to the terminal, but never when output is piped or captured.

    Off a terminal rich assumes 80 columns and folds long lines; a URL or workflow id broken
    over two lines can no longer be copied, clicked or grepped.
    """
    console = Console(stderr=stderr, file=file)
    if not console.is_terminal:
        console.soft_wrap = True
        # Tables and panels are laid out to the width, not soft-wrapped: give them room.
        console.width = max(console.width, PIPED_WIDTH)
    return console


out = console_for()
err = console_for(stderr=True)
T = TypeVar("T")

WorkflowIdOption = Annotated[
    str, typer.Option("--workflow-id", "-w", help="Onboarding workflow id (printed by `start`).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


async def _stopped_by_sigterm(work: Callable[[], Awaitable[T]]) -> T:
    """`work`, cancelled by SIGTERM as asyncio.run cancels it on Ctrl+C, so its cleanup (the
    demo's exit stack stopping its child processes) runs either way."""
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    return await work()


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run one command's coroutine; a CliError becomes its message on stderr and its exit code."""
    try:
        return asyncio.run(_stopped_by_sigterm(work))
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
    except asyncio.CancelledError:
        err.print("terminated")
        raise typer.Exit(128 + signal.SIGTERM) from None


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
    from_csv: Annotated[
        Path | None,
        typer.Option(
            help="Campaign: a CSV file, one onboarding per row (header: request field names)."
        ),
    ] = None,
    from_jsonl: Annotated[
        Path | None,
        typer.Option(help="Campaign: a JSON Lines file, one request object per line."),
    ] = None,
    rate: Annotated[
        float, typer.Option(help="Campaign: starts per second at most.")
    ] = campaign_view.DEFAULT_RATE,
    skip_invalid: Annotated[
        bool,
        typer.Option(help="Campaign: start the valid rows even if others are invalid."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start an onboarding (or attach to the running one for the same customer and DES).

    With --from-csv or --from-jsonl: validate every row first (invalid rows: exit 2, nothing
    started), then start them at most --rate per second; running or completed onboardings are
    reported, not started again.
    """
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
    if from_csv is not None or from_jsonl is not None:
        _start_campaign(target, from_csv, from_jsonl, flags, from_json, rate, skip_invalid, as_json)
        return

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


def _start_campaign(
    target: TemporalTarget,
    from_csv: Path | None,
    from_jsonl: Path | None,
    flags: dict[str, Any],
    from_json: Path | None,
    rate: float,
    skip_invalid: bool,
    as_json: bool,
) -> None:
    def refuse(message: str) -> None:
        err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(ExitCode.BAD_INPUT)

    if from_csv is not None and from_jsonl is not None:
        refuse("--from-csv and --from-jsonl: give one campaign file")
    mixed = [f"--{n.replace('_', '-')}" for n, v in flags.items() if v is not None]
    if from_json is not None:
        mixed.insert(0, "--from-json")
    if mixed:
        refuse(f"{', '.join(mixed)}: not allowed with a campaign file; put them in its rows")
    path, kind = (from_csv, "csv") if from_csv is not None else (from_jsonl, "jsonl")
    assert path is not None

    async def work() -> tuple[dict[str, Any], ExitCode]:
        return await campaign_view.start_campaign(
            target,
            path,
            kind,  # type: ignore[arg-type]
            rate=rate,
            skip_invalid=skip_invalid,
            as_json=as_json,
            out=out,
            err=err,
        )

    result, code = run(work)
    if as_json:
        print_json(result)
    raise typer.Exit(code)


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
def link(
    ctx: typer.Context,
    workflow_id: WorkflowIdOption,
    ttl: Annotated[str, typer.Option(help="How long the link works: 14d, 12h, 30m ...")] = "14d",
    revoke: Annotated[
        bool,
        typer.Option(
            "--revoke", help="First revoke every earlier link of this onboarding (leaked link)."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print the customer's signed setup page link (needs CUSTOMER_PAGE_URL and _SECRET)."""
    target = target_of(ctx)
    try:
        duration = parse_ttl(ttl)
        issuer = LinkIssuer.from_env()
    except ValueError as error:  # SettingsError included
        err.print(f"error: {error}", markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    if issuer is None or (revoke and issuer.revocations_file is None):
        missing = "CUSTOMER_PAGE_URL" if issuer is None else "CUSTOMER_PAGE_REVOCATIONS_FILE"
        err.print(f"error: {missing} is not set; see README, 'Customer page'", soft_wrap=True)
        raise typer.Exit(ExitCode.BAD_INPUT)

    async def work() -> None:
        client = await connect(target)
        _, description = await existing_workflow(client, target, workflow_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise CliError(f"workflow '{workflow_id}' has ended; its page would only say so")

    run(work)
    if revoke:
        assert issuer.revocations_file is not None
        revoke_links(issuer.revocations_file, workflow_id)
    url = issuer.link_for(workflow_id, duration)
    expires_at = datetime.now(UTC) + duration
    if as_json:
        print_json({"workflow_id": workflow_id, "url": url, "expires_at": expires_at.isoformat()})
    else:
        sys.stdout.write(url + "\n")
        err.print(f"valid until {expires_at:%Y-%m-%d %H:%M} UTC; send it to the customer only")


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
    health: Annotated[
        str | None,
        typer.Option(
            help="Only completed onboardings whose key health is this: healthy, degraded or "
            "broken (search attribute CmkHealth on the key-health watch)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List onboardings, newest first, by stage or key health; counts per stage and health."""
    target = target_of(ctx)

    async def work() -> list[dict[str, Any]]:
        # Bad filters are bad input (exit 2) whether or not Temporal is up: check them first.
        wanted_health = lifecycle.require_health(health)
        wanted = operations.require_stage(stage)
        client = await connect(target)
        if wanted_health is not None:
            return await lifecycle.list_watches(client, target, wanted_health, limit)
        return await operations.list_onboardings(client, target, wanted, limit)

    async def count() -> dict[str, dict[str, int]]:
        return await lifecycle.counts(await connect(target), target)

    rows = run(work)
    totals = run(count)
    if as_json:
        print_json(rows)
        return
    if health is not None:
        _print_watch_rows(rows, totals)
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
    _print_counts(totals)


def _print_counts(totals: dict[str, dict[str, int]]) -> None:
    for kind in ("stage", "health"):
        parts = [f"{name} {n}" for name, n in sorted(totals[kind].items())]
        out.print(f"per {kind}: " + (", ".join(parts) or "none"), highlight=False)


def _print_watch_rows(rows: list[dict[str, Any]], totals: dict[str, dict[str, int]]) -> None:
    from rich.table import Table

    table = Table(show_edge=False)
    table.add_column("workflow id", overflow="fold")
    for column in ("customer", "health", "watching since"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(
            row["workflow_id"],
            row["customer_name"] or "-",
            row["health"] or "-",
            row["start_time"][:19],
        )
    out.print(table if rows else "no onboardings match")
    _print_counts(totals)


@app.command(epilog=EXIT_CODES_HELP)
def health(
    ctx: typer.Context,
    workflow_id: WorkflowIdOption,
    check: Annotated[
        bool, typer.Option("--check", help="Check now (with a probe disk) before showing.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Key health of a completed onboarding: findings with their fix, probes, key changes."""
    target = target_of(ctx)

    async def work() -> WatchStatus:
        client = await connect(target)
        if check:
            before = await lifecycle.fetch_health(client, target, workflow_id)
            await lifecycle.check_now(client, target, workflow_id)
            for _ in range(600):
                status = await lifecycle.fetch_health(client, target, workflow_id)
                if status.checks > before.checks:
                    return status
                await asyncio.sleep(0.5)
        return await lifecycle.fetch_health(client, target, workflow_id)

    status = run(work)
    if as_json:
        print_json(status.model_dump(mode="json"))
        return
    out.print(f"health: {status.health or 'not checked yet'}", highlight=False)
    out.print(f"key: {status.key_url}", highlight=False)
    out.print(
        f"last check: {status.last_check_at}; last probe: {status.last_probe_at} "
        f"({'ok' if status.last_probe_ok else 'failed' if status.last_probe_ok is False else '-'})"
        f"; last key rotation: {status.last_key_rotation_at or '-'}",
        highlight=False,
    )
    for finding in status.findings:
        out.print(
            f"- {finding.code} [{finding.severity}, {finding.owner}]: {finding.message}\n"
            f"  fix: {finding.fix}",
            markup=False,
            highlight=False,
        )
    for change in status.key_changes:
        out.print(
            f"key change {change.number}: {change.old_key_url} -> {change.new_key_url}: "
            f"{change.outcome}" + (f" ({change.reason})" if change.reason else ""),
            markup=False,
            highlight=False,
        )
    if status.stopped_reason:
        out.print(f"watch stopped: {status.stopped_reason}", highlight=False)


@app.command(name="change-key", epilog=EXIT_CODES_HELP)
def change_key(
    ctx: typer.Context,
    workflow_id: WorkflowIdOption,
    key_url: Annotated[
        str,
        typer.Option(help="New key: https://<vault>.vault.azure.net/keys/<name>/<version>."),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Move the encryption set to a new key; verified with a test disk, rolled back if it fails."""
    target = target_of(ctx)

    async def work() -> KeyChange:
        return await lifecycle.change_key(await connect(target), target, workflow_id, key_url)

    change = run(work)
    if as_json:
        print_json(change.model_dump(mode="json"))
    else:
        out.print(
            f"key change {change.number}: {change.old_key_url} -> {change.new_key_url}: "
            f"{change.outcome}",
            markup=False,
            highlight=False,
        )
        if change.reason:
            out.print(f"reason: {change.reason}\nfix: {change.fix}", markup=False)
    raise typer.Exit(ExitCode.OK if change.outcome == "succeeded" else ExitCode.FAILED)


@app.command(epilog=EXIT_CODES_HELP)
def offboard(ctx: typer.Context, workflow_id: WorkflowIdOption, as_json: JsonFlag = False) -> None:
    """Delete the customer's encryption set (refused while disks use it) and stop the watch."""
    target = target_of(ctx)

    async def work() -> OffboardResult:
        return await lifecycle.offboard(await connect(target), target, workflow_id)

    result = run(work)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    out.print(f"offboarded {workflow_id}", highlight=False)
    for resource in result.deleted:
        out.print(f"  deleted {resource}", markup=False, highlight=False)
    for resource in result.kept_shared:
        out.print(f"  kept (shared) {resource}", markup=False, highlight=False)


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


app.command(epilog="Exit codes: 0 ready; 1 something is missing; 2 bad settings.")(doctor)
