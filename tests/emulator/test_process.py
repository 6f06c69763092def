"""The `python -m emulator` process: ready line, CA reuse and state persisted across a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from azure.mgmt.msi.aio import ManagedServiceIdentityClient

from emulator.runner import start_emulator_process
from tests.emulator.conftest import arm_kwargs, make_credential


async def test_restart_keeps_tenants_resources_and_trust(tmp_path: Path) -> None:
    """State written before SIGTERM is served again by a new process on the same data dir and CA."""
    first = start_emulator_process(data_dir=tmp_path, persist=True, feature_delay=0.1)
    try:
        assert (
            first.url.startswith("https://127.0.0.1:")
            and first.ca_path.name == "ca.pem"
            and first.ca_path.parent.name == tmp_path.name
        )
        isv = await first.control.create_isv_tenant()
        credential = make_credential(first, isv)
        async with ManagedServiceIdentityClient(
            credential, isv.subscription_id, **arm_kwargs(first)
        ) as msi:
            created = await msi.user_assigned_identities.create_or_update(
                "cmk-rg", "kept", {"location": "eastus"}
            )
        await credential.close()
        await first.control.aclose()
    finally:
        assert first.stop() == 0
    ca_before = await asyncio.to_thread((tmp_path / "ca.pem").read_bytes)

    second = start_emulator_process(data_dir=tmp_path, persist=True)
    try:
        assert await asyncio.to_thread((tmp_path / "ca.pem").read_bytes) == ca_before
        credential = make_credential(second, isv)
        async with ManagedServiceIdentityClient(
            credential, isv.subscription_id, **arm_kwargs(second)
        ) as msi:
            kept = await msi.user_assigned_identities.get("cmk-rg", "kept")
        await credential.close()
        assert kept.principal_id == created.principal_id
        await second.control.aclose()
    finally:
        assert second.stop() == 0
