"""Timeouts and retry policies for every activity call, named so call sites read as intent."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from models import ErrorType

_NEVER_RETRY = [
    ErrorType.INVALID_REQUEST,
    ErrorType.CUSTOMER_SETUP,
    ErrorType.AZURE_REQUEST_REJECTED,
    ErrorType.UNRECOGNIZED_REJECTION,
]

# Every Azure activity heartbeats in the background while it runs (activities/keep_alive.py), so
# an activity lost with its worker (SIGKILL, OOM, a lost host) is retried elsewhere after this,
# not after its start-to-close timeout. Generous against a busy event loop: a late beat only
# repeats an idempotent call.
AZURE_HEARTBEAT = timedelta(seconds=20)

# One ARM or Graph request (plus SDK-internal retries). A transient failure is retried at least
# once a minute (a 429 waits for its Retry-After instead), and the attempts cover about 35 minutes
# of an Azure outage before the onboarding fails and compensates.
AZURE_CALL_TIMEOUT = timedelta(minutes=2)
AZURE_CALL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=40,
    non_retryable_error_types=_NEVER_RETRY,
)

# A create that waits on an Azure long-running operation inside the activity.
LONG_RUNNING_TIMEOUT = timedelta(minutes=20)
LONG_RUNNING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
    non_retryable_error_types=_NEVER_RETRY,
)

# Feature registration is polled by activity retries, which history does not record.
FEATURE_POLL_INTERVAL = timedelta(seconds=30)
FEATURE_POLL_ATTEMPT_TIMEOUT = timedelta(minutes=1)
FEATURE_POLL_RETRY = RetryPolicy(
    initial_interval=FEATURE_POLL_INTERVAL,
    backoff_coefficient=1.0,
    maximum_attempts=0,
    non_retryable_error_types=_NEVER_RETRY,
)

# One activity reads, registers and polls: quick retries for a transient error, then the poll pace.
FEATURE_ENSURE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=FEATURE_POLL_INTERVAL,
    maximum_attempts=0,
    non_retryable_error_types=_NEVER_RETRY,
)

# Notifications are best effort: a broken webhook must not stall the onboarding.
NOTIFY_TIMEOUT = timedelta(seconds=30)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
)

# Cleanup keeps trying for a while; a leftover is reported, not retried forever.
COMPENSATION_TIMEOUT = timedelta(minutes=20)
COMPENSATION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
    non_retryable_error_types=[ErrorType.INVALID_REQUEST, ErrorType.AZURE_REQUEST_REJECTED],
)
