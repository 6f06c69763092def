"""Valid onboarding request flags for CLI tests, with a fresh customer tenant each time."""

from __future__ import annotations

import uuid

ISV_TENANT_ID = "11111111-1111-1111-1111-111111111111"
SUBSCRIPTION_ID = "22222222-2222-2222-2222-222222222222"


def request_fields(customer_tenant_id: str | None = None) -> dict[str, str]:
    return {
        "customer_tenant_id": customer_tenant_id or str(uuid.uuid4()),
        "customer_name": "Contoso",
        "isv_tenant_id": ISV_TENANT_ID,
        "subscription_id": SUBSCRIPTION_ID,
        "resource_group": "cmk-rg",
        "region": "eastus",
        "des_name": "contoso-des",
    }


def as_flags(fields: dict[str, str]) -> list[str]:
    flags: list[str] = []
    for name, value in fields.items():
        flags += ["--" + name.replace("_", "-"), value]
    return flags
