"""Parse ARM resource ids: the delete activities get only the id and must find the subscription."""

from __future__ import annotations

import re
from dataclasses import dataclass

from temporalio.exceptions import ApplicationError

from models import ErrorType

_ARM_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/(?P<namespace>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ArmId:
    subscription_id: str
    resource_group: str
    resource_type: str
    name: str


def parse_arm_id(resource_id: str, expected_type: str) -> ArmId:
    """Split `resource_id`; a malformed id or another type is a non-retryable bad input."""
    match = _ARM_ID.match(resource_id.rstrip("/"))
    full_type = f"{match['namespace']}/{match['type']}" if match else ""
    if match is None or full_type.lower() != expected_type.lower():
        raise ApplicationError(
            f"resource id {resource_id!r} is not a {expected_type} id; expected "
            f"/subscriptions/<id>/resourceGroups/<group>/providers/{expected_type}/<name>",
            type=ErrorType.INVALID_REQUEST,
            non_retryable=True,
        )
    return ArmId(match["subscription"], match["group"], full_type, match["name"])
