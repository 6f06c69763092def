"""Pure rules: what a DES read and a probe mean for the customer's key chain (findings, health)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.lifecycle import Deployment, EncryptionSetHealth, Finding, Health, ProbeResult
from workflows.plan import TAG_KEY


@dataclass(frozen=True)
class Cause:
    code: str
    severity: Literal[Health.DEGRADED, Health.BROKEN]
    owner: Literal["customer", "isv"]
    what: str
    fix: str


# Keyed by the canonical causes activities/key_health.py derives from Azure's codes and messages.
CAUSES = {
    "ConsentRevoked": Cause(
        "CONSENT_REVOKED",
        Health.BROKEN,
        "customer",
        "the ISV application's service principal is gone from the customer tenant (consent "
        "revoked)",
        "Customer: grant admin consent again (the consent URL from `starter.py instructions`, or "
        "`az ad sp create --id <appId>`), then assign the key role to it again.",
    ),
    "RoleRemoved": Cause(
        "KEY_ROLE_REMOVED",
        Health.BROKEN,
        "customer",
        "the ISV application may no longer use the key (role or access policy removed)",
        "Customer: assign 'Key Vault Crypto Service Encryption User' to the ISV application on "
        "the vault or key (or grant get, wrapKey, unwrapKey in the access policy).",
    ),
    "KeyDisabled": Cause(
        "KEY_DISABLED",
        Health.BROKEN,
        "customer",
        "the customer's key is disabled",
        "Customer: `az keyvault key set-attributes --vault-name <vault> --name <key> "
        "--enabled true`.",
    ),
    "KeyExpired": Cause(
        "KEY_EXPIRED",
        Health.BROKEN,
        "customer",
        "the customer's key has expired",
        "Customer: extend the key's expiry (`az keyvault key set-attributes ... --expires`) or "
        "create a new key and ask the ISV to run `starter.py change-key` with its URL.",
    ),
    "KeyDeleted": Cause(
        "KEY_DELETED",
        Health.BROKEN,
        "customer",
        "the customer's key (or the version in use) was deleted",
        "Customer: recover it from soft delete (`az keyvault key recover --vault-name <vault> "
        "--name <key>`) within the retention period.",
    ),
    "VaultGone": Cause(
        "KEY_VAULT_GONE",
        Health.BROKEN,
        "customer",
        "the customer's key vault no longer exists",
        "Customer: recover the vault from soft delete (`az keyvault recover --name <vault>`); "
        "purge protection keeps it recoverable for the retention period.",
    ),
    "IdentityDeleted": Cause(
        "IDENTITY_DELETED",
        Health.BROKEN,
        "isv",
        "the encryption set's user-assigned managed identity was deleted",
        "ISV: recreate the identity chain (start an onboarding for any customer: the shared "
        "identity and federated credential are ensured again) and re-point the encryption set "
        "with `starter.py change-key` to the same key URL.",
    ),
    "FederatedCredentialDeleted": Cause(
        "FEDERATED_CREDENTIAL_DELETED",
        Health.BROKEN,
        "isv",
        "the federated credential that lets the identity act as the ISV application is gone",
        "ISV: recreate it (an onboarding run ensures it: issuer = the ISV tenant, subject = the "
        "identity's principalId, audience api://AzureADTokenExchange).",
    ),
}
KEY_CHAIN_CODES = frozenset(cause.code for cause in CAUSES.values())
_OTHER = Cause(
    "KEY_ROTATION_ERROR",
    Health.DEGRADED,
    "isv",
    "Azure reports an unrecognised error for the customer's key",
    "ISV: read the message; `az disk-encryption-set show` shows autoKeyRotationError.",
)


def _finding(cause_name: str, detail: str | None) -> Finding:
    cause = CAUSES.get(cause_name, _OTHER)
    message = cause.what + (f" (Azure: {detail})" if detail else "")
    return Finding(
        code=cause.code, severity=cause.severity, owner=cause.owner, message=message, fix=cause.fix
    )


def _key_id(key_url: str) -> str:
    """vault host + key name, lower case: a new version of the same key is not a change."""
    parts = key_url.lower().removeprefix("https://").rstrip("/").split("/")
    return "/".join(parts[:3])


def read_findings(
    deployment: Deployment,
    read: EncryptionSetHealth,
    baseline_modified_by: str | None,
    baseline_modified_at: str | None,
) -> list[Finding]:
    """What one GET of the DES shows; probe findings are added by probe_findings."""
    if not read.found:
        return [
            Finding(
                code="ENCRYPTION_SET_MISSING",
                severity=Health.BROKEN,
                owner="isv",
                message=f"disk encryption set {deployment.encryption_set_id} no longer exists",
                fix="ISV: if it was deleted by mistake, start the onboarding again for this "
                "customer and encryption set name; otherwise run `starter.py offboard`.",
            )
        ]
    findings: list[Finding] = []
    if read.provisioning_state != "Succeeded":
        failed = read.provisioning_state == "Failed"
        findings.append(
            Finding(
                code="ENCRYPTION_SET_NOT_SUCCEEDED",
                severity=Health.BROKEN if failed else Health.DEGRADED,
                owner="isv",
                message=f"disk encryption set is '{read.provisioning_state}', not 'Succeeded'",
                fix="ISV: `az disk-encryption-set show` for the operation's error; a key change "
                "in progress settles by itself.",
            )
        )
    changes = _outside_changes(deployment, read, baseline_modified_by, baseline_modified_at)
    if changes:
        findings.append(
            Finding(
                code="ENCRYPTION_SET_CHANGED_OUTSIDE_SERVICE",
                severity=Health.DEGRADED,
                owner="isv",
                message="disk encryption set changed outside this service: " + "; ".join(changes),
                fix="ISV: find who changed it (activity log); restore it with `starter.py "
                "change-key --key-url <the expected key>` or adopt the new key the same way.",
            )
        )
    if read.rotation_error_cause is not None:
        findings.append(_finding(read.rotation_error_cause, read.rotation_error_message))
    return findings


def _outside_changes(
    deployment: Deployment,
    read: EncryptionSetHealth,
    baseline_modified_by: str | None,
    baseline_modified_at: str | None,
) -> list[str]:
    changes: list[str] = []
    if read.key_url and _key_id(read.key_url) != _key_id(deployment.key_url):
        changes.append(f"active key is {read.key_url}, expected {deployment.key_url}")
    elif (
        read.key_url
        and not deployment.rotation_to_latest_key_version_enabled
        and read.key_url.rstrip("/").lower() != deployment.key_url.rstrip("/").lower()
        and deployment.key_url.rstrip("/").count("/") > 4  # a pinned version was changed
    ):
        changes.append(f"active key version is {read.key_url}, expected {deployment.key_url}")
    if read.federated_client_id.lower() != deployment.federated_client_id.lower():
        changes.append(
            f"federatedClientId is '{read.federated_client_id}', expected "
            f"'{deployment.federated_client_id}'"
        )
    if deployment.identity_id.lower() not in {i.lower() for i in read.identity_ids}:
        changes.append(f"identity is {', '.join(read.identity_ids) or 'none'}")
    owner = read.tags.get(TAG_KEY)
    if owner is not None and owner != deployment.onboarding_workflow_id:
        changes.append(
            f"tag {TAG_KEY} is '{owner}', expected '{deployment.onboarding_workflow_id}'"
        )
    if (
        read.last_modified_by is not None
        and read.last_modified_by != baseline_modified_by
        and read.last_modified_at != baseline_modified_at
    ):
        changes.append(f"last modified by {read.last_modified_by} at {read.last_modified_at}")
    return changes


def probe_findings(probe: ProbeResult) -> list[Finding]:
    if probe.ok or probe.cause is None:
        return []
    return [_finding(probe.cause, probe.message)]


def role_removed_in(findings: list[Finding]) -> bool:
    """DiskRP says "cannot access the vault" both when the role is gone and when the vault is:
    only asking the vault tells them apart (see vault_gone_instead)."""
    return any(f.code == CAUSES["RoleRemoved"].code for f in findings)


def vault_gone_instead(findings: list[Finding]) -> list[Finding]:
    """The vault itself no longer answers: KEY_VAULT_GONE replaces KEY_ROLE_REMOVED."""
    role_removed = CAUSES["RoleRemoved"].code
    replaced = [_finding("VaultGone", None) if f.code == role_removed else f for f in findings]
    return merge(replaced)


def merge(*groups: list[Finding]) -> list[Finding]:
    """One finding per code, the first seen (the read's wording before the probe's)."""
    seen: dict[str, Finding] = {}
    for group in groups:
        for finding in group:
            seen.setdefault(finding.code, finding)
    return list(seen.values())


def health_of(findings: list[Finding]) -> Health:
    if any(f.severity == Health.BROKEN for f in findings):
        return Health.BROKEN
    return Health.DEGRADED if findings else Health.HEALTHY


def read_looks_clean(findings: list[Finding]) -> bool:
    return not findings
