"""The client library's exceptions; callers (the CLI, the harness, the bench) decide what they mean.

OnboardingClientError
├── InvalidClientInput     a setting or argument is wrong; nothing was sent
├── TemporalUnreachable    no Temporal frontend answered at the address
├── WorkflowNotFound       no such workflow (or namespace)
└── OperationRejected      Temporal or the workflow refused the call, or nobody answered
    └── AlreadyCompleted   a start for a customer and encryption set already onboarded
"""

from __future__ import annotations


class OnboardingClientError(Exception):
    """Base of every error the client library raises; the message is one line for a person."""


class InvalidClientInput(OnboardingClientError):
    pass


class TemporalUnreachable(OnboardingClientError):
    pass


class WorkflowNotFound(OnboardingClientError):
    pass


class OperationRejected(OnboardingClientError):
    pass


class AlreadyCompleted(OperationRejected):
    pass
