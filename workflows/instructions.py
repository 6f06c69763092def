"""What the customer's administrator must do, as exact commands and as markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from textwrap import indent

from models import (
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    MANAGED_HSM_CRYPTO_SERVICE_ENCRYPTION_USER,
    SIGNAL_CUSTOMER_SETUP_COMPLETE,
    CustomerInstructions,
    OnboardingRequest,
    OnboardingStatus,
    Stage,
)
from models.reply_step import KEY_URL_FORMAT, REPLY_STEP
from models.text import escape_markdown, onboarding_summary
from models.wording import deadline_words, every, moment_words

ROLE_NAME = "Key Vault Crypto Service Encryption User"
HSM_ROLE_NAME = "Managed HSM Crypto Service Encryption User"
VAULT_PLACEHOLDER = "<vault-name>"
HSM_PLACEHOLDER = "<hsm-name>"
RESOURCE_GROUP_PLACEHOLDER = "<customer-resource-group>"
KEY_PLACEHOLDER = "<key-name>"
HSM_KEY_URL_FORMAT = "https://<hsm-name>.managedhsm.azure.net/keys/<key-name>/<version>"
_HSM_SUFFIX = ".managedhsm.azure.net"


def uses_managed_hsm(request: OnboardingRequest) -> bool:
    """Managed HSM when the request's key URL (or the only allowed key host) is an HSM's."""
    if request.key_url is not None:
        host = request.key_url.split("/", 3)[2].lower() if "//" in request.key_url else ""
        return host.endswith(_HSM_SUFFIX)
    return request.policy.key_host_suffixes == (_HSM_SUFFIX,)


def consent_url(customer_tenant_id: str, app_id: str) -> str:
    return f"https://login.microsoftonline.com/{customer_tenant_id}/adminconsent?client_id={app_id}"


def customer_commands(request: OnboardingRequest, app_id: str) -> tuple[str, ...]:
    """The az CLI commands, in order, that the customer runs in their own tenant."""
    if uses_managed_hsm(request):
        return _hsm_commands(request, app_id)
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
        f"az keyvault key show --vault-name {VAULT_PLACEHOLDER} --name {KEY_PLACEHOLDER}"
        " --query key.kid -o tsv",
    )


def _hsm_commands(request: OnboardingRequest, app_id: str) -> tuple[str, ...]:
    """A Managed HSM: its keys are RSA-HSM and access is its local RBAC role on the key."""
    return (
        f"az login --tenant {request.customer_tenant_id}",
        f"az ad sp create --id {app_id}",
        f"az keyvault create --hsm-name {HSM_PLACEHOLDER}"
        f" --resource-group {RESOURCE_GROUP_PLACEHOLDER} --location {request.region}"
        ' --administrators "$(az ad signed-in-user show --query id -o tsv)"'
        " --enable-purge-protection true --retention-days 90",
        f"az keyvault security-domain download --hsm-name {HSM_PLACEHOLDER}"
        " --sd-wrapping-keys cert0.cer cert1.cer cert2.cer --sd-quorum 2"
        " --security-domain-file sd.json",
        f"az keyvault key create --hsm-name {HSM_PLACEHOLDER} --name {KEY_PLACEHOLDER}"
        " --kty RSA-HSM --size 3072",
        f'az keyvault role assignment create --hsm-name {HSM_PLACEHOLDER} --role "{HSM_ROLE_NAME}"'
        f" --assignee {app_id} --scope /keys/{KEY_PLACEHOLDER}",
        f"az keyvault key show --hsm-name {HSM_PLACEHOLDER} --name {KEY_PLACEHOLDER}"
        " --query key.kid -o tsv",
    )


def reply_commands(
    workflow_id: str, customer_tenant_id: str, key_url_format: str = KEY_URL_FORMAT
) -> tuple[str, str]:
    """How the key URL comes back: the starter CLI, or a raw signal any client can send."""
    body = json.dumps({"key_url": key_url_format, "customer_tenant_id": customer_tenant_id})
    return (
        f"uv run starter.py complete --workflow-id {workflow_id} --key-url <key-url>",
        f"temporal workflow signal --workflow-id {workflow_id}"
        f" --name {SIGNAL_CUSTOMER_SETUP_COMPLETE} --input '{body}'",
    )


def build_instructions(
    request: OnboardingRequest,
    workflow_id: str,
    app_id: str,
    *,
    asked_at: datetime | None = None,
) -> CustomerInstructions:
    """The customer's steps; with `asked_at` (when they are sent) they also say by when."""
    url = consent_url(request.customer_tenant_id, app_id)
    commands = customer_commands(request, app_id)
    return CustomerInstructions(
        consent_url=url,
        app_id=app_id,
        commands=commands,
        markdown=_instructions_markdown(request, workflow_id, url, commands, asked_at),
    )


# List-item content starts 3 columns in ("1. "); a code block indented less would end the list,
# and renderers that ignore an ordered list's start number would then restart the count at 1.
_ITEM_INDENT = "   "


def _code_block(lines: Sequence[str]) -> str:
    """A fenced sh block nested under the current list item."""
    body = "\n".join(["```sh", *lines, "```"])
    return indent(body, _ITEM_INDENT)


def _instructions_markdown(
    request: OnboardingRequest,
    workflow_id: str,
    url: str,
    commands: tuple[str, ...],
    asked_at: datetime | None,
) -> str:
    hsm = uses_managed_hsm(request)
    key_url_format = HSM_KEY_URL_FORMAT if hsm else KEY_URL_FORMAT
    starter, signal = reply_commands(workflow_id, request.customer_tenant_id, key_url_format)
    if hsm:
        store = (
            f"2. Create and activate a Managed HSM with purge protection in region "
            f"`{request.region}` (the same region as the encrypted disks), an RSA-HSM key of "
            "2048, 3072 or 4096 bits, and give the application the Managed HSM local role"
            f' "{HSM_ROLE_NAME}" (`{MANAGED_HSM_CRYPTO_SERVICE_ENCRYPTION_USER}`) on the key.\n\n'
        )
    else:
        store = (
            f"2. Create a Key Vault with purge protection in region `{request.region}` (the same"
            " region as the encrypted disks), an RSA key of 2048, 3072 or 4096 bits, and give the"
            f' application the role "{ROLE_NAME}" (`{KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER}`)'
            " on the vault.\n\n"
        )
    timing = ""
    if asked_at is not None:
        deadline = asked_at + request.customer_deadline
        timing = (
            f"Please finish {deadline_words(deadline, asked_at)}; until then we remind you "
            f"{every(request.reminder_interval)}.\n\n"
        )
    return (
        f"### Customer setup for {escape_markdown(request.customer_name)}\n\n"
        f"Run these in tenant `{request.customer_tenant_id}` as an administrator.\n\n"
        f"{timing}"
        f"1. Grant admin consent to the ISV application: {url}\n"
        "   (or run `az ad sp create` below).\n\n"
        f"{store}"
        f"{_code_block(commands)}\n\n"
        f"{REPLY_STEP}, version included (`{key_url_format}`, what the last command prints):\n\n"
        f"{_code_block([starter, signal])}\n"
    )


_WAITING_FOR = {
    "customer": "the customer's administrator",
    "isv": "the ISV operator",
    "azure": "Azure",
    "nobody": "nobody",
}


def current_details(
    status: OnboardingStatus,
    *,
    reminder_interval: timedelta | None = None,
    request: OnboardingRequest | None = None,
) -> str:
    """Markdown for the Temporal UI: stage, who we wait for, what to do next, last failure and
    its fix; first the one-line summary of `request`, which a run started without the CLI
    (`temporal workflow start`) has nowhere else."""
    lines = [] if request is None else [_summary(request)]
    lines += [
        f"**Stage:** `{status.stage}`",
        f"**Customer:** {escape_markdown(status.customer_name)} (`{status.customer_tenant_id}`)",
        f"**Waiting for:** {_WAITING_FOR[status.waiting_for]}",
    ]
    if status.stage == Stage.AWAITING_CUSTOMER and status.instructions is not None:
        lines.append(f"**Consent link:** {status.instructions.consent_url}")
        if status.deadline is not None:
            # Absolute only: the details are refreshed on events, so "in N days" would go stale.
            lines.append(f"**Deadline:** {moment_words(status.deadline)}")
        reminders = f"**Reminders sent:** {status.reminders_sent}"
        if reminder_interval is not None:
            reminders += f" ({every(reminder_interval)})"
        lines.append(reminders)
    if status.attempts:
        lines.append(f"**Attempts:** {len(status.attempts)}")
    if status.last_failure:
        lines.append(f"**Last failure:** {escape_markdown(status.last_failure)}")
        if fix := _last_fix(status):
            lines.append(f"**Fix:** {escape_markdown(fix)}")
    if status.setup_page_link_sent:
        lines.append(
            "**Setup page:** a signed link was sent to the customer"
            f" (a new one: `starter.py link -w {status.workflow_id}`)"
        )
    if (attention := status.operator_attention) is not None:
        lines.append(
            f"**Needs the ISV operator:** {escape_markdown(attention.code)} since "
            f"{moment_words(attention.at)}: {escape_markdown(attention.message)}"
        )
    if status.stage == Stage.AWAITING_CUSTOMER and status.instructions is not None:
        lines.append("")
        lines.append(status.instructions.markdown)
    return "\n\n".join(lines)


def _summary(request: OnboardingRequest) -> str:
    return onboarding_summary(
        customer_name=request.customer_name,
        customer_tenant_id=request.customer_tenant_id,
        des_name=request.des_name,
        region=request.region,
    )


def _last_fix(status: OnboardingStatus) -> str | None:
    """The fix of the failed attempt the last failure describes, if that is what it describes."""
    failed = [a for a in status.attempts if a.outcome == "customer_error" and a.fix]
    # A later failure of the onboarding itself (deadline, ISV side) carries its own advice.
    if not failed or not (status.last_failure or "").startswith(f"attempt {failed[-1].number}:"):
        return None
    return failed[-1].fix
