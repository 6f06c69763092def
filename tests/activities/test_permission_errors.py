"""Missing Azure permissions of the worker's own identity: non-retryable, naming what is missing
and the role of deploy/isv-access.json that grants it."""

from __future__ import annotations

import pytest
from msgraph.generated.models.o_data_errors.main_error import MainError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from activities.errors import classify
from activities.isv_access import isv_access
from emulator import rbac
from models import ErrorType
from tests.activities.test_notify_and_errors import _arm_error

SCOPE = "/subscriptions/s/resourceGroups/cmk-rg/providers/Microsoft.Compute/diskEncryptionSets/d"


def _denied(action: str) -> str:
    return (
        f"The client 'o' with object id 'o' does not have authorization to perform action "
        f"'{action}' over scope '{SCOPE}' or the scope is invalid. If access was recently "
        "granted, please refresh your credentials."
    )


@pytest.mark.parametrize("action", isv_access().actions)
def test_authorization_failed_names_the_action_and_its_role(action: str) -> None:
    """Every action of the role set: 403 AuthorizationFailed is non-retryable, names the action
    and the role (custom or built-in) that grants it."""
    error = classify(_arm_error(403, "AuthorizationFailed", _denied(action)), "create DES d")
    assert error is not None and error.non_retryable
    assert error.type == ErrorType.AZURE_REQUEST_REJECTED
    role = isv_access().role_for(action)
    assert role is not None
    assert f"'{action}'" in error.message and role.name in error.message
    assert error.details[0]["missing"] == [action]


def test_linked_authorization_failed_names_the_linked_action() -> None:
    """LinkedAuthorizationFailed names the linked action (assign the identity), not the write."""
    message = (
        "The client 'o' with object id 'o' has permission to perform action "
        f"'Microsoft.Compute/diskEncryptionSets/write' on scope '{SCOPE}'; however, it does not "
        "have permission to perform action(s) "
        "'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) "
        "'/subscriptions/s/resourceGroups/cmk-rg/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/u' (respectively) or the linked scope(s) are invalid."
    )
    error = classify(_arm_error(403, "LinkedAuthorizationFailed", message), "create DES d")
    assert error is not None and error.non_retryable
    assert error.details[0]["missing"] == [
        "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
    ]
    assert "Managed Identity Operator" in error.message


def test_graph_authorization_request_denied_names_the_graph_permission() -> None:
    """Graph's 403 Authorization_RequestDenied names Application.ReadWrite.OwnedBy and consent."""
    graph = ODataError()
    graph.response_status_code = 403
    graph.error = MainError(
        code="Authorization_RequestDenied",
        message="Insufficient privileges to complete the operation.",
    )
    error = classify(graph, "ensure application")
    assert error is not None and error.non_retryable
    assert "Application.ReadWrite.OwnedBy" in error.message
    assert "admin-consent" in error.message


def test_the_emulator_enforces_exactly_the_documented_custom_role() -> None:
    """The emulator's seeded custom role is deploy/isv-role.json, action for action."""
    custom = isv_access().roles[0]
    assert sorted(rbac.ROLES[custom.name]["actions"]) == sorted(custom.actions)
    assert [name for name, _ in rbac.DEFAULT_ISV_ROLES] == [r.name for r in isv_access().roles]
    assert list(isv_access().graph_permissions) == rbac.DEFAULT_GRAPH_ROLES
