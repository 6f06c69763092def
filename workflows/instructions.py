"""What the customer's administrator must do, as exact commands and as markdown."""

from __future__ import annotations

import json

from models import (
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    SIGNAL_CUSTOMER_SETUP_COMPLETE,
    CustomerInstructions,
    OnboardingRequest,
    OnboardingStatus,
    Stage,
)
from models.reply_step import KEY_URL_FORMAT, REPLY_STEP
from models.text import escape_markdown

ROLE_NAME = "Key Vault Crypto Service Encryption User"
VAULT_PLACEHOLDER = "<vault-name>"
RESOURCE_GROUP_PLACEHOLDER = "<customer-resource-group>"
KEY_PLACEHOLDER = "<key-name>"


def consent_url(customer_tenant_id: str, app_id: str) -> str:
    return f"https://login.microsoftonline.com/{customer_tenant_id}/adminconsent?client_id={app_id}"


def customer_commands(request: OnboardingRequest, app_id: str) -> tuple[str, ...]:
    """The az CLI commands, in order, that the customer runs in their own tenant."""
    return (
        f"az login --tenant {request.customer_tenant_id}",
        f"az ad sp create --id {app_id}",
        f"az keyvault create --name {VAULT_PLACEHOLDER}"
        f" --resource-group {RESOURCE_GROUP_PLACEHOLDER}"
        f" --location {request.region} --enable-purge-protection true --retention-days 90"
        " --enable-rbac-authorization true",
        f"az keyvault key create --vault-name {VAULT_PLACEHOLDER} --name {KEY_PLACEHOLDER}"
        " --kty RSA --size 3072",
        f'az role assignment create --role "{ROLE_NAME}" --assignee {app_id}'
        f' --scope "$(az keyvault show --name {VAULT_PLACEHOLDER} --query id --output tsv)"',
    )


def reply_commands(workflow_id: str, customer_tenant_id: str) -> tuple[str, str]:
    """How the key URL comes back: the starter CLI, or a raw signal any client can send."""
    body = json.dumps({"key_url": KEY_URL_FORMAT, "customer_tenant_id": customer_tenant_id})
    return (
        f"uv run starter.py complete --workflow-id {workflow_id} --key-url <key-url>",
        f"temporal workflow signal --workflow-id {workflow_id}"
        f" --name {SIGNAL_CUSTOMER_SETUP_COMPLETE} --input '{body}'",
    )


def build_instructions(
    request: OnboardingRequest, workflow_id: str, app_id: str
) -> CustomerInstructions:
    url = consent_url(request.customer_tenant_id, app_id)
    commands = customer_commands(request, app_id)
    return CustomerInstructions(
        consent_url=url,
        app_id=app_id,
        commands=commands,
        markdown=_instructions_markdown(request, workflow_id, url, commands),
    )


def _instructions_markdown(
    request: OnboardingRequest, workflow_id: str, url: str, commands: tuple[str, ...]
) -> str:
    starter, signal = reply_commands(workflow_id, request.customer_tenant_id)
    shell = "\n".join(commands)
    return (
        f"### Customer setup for {escape_markdown(request.customer_name)}\n\n"
        f"Run these in tenant `{request.customer_tenant_id}` as an administrator.\n\n"
        f"1. Grant admin consent to the ISV application: {url}\n"
        "   (or run `az ad sp create` below).\n"
        f"2. Create a Key Vault with purge protection in region `{request.region}` (the same region"
        " as the encrypted disks), an RSA key of 2048, 3072 or 4096 bits, and give the application"
        f' the role "{ROLE_NAME}" (`{KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER}`) on the vault.\n\n'
        f"```sh\n{shell}\n```\n\n"
        f"{REPLY_STEP} (`{KEY_URL_FORMAT}`):\n\n"
        f"```sh\n{starter}\n{signal}\n```\n"
    )


_WAITING_FOR = {
    "customer": "the customer's administrator",
    "isv": "the ISV operator",
    "azure": "Azure",
    "nobody": "nobody",
}


def current_details(status: OnboardingStatus) -> str:
    """Markdown for the Temporal UI: stage, who we wait for, what to do next, last failure."""
    lines = [
        f"**Stage:** `{status.stage}`",
        f"**Customer:** {escape_markdown(status.customer_name)} (`{status.customer_tenant_id}`)",
        f"**Waiting for:** {_WAITING_FOR[status.waiting_for]}",
    ]
    if status.stage == Stage.AWAITING_CUSTOMER and status.instructions is not None:
        lines.append(f"**Consent link:** {status.instructions.consent_url}")
        if status.deadline is not None:
            lines.append(f"**Deadline:** {status.deadline.isoformat()}")
        lines.append(f"**Reminders sent:** {status.reminders_sent}")
    if status.attempts:
        lines.append(f"**Attempts:** {len(status.attempts)}")
    if status.last_failure:
        lines.append(f"**Last failure:** {escape_markdown(status.last_failure)}")
    if status.setup_page_link_sent:
        lines.append(
            "**Setup page:** a signed link was sent to the customer"
            f" (a new one: `starter.py link -w {status.workflow_id}`)"
        )
    if status.stage == Stage.AWAITING_CUSTOMER and status.instructions is not None:
        lines.append("")
        lines.append(status.instructions.markdown)
    return "\n\n".join(lines)
