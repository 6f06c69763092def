"""The onboarding request, its policy and validation, and the customer's submission.

Side-effect free: no I/O, no environment reads, no clock; the workflow sandbox imports it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)

from models.base import Strict
from models.watch_settings import WatchSettings

NIL_GUID = "00000000-0000-0000-0000-000000000000"
# Validators use fullmatch: with match(), '$' also accepts a trailing newline ("eastus-des\n").
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DES_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# ARM resource group rule: 1-90 of letters, digits, '_', '-', '.', '(' and ')', not ending in '.'.
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$", re.ASCII)
# User-assigned identity names: 3-128, start with a letter or digit, then letters, digits, '-', '_'.
_IDENTITY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")
_APP_UNIQUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
# DiskRP spec, KeyForDiskEncryptionSet.keyUrl: "Version segment of the Url is required regardless
# of rotationToLatestKeyVersionEnabled value".
_KEY_PATH = re.compile(r"^/keys/(?P<name>[A-Za-z0-9-]{1,127})/(?P<version>[0-9a-fA-F]{32})/?$")
_VERSIONLESS_KEY_PATH = re.compile(r"^/keys/(?P<name>[A-Za-z0-9-]{1,127})/?$")
_VAULT_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")


# Zone-redundant disks exist only in regions with availability zones. Learn, "Deploy a managed
# disk that uses zone-redundant storage" ("available in all regions that support availability
# zones"); the list is Learn's "Azure regions that support zone-redundant storage (ZRS)" (public
# cloud), as in emulator/disk_policy.py. A snapshot: extend it in CMK_POLICY_FILE (zrs_regions).
ZRS_REGIONS = (
    "australiaeast", "brazilsouth", "canadacentral", "centralindia", "centralus", "eastasia",
    "eastus", "eastus2", "francecentral", "germanywestcentral", "israelcentral", "italynorth",
    "japaneast", "koreacentral", "mexicocentral", "northeurope", "norwayeast", "polandcentral",
    "qatarcentral", "southafricanorth", "southcentralus", "southeastasia", "spaincentral",
    "swedencentral", "switzerlandnorth", "uaenorth", "uksouth", "westeurope", "westus2",
    "westus3",
)  # fmt: skip
# The seed document's 2022 preview list (DESIGN.md section 1).
PREVIEW_2022_REGIONS = (
    "centralus",
    "northcentralus",
    "westus",
    "westcentralus",
    "eastus",
    "eastus2",
    "northeurope",
)
# Learn, "Encrypt managed disks with cross-tenant customer-managed keys"
# (https://learn.microsoft.com/azure/virtual-machines/disks-cross-tenant-customer-managed-keys),
# "Limitations": no region list, only "isn't available in Microsoft Azure operated by 21Vianet or
# Government clouds". So: the public-cloud regions (a snapshot; no usgov*, china*, *euap).
PUBLIC_REGIONS = (
    *ZRS_REGIONS,
    "australiacentral", "australiacentral2", "australiasoutheast", "brazilsoutheast",
    "canadaeast", "francesouth", "germanynorth", "japanwest", "jioindiacentral", "jioindiawest",
    "koreasouth", "newzealandnorth", "northcentralus", "norwaywest", "southafricawest",
    "southindia", "switzerlandwest", "uaecentral", "ukwest", "westcentralus", "westindia",
    "westus",
)  # fmt: skip


class Policy(BaseModel):
    """Limits from the cross-tenant CMK documentation, as data so operators can change them.

    The defaults are the `preview-2022` preset (POLICY_PRESETS).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    supported_regions: tuple[str, ...] = PREVIEW_2022_REGIONS
    known_disk_skus: tuple[str, ...] = (
        "Standard_LRS",
        "StandardSSD_LRS",
        "StandardSSD_ZRS",
        "Premium_LRS",
        "Premium_ZRS",
        "UltraSSD_LRS",
        "PremiumV2_LRS",
    )
    unsupported_disk_skus: tuple[str, ...] = ("UltraSSD_LRS", "PremiumV2_LRS")
    encryption_types: tuple[str, ...] = (
        "EncryptionAtRestWithCustomerKey",
        "EncryptionAtRestWithPlatformAndCustomerKeys",
    )
    key_host_suffixes: tuple[str, ...] = (".vault.azure.net", ".managedhsm.azure.net")
    register_preview_feature: StrictBool = True
    identity_mode: Literal["shared", "isolated"] = "shared"
    zrs_regions: tuple[str, ...] = ZRS_REGIONS


DEFAULT_POLICY = Policy()

# Selectable in the worker's policy file (`preset = "current-docs"`); its other keys override.
POLICY_PRESETS: dict[str, Policy] = {
    # The seed document's preview (2022): 7 regions, no Ultra / Premium SSD v2, and the
    # EncryptionAtRestWithCrossTenantKey feature registration.
    "preview-2022": DEFAULT_POLICY,
    # Learn's current page (URL above PUBLIC_REGIONS): same-region rule (checked by Azure), no
    # Ultra Disks or Premium SSD v2, any public-cloud region, and no feature registration step.
    # The Ultra Disks page calls cross-tenant CMK for Ultra "(Preview)"; the cross-tenant page
    # still excludes it, so it stays excluded here (allow it with unsupported_disk_skus).
    "current-docs": Policy(supported_regions=PUBLIC_REGIONS, register_preview_feature=False),
}


def normalize_region(region: str) -> str:
    """'East US 2' and 'eastus2' name the same ARM location."""
    return region.replace(" ", "").lower()


def key_url_problem(
    key_url: str, policy: Policy = DEFAULT_POLICY, *, require_version: bool = True
) -> str | None:
    """Why `key_url` is not a usable Key Vault / Managed HSM key identifier, or None if it is.

    `require_version=False` only for workflows started before versions were required (replay).
    """
    expected = "expected https://<vault>.vault.azure.net/keys/<name>/<version>"
    if len(key_url) > 512:
        return f"is longer than 512 characters; {expected}"
    # urlsplit silently drops surrounding spaces and embedded tabs/newlines; Azure would not.
    if any(c.isspace() or not c.isprintable() for c in key_url):
        return f"must not contain spaces or control characters; {expected}"
    try:
        parts = urlsplit(key_url)
        port = parts.port
    except ValueError:
        return f"is not a valid URL; {expected}"
    if parts.scheme != "https":
        return f"must use https, not '{parts.scheme or 'no scheme'}'; {expected}"
    host = (parts.hostname or "").lower()
    suffix = next((s for s in policy.key_host_suffixes if host.endswith(s)), None)
    if suffix is None:
        hosts = " or ".join(f"*{s}" for s in policy.key_host_suffixes)
        return f"host '{host}' is not a Key Vault or Managed HSM host ({hosts}); {expected}"
    if not _VAULT_LABEL.fullmatch(host.removesuffix(suffix)):
        return f"vault name in host '{host}' must be 3-24 letters, digits and '-'; {expected}"
    if parts.username or parts.password or port not in (None, 443):
        return f"must not carry credentials or a port; {expected}"
    if parts.query or parts.fragment:
        return f"must not have a query string or fragment; {expected}"
    if (versionless := _VERSIONLESS_KEY_PATH.fullmatch(parts.path)) and not require_version:
        return None
    if versionless:
        vault, name = host.removesuffix(suffix), versionless["name"]
        flag = "--hsm-name" if suffix == ".managedhsm.azure.net" else "--vault-name"
        return (
            "has no key version; Azure requires the full versioned key identifier (also with "
            "automatic rotation to the latest version). Copy it from "
            f"`az keyvault key show {flag} {vault} --name {name} --query key.kid -o tsv`"
        )
    if not _KEY_PATH.fullmatch(parts.path) or ".." in parts.path or "//" in parts.path:
        return f"path '{parts.path}' is not /keys/<name>/<32-hex version>; {expected}"
    return None


def vault_name_from_key_url(key_url: str) -> str:
    return (urlsplit(key_url).hostname or "").split(".", 1)[0]


def _duration(minimum: timedelta, maximum: timedelta) -> Any:
    return Field(ge=minimum, le=maximum)


class OnboardingRequest(Strict):
    """Everything one customer's onboarding needs. JSON field names are the Python names."""

    customer_tenant_id: str
    customer_name: Annotated[str, Field(min_length=1, max_length=100)]
    isv_tenant_id: str
    subscription_id: str
    resource_group: str
    region: str
    des_name: str
    disk_sku: str = "Premium_LRS"
    encryption_type: str = "EncryptionAtRestWithCustomerKey"
    key_url: str | None = None
    rotation_to_latest_key_version_enabled: StrictBool = True
    app_unique_name: str = "cmk-cross-tenant-app"
    identity_name: str = "cmk-cross-tenant-identity"
    test_disk_size_gb: Annotated[StrictInt, Field(ge=1, le=64)] = 4
    reminder_interval: Annotated[timedelta, _duration(timedelta(seconds=1), timedelta(days=30))] = (
        timedelta(days=2)
    )
    customer_deadline: Annotated[
        timedelta, _duration(timedelta(seconds=1), timedelta(days=365))
    ] = timedelta(days=14)
    max_customer_attempts: Annotated[StrictInt, Field(ge=1, le=20)] = 5
    feature_registration_timeout: Annotated[
        timedelta, _duration(timedelta(seconds=1), timedelta(days=7))
    ] = timedelta(hours=6)
    policy: Policy = DEFAULT_POLICY
    # After completion: how often the key-health watch checks and probes (workflows/key_health.py).
    key_health: WatchSettings = WatchSettings()

    @field_validator(
        "reminder_interval", "customer_deadline", "feature_registration_timeout", mode="before"
    )
    @classmethod
    def _duration_not_bool(cls, value: Any) -> Any:
        # pydantic reads a JSON true as 1 second.
        if isinstance(value, bool):
            raise ValueError("must be an ISO 8601 duration such as 'P2D' or seconds, not a bool")
        return value

    @field_validator("customer_tenant_id", "isv_tenant_id", "subscription_id")
    @classmethod
    def _guid(cls, value: str) -> str:
        if not _GUID.fullmatch(value):
            raise ValueError("must be a GUID like 6f1c1a36-3f1e-4a0b-9a55-0e8a1c2b3d4e")
        if value == NIL_GUID:
            raise ValueError("must not be the nil GUID 00000000-0000-0000-0000-000000000000")
        return value.lower()

    @field_validator("customer_name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.strip() or not value.isprintable():
            raise ValueError("must be printable text, not blank")
        return value.strip()

    @field_validator("resource_group")
    @classmethod
    def _resource_group(cls, value: str) -> str:
        if not _RESOURCE_GROUP.fullmatch(value):
            raise ValueError(
                "must be 1-90 letters, digits, '_', '-', '.', '(' or ')' and not end with '.'"
            )
        return value

    @field_validator("des_name")
    @classmethod
    def _des_name(cls, value: str) -> str:
        if not _DES_NAME.fullmatch(value):
            raise ValueError("must be 1-80 characters of letters, digits, '_' and '-'")
        return value

    @field_validator("identity_name")
    @classmethod
    def _identity_name(cls, value: str) -> str:
        if not _IDENTITY_NAME.fullmatch(value):
            raise ValueError("must be 3-128 letters, digits, '-' or '_', starting alphanumeric")
        return value

    @field_validator("app_unique_name")
    @classmethod
    def _app_unique_name(cls, value: str) -> str:
        if not _APP_UNIQUE_NAME.fullmatch(value):
            raise ValueError(
                "must be 1-120 letters, digits, '.', '_' or '-', starting alphanumeric"
            )
        return value

    @field_validator("region")
    @classmethod
    def _region_shape(cls, value: str) -> str:
        normalized = normalize_region(value)
        if not re.fullmatch(r"[a-z0-9]{2,40}", normalized):
            raise ValueError("must be an Azure location such as 'eastus' or 'North Europe'")
        return normalized

    def policy_problems(self, *, fidelity_checks: bool = True) -> list[tuple[str, str]]:
        """Field errors that depend on the policy rather than on a field alone."""
        problems: list[tuple[str, str]] = []
        policy = self.policy
        if self.customer_tenant_id == self.isv_tenant_id:
            problems.append(
                (
                    "customer_tenant_id",
                    "is the ISV tenant itself; a cross-tenant key lives in the customer's "
                    "own tenant",
                )
            )
        if self.region not in policy.supported_regions:
            problems.append(
                (
                    "region",
                    f"'{self.region}' does not support cross-tenant customer-managed keys; "
                    f"use one of {', '.join(policy.supported_regions)}",
                )
            )
        if self.disk_sku not in policy.known_disk_skus:
            usable = [s for s in policy.known_disk_skus if s not in policy.unsupported_disk_skus]
            problems.append(
                (
                    "disk_sku",
                    f"'{self.disk_sku}' is not a managed disk SKU; use one of {', '.join(usable)}",
                )
            )
        elif self.disk_sku in policy.unsupported_disk_skus:
            problems.append(
                (
                    "disk_sku",
                    f"'{self.disk_sku}' cannot use cross-tenant customer-managed keys; "
                    "use Premium_LRS, StandardSSD_LRS or Standard_LRS",
                )
            )
        if (
            fidelity_checks
            and self.disk_sku.endswith("_ZRS")
            and self.region not in policy.zrs_regions
        ):
            problems.append(
                (
                    "disk_sku",
                    f"'{self.disk_sku}' is zone-redundant, and region '{self.region}' has no "
                    "availability zones for managed disks; use "
                    f"{self.disk_sku.removesuffix('_ZRS')}_LRS, or a region with zones",
                )
            )
        if self.encryption_type not in policy.encryption_types:
            problems.append(
                (
                    "encryption_type",
                    f"'{self.encryption_type}' is not supported; use one of "
                    f"{', '.join(policy.encryption_types)}",
                )
            )
        if self.key_url is not None and (
            problem := key_url_problem(self.key_url, policy, require_version=fidelity_checks)
        ):
            problems.append(("key_url", problem))
        if self.reminder_interval > self.customer_deadline:
            problems.append(
                ("reminder_interval", "must not be longer than customer_deadline; shorten it")
            )
        return problems


class RequestInvalid(ValueError):
    """A request that must not reach Azure. `problems` pairs each field with what to fix."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__(
            "invalid onboarding request: "
            + "; ".join(f"{field}: {problem}" for field, problem in problems)
        )


def parse_request(raw: Any, *, fidelity_checks: bool = True) -> OnboardingRequest:
    """Parse and fully validate a request from JSON-like data, or raise RequestInvalid."""
    if isinstance(raw, OnboardingRequest):
        raw = raw.model_dump(mode="json")
    if not isinstance(raw, dict):
        raise RequestInvalid([("request", "must be a JSON object")])
    try:
        request = OnboardingRequest.model_validate(raw)
    except ValidationError as error:
        field_problems = [
            (".".join(str(p) for p in e["loc"]) or "request", _friendly(e)) for e in error.errors()
        ]
        failed = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
        raise RequestInvalid(
            field_problems + _policy_problems_of_valid_fields(raw, failed)
        ) from None
    if problems := request.policy_problems(fidelity_checks=fidelity_checks):
        raise RequestInvalid(problems)
    return request


# Policy fields a request may only narrow to a subset of the worker's (config/policy.py).
_SUBSET_FIELDS = (
    "supported_regions",
    "known_disk_skus",
    "encryption_types",
    "key_host_suffixes",
    "zrs_regions",
)
_POLICY_FIX = "or ask the ISV operator to allow it in the worker's policy (CMK_POLICY_FILE)"


def narrow_policy(requested: Policy, allowed: Policy) -> Policy:
    """The worker's policy, narrowed by the request; a widening raises RequestInvalid.

    A field the request leaves at its default takes the worker's value, so a client that sends
    every default still gets the worker's (possibly narrower) policy, never a wider one.
    """
    problems: list[tuple[str, str]] = []
    effective: dict[str, Any] = {}
    for name in _SUBSET_FIELDS:
        wanted, permitted = getattr(requested, name), getattr(allowed, name)
        if wanted == getattr(DEFAULT_POLICY, name):
            effective[name] = permitted
            continue
        if extra := [v for v in wanted if v not in permitted]:
            problems.append(
                (
                    f"policy.{name}",
                    f"{', '.join(map(repr, extra))} widens the worker's policy (allowed: "
                    f"{', '.join(permitted)}); remove it, {_POLICY_FIX}",
                )
            )
        effective[name] = wanted
    wanted_unsupported = requested.unsupported_disk_skus
    if wanted_unsupported == DEFAULT_POLICY.unsupported_disk_skus:
        effective["unsupported_disk_skus"] = allowed.unsupported_disk_skus
    elif missing := [v for v in allowed.unsupported_disk_skus if v not in wanted_unsupported]:
        problems.append(
            (
                "policy.unsupported_disk_skus",
                f"must still include {', '.join(map(repr, missing))} (the worker's policy "
                f"excludes it); add it back, {_POLICY_FIX}",
            )
        )
    else:
        effective["unsupported_disk_skus"] = wanted_unsupported
    if problems:
        raise RequestInvalid(problems)
    # Turning the feature step off or isolating the identity only ever narrows.
    effective["register_preview_feature"] = (
        requested.register_preview_feature and allowed.register_preview_feature
    )
    isolated = "isolated" in (requested.identity_mode, allowed.identity_mode)
    effective["identity_mode"] = "isolated" if isolated else "shared"
    return Policy(**effective)


def apply_worker_policy(
    request: OnboardingRequest, allowed: Policy, *, fidelity_checks: bool = True
) -> OnboardingRequest:
    """`request` under the worker's policy, re-validated against it, or raise RequestInvalid."""
    narrowed = request.model_copy(update={"policy": narrow_policy(request.policy, allowed)})
    if problems := narrowed.policy_problems(fidelity_checks=fidelity_checks):
        raise RequestInvalid(problems)
    return narrowed


# Stand-ins for fields that failed on their own, so the policy checks can still look at the
# fields that did parse: one round of fixes instead of two.
_STAND_INS: dict[str, Any] = {
    "customer_tenant_id": "00000000-0000-0000-0000-0000000000c1",
    "customer_name": "stand-in",
    "isv_tenant_id": "00000000-0000-0000-0000-0000000000a1",
    "subscription_id": "00000000-0000-0000-0000-0000000000b1",
    "resource_group": "stand-in",
    "region": "eastus",
    "des_name": "stand-in",
}
# Policy checks that read another field too: skipped when that one was replaced by a stand-in.
_CHECK_READS = {
    "customer_tenant_id": {"isv_tenant_id"},
    "reminder_interval": {"customer_deadline"},
}


def _policy_problems_of_valid_fields(
    raw: dict[str, Any], failed: set[str]
) -> list[tuple[str, str]]:
    """The policy problems of the fields that parsed, when others did not."""
    if "policy" in failed:
        return []  # every policy check depends on it
    known = set(OnboardingRequest.model_fields)
    valid = {k: v for k, v in raw.items() if k in known and k not in failed}
    replaced = failed | (set(_STAND_INS) - set(valid))
    try:
        partial = OnboardingRequest.model_validate({**_STAND_INS, **valid})
    except ValidationError:
        return []  # a stand-in did not fit after all: the field errors alone must do
    return [
        (field, problem)
        for field, problem in partial.policy_problems()
        if field not in replaced and not (_CHECK_READS.get(field, set()) & replaced)
    ]


def _friendly(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "is not a known field; remove it"
    if error["type"] == "missing":
        return "is required"
    return str(error["msg"]).removeprefix("Value error, ")


def workflow_id_for(customer_tenant_id: str, des_name: str) -> str:
    """One onboarding per customer tenant and encryption set."""
    return f"cmk-onboarding-{customer_tenant_id.lower()}-{des_name.lower()}"


# --- signal / update --------------------------------------------------------------------------


class CustomerSetupComplete(BaseModel):
    """Body of the `customer_setup_complete` signal and the `submit_customer_setup` update.

    JSON: {"key_url": "https://<vault>.vault.azure.net/keys/<name>/<version>",
           "customer_tenant_id": "<guid, optional>", "note": "<optional free text>"}
    """

    model_config = ConfigDict(extra="ignore")

    key_url: str
    customer_tenant_id: str | None = None
    note: Annotated[str, Field(max_length=1000)] | None = None

    @field_validator("customer_tenant_id")
    @classmethod
    def _tenant_guid(cls, value: str | None) -> str | None:
        if value is not None and not _GUID.fullmatch(value.strip()):
            raise ValueError("must be your tenant's GUID like 6f1c1a36-3f1e-4a0b-9a55-0e8a1c2b3d4e")
        return value
