"""parse_request lists every problem of a request at once: field errors and policy problems."""

from __future__ import annotations

import pytest

from harness.fake_onboarding import ISV_TENANT, make_request
from models import RequestInvalid, parse_request


def _problems(**overrides: object) -> dict[str, str]:
    raw = make_request(**overrides)
    for field in [k for k, v in raw.items() if v is None]:
        del raw[field]
    with pytest.raises(RequestInvalid) as invalid:
        parse_request(raw)
    return dict(invalid.value.problems)


def test_missing_fields_and_policy_problems_come_together() -> None:
    """A missing field does not hide an unsupported region or disk SKU in the same request."""
    problems = _problems(des_name=None, region="westeurope", disk_sku="UltraSSD_LRS")
    assert problems["des_name"] == "is required"
    assert "'westeurope' does not support" in problems["region"]
    assert "'UltraSSD_LRS' cannot use" in problems["disk_sku"]


def test_a_malformed_field_is_reported_once_not_against_a_stand_in() -> None:
    """The policy checks skip fields that failed, and checks that read a failed field."""
    problems = _problems(isv_tenant_id="not-a-guid", reminder_interval="P30D")
    assert set(problems) == {"isv_tenant_id", "reminder_interval"}
    assert "must be a GUID" in problems["isv_tenant_id"]
    assert "must not be longer than customer_deadline" in problems["reminder_interval"]


def test_cross_field_check_still_runs_when_both_fields_parsed() -> None:
    """The customer tenant equal to the ISV tenant is named next to an unrelated field error."""
    problems = _problems(customer_tenant_id=ISV_TENANT, customer_name="")
    assert "is the ISV tenant itself" in problems["customer_tenant_id"]
    assert "customer_name" in problems
