"""`starter.py doctor`: is the ISV side ready? Credential, subscription, resource group, ARM
permissions, preview feature and Microsoft Graph, each with the fix; exit 1 if anything is missing.

It reads the worker's own environment (AZURE_MODE, AZURE_TENANT_ID, ...), so run it where the
worker runs, with the same settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from cli.errors import ExitCode
from config.secret_files import with_secret_files
from config.settings import AzureSettings, SettingsError

if TYPE_CHECKING:
    from activities.preflight import PreflightReport

MARKS = {"ok": "[green]ok[/green]", "missing": "[red]MISSING[/red]", "info": "[cyan]info[/cyan]"}
# Azure SDK calls of an unreachable endpoint retry for a while; doctor answers sooner.
TIMEOUT = 60.0


async def _check(
    settings: AzureSettings, subscription_id: str, resource_group: str
) -> PreflightReport:
    # The Azure SDKs take about 2 s to import: every other command would pay it at start-up.
    from activities.azure_clients import AzureClients
    from activities.preflight import check_isv

    # Transient retries off: a doctor that waits minutes for a dead endpoint helps no one.
    async with AzureClients(settings, arm_retries=0) as clients:
        async with asyncio.timeout(TIMEOUT):
            return await check_isv(
                clients, subscription_id=subscription_id, resource_group=resource_group
            )


def doctor(
    resource_group: Annotated[
        str, typer.Option("--resource-group", "-g", help="The ISV resource group for the DES.")
    ] = "cmk-rg",
    subscription: Annotated[
        str | None,
        typer.Option(
            envvar="AZURE_SUBSCRIPTION_ID", help="The ISV subscription (default: the worker's)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")] = (
        False
    ),
) -> None:
    """Check the ISV side the worker needs: credential, subscription, resource group, the roles of
    deploy/isv-access.json, the preview feature, Microsoft Graph. Exit 1 if anything is missing."""
    out, err = Console(), Console(stderr=True)
    try:
        settings = AzureSettings.from_env(with_secret_files(os.environ))
    except SettingsError as error:
        err.print(f"error: {error}", markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    if not subscription:
        err.print(
            "error: no subscription: set AZURE_SUBSCRIPTION_ID or pass --subscription",
            markup=False,
        )
        raise typer.Exit(ExitCode.BAD_INPUT)
    try:
        report = asyncio.run(_check(settings, subscription, resource_group))
    except TimeoutError:
        err.print(f"error: Azure did not answer within {TIMEOUT:g} s", markup=False)
        raise typer.Exit(1) from None
    if as_json:
        checks = [c.__dict__ for c in report.checks]
        sys.stdout.write(json.dumps({"ok": report.ok, "checks": checks}, indent=2) + "\n")
    else:
        for check in report.checks:
            out.print(f"{MARKS[check.outcome]:>20}  {check.name}: ", end="")
            out.print(check.detail, markup=False, highlight=False, soft_wrap=True)
            if check.fix:
                out.print("                fix: ", end="")
                out.print(check.fix, markup=False, highlight=False, soft_wrap=True)
        out.print("ready" if report.ok else "not ready: fix what is MISSING above")
    raise typer.Exit(0 if report.ok else 1)
