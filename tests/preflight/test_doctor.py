"""`starter.py doctor` against the emulator: ready, a missing role named with its fix, a bad
credential and an unreachable Azure each end clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from activities.isv_access import isv_access
from emulator.control import IsvTenant
from emulator.runner import RunningEmulator
from harness.local_stack import free_port
from tests.cli.starter_process import run_starter

pytestmark = pytest.mark.slow  # a starter.py process per test (a few seconds each)


def _env(isv: IsvTenant, url: str, ca: Path, **overrides: str) -> dict[str, str]:
    return {
        "AZURE_MODE": "emulator",
        "AZURE_TENANT_ID": isv.tenant_id,
        "AZURE_CLIENT_ID": isv.client_id,
        "AZURE_CLIENT_SECRET": isv.client_secret,
        "AZURE_SUBSCRIPTION_ID": isv.subscription_id,
        "EMULATOR_URL": url,
        "EMULATOR_CA_BUNDLE": str(ca),
        **overrides,
    }


async def test_all_good_exits_zero(emulator: RunningEmulator, isv: IsvTenant) -> None:
    """The seeded ISV holds exactly the documented roles: every check passes, exit 0."""
    run = await run_starter("doctor", "--json", env=_env(isv, emulator.url, emulator.ca_path))
    assert run.code == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["ok"] is True
    outcomes = {c["name"]: c["outcome"] for c in report["checks"]}
    assert outcomes == {
        "credential": "ok",
        "subscription": "ok",
        "resource group": "ok",
        "permissions": "ok",
        "feature": "info",  # not yet Registered: the first onboarding registers it
        "graph": "ok",
    }


async def test_a_missing_role_exits_one_naming_it_and_the_fix(
    emulator: RunningEmulator, isv: IsvTenant
) -> None:
    """Without Managed Identity Operator: the assign action and the role to assign are named."""
    await emulator.control.revoke_role(
        isv.subscription_id, role="Managed Identity Operator", app_id=isv.client_id
    )
    await emulator.control.set_graph_permissions(isv.tenant_id, isv.client_id, [])
    run = await run_starter("doctor", env=_env(isv, emulator.url, emulator.ca_path))
    assert run.code == 1, run.stdout + run.stderr
    assert "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action" in run.stdout
    assert "Managed Identity Operator" in run.stdout
    assert "f1a07417-d97a-45cb-824c-7a7467783830" in run.stdout
    assert "Application.ReadWrite.OwnedBy" in run.stdout
    assert "not ready" in run.stdout


async def test_a_missing_resource_group_exits_one(
    emulator: RunningEmulator, isv: IsvTenant
) -> None:
    """A resource group that does not exist is named with the command that creates it."""
    env = _env(isv, emulator.url, emulator.ca_path)
    run = await run_starter("doctor", "-g", "no-such-rg", env=env)
    assert run.code == 1
    assert "resource group 'no-such-rg' does not exist" in run.stdout
    assert "az group create --name no-such-rg" in run.stdout


async def test_a_bad_credential_exits_one_clearly(
    emulator: RunningEmulator, isv: IsvTenant
) -> None:
    """A wrong client secret stops at the credential check with Entra's refusal and the fix."""
    env = _env(isv, emulator.url, emulator.ca_path, AZURE_CLIENT_SECRET="wrong")
    run = await run_starter("doctor", env=env)
    assert run.code == 1, run.stdout + run.stderr
    assert "could not obtain a token" in run.stdout
    assert "AZURE_CLIENT_SECRET" in run.stdout
    assert "Traceback" not in run.stderr


async def test_unreachable_azure_exits_one_clearly(
    emulator: RunningEmulator, isv: IsvTenant
) -> None:
    """Nothing listens at the endpoint: one clear line and exit 1, no traceback, no long hang."""
    env = _env(isv, f"https://127.0.0.1:{free_port()}", emulator.ca_path)
    run = await run_starter("doctor", env=env, within=90)
    assert run.code == 1, run.stdout + run.stderr
    assert "could not obtain a token" in run.stdout
    assert "Traceback" not in run.stderr


def test_the_role_set_is_what_the_readme_shows() -> None:
    """README's role set is deploy/: the custom role JSON and each role and Graph permission."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    custom = json.loads(isv_access().custom_role_file.read_text())
    for action in custom["Actions"]:
        assert action in readme
    for role in isv_access().roles:
        assert role.name in readme
    for permission in isv_access().graph_permissions:
        assert permission in readme
