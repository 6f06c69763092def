"""Customer instructions, current details markdown and submission checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from markdown_it import MarkdownIt

from harness.fake_onboarding import CUSTOMER_TENANT, KEY_URL, make_request
from models import (
    DEFAULT_POLICY,
    Attempt,
    CustomerSetupComplete,
    OnboardingStatus,
    OperatorAttention,
    Stage,
    key_url_problem,
    parse_request,
)
from models.wording import deadline_words, duration_words, every, moment_words
from workflows.failures import deadline_exceeded, feature_registration_timeout
from workflows.instructions import build_instructions, current_details
from workflows.submissions import SubmissionRejected, parse_submission

APP_ID = "12345678-1234-1234-1234-123456789012"


def test_instructions_carry_the_exact_commands() -> None:
    """Consent URL and az commands are exact and use the app id and the disks' region."""
    instructions = build_instructions(parse_request(make_request()), "wf-1", APP_ID)
    assert instructions.consent_url == (
        f"https://login.microsoftonline.com/{CUSTOMER_TENANT}/adminconsent?client_id={APP_ID}"
    )
    assert instructions.commands[1] == f"az ad sp create --id {APP_ID}"
    assert instructions.commands[2] == (
        "az keyvault create --name <vault-name> --resource-group <customer-resource-group>"
        " --location eastus --enable-purge-protection true --retention-days 90"
        " --enable-rbac-authorization true"
    )
    assert instructions.commands[3] == (
        "az keyvault key create --vault-name <vault-name> --name <key-name> --kty RSA --size 3072"
    )
    assert instructions.commands[4].startswith(
        f'az role assignment create --role "Key Vault Crypto Service Encryption User" '
        f"--assignee {APP_ID} --scope "
    )
    assert instructions.commands[5] == (
        "az keyvault key show --vault-name <vault-name> --name <key-name> --query key.kid -o tsv"
    )
    markdown = instructions.markdown
    assert "[/<version>]" not in markdown
    assert "https://<vault-name>.vault.azure.net/keys/<key-name>/<version>" in markdown
    assert instructions.consent_url in markdown
    assert "starter.py complete --workflow-id wf-1" in markdown
    assert "temporal workflow signal --workflow-id wf-1 --name customer_setup_complete" in markdown


def test_current_details_show_who_we_wait_for_and_the_last_failure() -> None:
    """The UI details name the stage, the customer, the consent link and the last failure."""
    instructions = build_instructions(parse_request(make_request()), "wf-1", APP_ID)
    status = OnboardingStatus(
        workflow_id="wf-1",
        customer_tenant_id=CUSTOMER_TENANT,
        customer_name="Contoso",
        stage=Stage.AWAITING_CUSTOMER,
        waiting_for="customer",
        instructions=instructions,
        last_failure="attempt 1: KeyVaultAccessForbidden: no role",
        deadline=datetime(2030, 1, 1, tzinfo=UTC),
    )
    details = current_details(status)
    assert "`awaiting-customer`" in details
    assert "the customer's administrator" in details
    assert instructions.consent_url in details
    assert "KeyVaultAccessForbidden" in details
    assert "2030-01-01" in details


def _awaiting_after_failure(last_failure: str) -> OnboardingStatus:
    instructions = build_instructions(parse_request(make_request()), "wf-1", APP_ID)
    return OnboardingStatus(
        workflow_id="wf-1",
        customer_tenant_id=CUSTOMER_TENANT,
        customer_name="Contoso",
        stage=Stage.AWAITING_CUSTOMER,
        waiting_for="customer",
        instructions=instructions,
        attempts=[
            Attempt(
                number=1,
                key_url=KEY_URL,
                submitted_at=datetime(2030, 1, 1, tzinfo=UTC),
                outcome="customer_error",
                code="KeyVaultAccessForbidden",
                reason="no role",
                fix="Assign the role 'Key Vault Crypto Service Encryption User'.",
            )
        ],
        last_failure=last_failure,
    )


def test_current_details_show_the_fix_of_the_last_failed_attempt() -> None:
    """Next to the last failure the UI shows what the customer must change."""
    details = current_details(
        _awaiting_after_failure("attempt 1: KeyVaultAccessForbidden: no role")
    )
    assert "**Last failure:** attempt 1: KeyVaultAccessForbidden" in details
    assert "**Fix:** Assign the role 'Key Vault Crypto Service Encryption User'." in details


def test_current_details_do_not_pair_a_later_failure_with_an_old_fix() -> None:
    """A failure of the onboarding itself (here the deadline) is not given an attempt's fix."""
    details = current_details(_awaiting_after_failure("customer Contoso did not complete ..."))
    assert "**Fix:**" not in details


def test_instruction_steps_are_one_numbered_list() -> None:
    """Code blocks sit inside their step, so the steps render as one list numbered 1, 2, 3."""
    markdown = build_instructions(parse_request(make_request()), "wf-1", APP_ID).markdown
    tokens = MarkdownIt("commonmark").parse(markdown)
    lists = [t for t in tokens if t.type == "ordered_list_open"]
    assert len(lists) == 1, markdown
    items = [t for t in tokens if t.type == "list_item_open" and t.level == lists[0].level + 1]
    assert len(items) == 3
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 2
    # Every fence is nested in the list (deeper than the list itself), none at the top level.
    assert all(fence.level > lists[0].level for fence in fences)


def test_durations_and_moments_in_words() -> None:
    """People read '14 days' and '2026-12-15 10:00 UTC', not '14 days, 0:00:00' or ISO 8601."""
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert duration_words(timedelta(days=14)) == "14 days"
    assert duration_words(timedelta(hours=6)) == "6 hours"
    assert duration_words(timedelta(days=2, hours=6, minutes=5)) == "2 days 6 hours"
    assert duration_words(timedelta(days=28)) == "4 weeks"
    assert every(timedelta(days=2)) == "every 2 days"
    assert every(timedelta(days=1)) == "every day"
    assert every(timedelta(seconds=90)) == "every 1 minute 30 seconds"
    assert moment_words(now) == "2026-12-01 10:00 UTC"
    assert deadline_words(now + timedelta(days=14), now) == "in 14 days, on 2026-12-15 10:00 UTC"
    assert deadline_words(now, now) == "on 2026-12-01 10:00 UTC (passed)"


_RAW_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:|\d+ days?, \d+:\d\d:\d\d|\b\d+:\d\d:\d\d\b")


def test_customer_and_operator_texts_show_no_raw_durations() -> None:
    """Instructions, UI details and failure messages say deadlines and intervals in words."""
    request = parse_request(make_request(reminder_interval="P2D", customer_deadline="P14D"))
    asked_at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    instructions = build_instructions(request, "wf-1", APP_ID, asked_at=asked_at)
    status = _awaiting_after_failure("attempt 1: KeyVaultAccessForbidden: no role")
    status.instructions = instructions
    status.deadline = asked_at + request.customer_deadline
    status.operator_attention = OperatorAttention(
        code="FederatedCredentialPropagating", message="no match yet", at=asked_at
    )
    details = current_details(status, reminder_interval=request.reminder_interval)
    deadline = deadline_exceeded(request, asked_at + request.customer_deadline).message
    feature = feature_registration_timeout(request).message
    assert "in 14 days, on 2026-12-15 10:00 UTC" in instructions.markdown
    assert "every 2 days" in instructions.markdown
    assert "**Deadline:** 2026-12-15 10:00 UTC" in details and "(every 2 days)" in details
    assert "since 2026-12-01 10:00 UTC: no match yet" in details
    assert "by the deadline 2026-12-15 10:00 UTC (14 days after" in deadline
    assert "within 6 hours;" in feature
    for text in (instructions.markdown, details, deadline, feature):
        assert not _RAW_TIME.search(text), text


def _parse(body: object, stage: Stage = Stage.AWAITING_CUSTOMER, busy: int | None = None):  # noqa: ANN202
    return parse_submission(
        body,
        customer_tenant_id=CUSTOMER_TENANT,
        stage=stage,
        busy_with_attempt=busy,
        policy=DEFAULT_POLICY,
    )


def test_submission_accepted_with_or_without_tenant() -> None:
    """A valid key URL is accepted, with the tenant id in any case or omitted."""
    assert _parse({"key_url": KEY_URL}) == CustomerSetupComplete(key_url=KEY_URL)
    assert _parse({"key_url": KEY_URL, "customer_tenant_id": CUSTOMER_TENANT.upper()})


@pytest.mark.parametrize(
    ("body", "stage", "busy", "reason"),
    [
        ({"key_url": 5}, Stage.AWAITING_CUSTOMER, None, "malformed (key_url: "),
        ("just a string", Stage.AWAITING_CUSTOMER, None, "malformed"),
        (
            {"key_url": "https://contoso-kv.vault.azure.net/keys/k?x=1"},
            Stage.AWAITING_CUSTOMER,
            None,
            "query string",
        ),
        ({"key_url": KEY_URL}, Stage.VERIFYING, None, "stage 'verifying'"),
        ({"key_url": KEY_URL}, Stage.AWAITING_CUSTOMER, 2, "attempt 2 is already"),
    ],
)
def test_submission_rejections_say_why(
    body: object, stage: Stage, busy: int | None, reason: str
) -> None:
    """Each rejection reason tells the sender what to change."""
    with pytest.raises(SubmissionRejected, match=None) as rejected:
        _parse(body, stage, busy)
    assert reason in str(rejected.value)


def test_managed_hsm_key_gets_the_hsm_role_and_commands() -> None:
    """A Managed HSM key URL switches the instructions to the HSM's local role on the key."""
    hsm_key = "https://contoso-hsm.managedhsm.azure.net/keys/cmk/" + "a" * 32
    instructions = build_instructions(parse_request(make_request(key_url=hsm_key)), "wf", APP_ID)
    assert (
        'az keyvault role assignment create --hsm-name <hsm-name> --role "Managed HSM Crypto '
        f'Service Encryption User" --assignee {APP_ID} --scope /keys/<key-name>'
    ) in instructions.commands
    assert "33413926-3206-4cdd-b39a-83574fe37a17" in instructions.markdown
    assert "Key Vault Crypto Service Encryption User" not in instructions.markdown
    assert "https://<hsm-name>.managedhsm.azure.net/keys/<key-name>/<version>" in (
        instructions.markdown
    )


@pytest.mark.parametrize(
    ("url", "command"),
    [
        (
            "https://contoso-kv.vault.azure.net/keys/cmk",
            "`az keyvault key show --vault-name contoso-kv --name cmk --query key.kid -o tsv`",
        ),
        (
            "https://contoso-hsm.managedhsm.azure.net/keys/disk-key/",
            "`az keyvault key show --hsm-name contoso-hsm --name disk-key --query key.kid -o tsv`",
        ),
    ],
)
def test_versionless_key_url_is_refused_with_the_command_that_prints_it(
    url: str, command: str
) -> None:
    """DiskRP requires the version segment: the problem names the exact `az` fix."""
    problem = key_url_problem(url)
    assert problem is not None and problem.startswith("has no key version")
    assert problem.endswith(command)
    assert key_url_problem(url, require_version=False) is None
    assert key_url_problem(url.rstrip("/") + "/" + "0" * 32) is None


@pytest.mark.parametrize(
    ("region", "sku", "refused"),
    [
        ("westcentralus", "Premium_ZRS", True),
        ("northcentralus", "StandardSSD_ZRS", True),
        ("eastus", "Premium_ZRS", False),
        ("westcentralus", "Premium_LRS", False),
    ],
)
def test_zone_redundant_disks_only_in_regions_with_zones(
    region: str, sku: str, refused: bool
) -> None:
    """A ZRS SKU in a region without availability zones is refused up front, naming the fix."""
    from models import RequestInvalid

    raw = make_request(region=region, disk_sku=sku)
    if not refused:
        assert parse_request(raw).disk_sku == sku
        return
    with pytest.raises(RequestInvalid) as invalid:
        parse_request(raw)
    assert invalid.value.problems == [
        (
            "disk_sku",
            f"'{sku}' is zone-redundant, and region '{region}' has no availability zones for "
            f"managed disks; use {sku.removesuffix('_ZRS')}_LRS, or a region with zones",
        )
    ]
    assert parse_request(raw, fidelity_checks=False).disk_sku == sku
