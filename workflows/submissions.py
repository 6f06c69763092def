"""Checks on a customer's setup submission, shared by the signal and the update."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from models import CustomerSetupComplete, Policy, Stage, key_url_problem


class SubmissionRejected(ValueError):
    """A submission the workflow will not act on; the message tells the sender what to change."""


def parse_submission(
    raw: Any,
    *,
    customer_tenant_id: str,
    stage: Stage,
    busy_with_attempt: int | None,
    policy: Policy,
    require_key_version: bool = True,
) -> CustomerSetupComplete:
    """Validate a submission against the workflow's state, or raise SubmissionRejected."""
    try:
        body = CustomerSetupComplete.model_validate(raw)
    except ValidationError as error:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: "
            + str(e["msg"]).removeprefix("Value error, ")
            for e in error.errors()
        )
        raise SubmissionRejected(
            f"submission is malformed ({fields}); send "
            '{"key_url": "https://<vault>.vault.azure.net/keys/<name>/<version>", '
            '"customer_tenant_id": "<guid>"}'
        ) from None
    if problem := key_url_problem(body.key_url, policy, require_version=require_key_version):
        raise SubmissionRejected(f"key_url {problem}")
    if (
        body.customer_tenant_id is not None
        and body.customer_tenant_id.strip().lower() != customer_tenant_id
    ):
        raise SubmissionRejected(
            f"customer_tenant_id '{body.customer_tenant_id}' does not match this onboarding's "
            f"customer tenant '{customer_tenant_id}'; send it to the workflow for your tenant"
        )
    if busy_with_attempt is not None:
        raise SubmissionRejected(
            f"attempt {busy_with_attempt} is already being processed; wait for its outcome "
            "(query 'status') before submitting again"
        )
    if stage != Stage.AWAITING_CUSTOMER:
        raise SubmissionRejected(
            f"the onboarding is in stage '{stage}', not '{Stage.AWAITING_CUSTOMER}'; "
            "submit only while it awaits the customer"
        )
    return body
