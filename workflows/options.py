"""How each kind of activity call is scheduled: one named, frozen call profile per kind.

Idempotent Azure calls are retried until a time window closes (`schedule_to_close`), never until
an attempt count runs out: an attempt lost with its worker (SIGKILL, OOM, a lost host) ends with a
heartbeat timeout and counts as an attempt, so a count would let a crash-looping fleet fail an
onboarding that Azure would have served. Error types in `_NEVER_RETRY` still stop at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

from models import ErrorType

_NEVER_RETRY = [
    ErrorType.INVALID_REQUEST,
    ErrorType.CUSTOMER_SETUP,
    ErrorType.AZURE_REQUEST_REJECTED,
    ErrorType.UNRECOGNIZED_REJECTION,
]

# Every Azure activity heartbeats in the background while it runs (activities/keep_alive.py), so
# an activity lost with its worker is retried elsewhere after this, not after its start-to-close
# timeout. Generous against a busy event loop: a late beat only repeats an idempotent call.
AZURE_HEARTBEAT = timedelta(seconds=20)

# How long an idempotent Azure call keeps being retried before the onboarding fails and
# compensates. Hours, so that an Azure incident or a crash-looping worker fleet is outlasted; an
# onboarding that still fails after that needs a person anyway.
AZURE_CALL_WINDOW = timedelta(hours=2)
LONG_RUNNING_WINDOW = timedelta(hours=6)
# Cleanup tries longest: a leftover costs money and must be removed by hand. Past the window it is
# reported in the failure (`cleanup incomplete: ...`), not retried forever.
COMPENSATION_WINDOW = timedelta(hours=24)

# Feature registration is polled by activity retries, which history does not record.
FEATURE_POLL_INTERVAL = timedelta(seconds=30)

QueueChoice = Literal["workflow", "azure-writes", "des-writes"]


@dataclass(frozen=True)
class CallProfile:
    """Timeouts, retries, cancellation and task queue of one kind of activity call.

    `queue="azure-writes"`: the paced queue of per-onboarding ARM writes; `queue="des-writes"`: the
    queue paced at DiskRP's DES limit, for DES create/update only (workflows/task_queues.py).
    """

    start_to_close: timedelta
    retry: RetryPolicy
    schedule_to_close: timedelta | None = None
    heartbeat: timedelta | None = AZURE_HEARTBEAT
    queue: QueueChoice = "workflow"
    # Waiting for the activity to acknowledge cancellation means compensation never races a
    # create still in flight, and the workflow never closes while one of its activities runs.
    cancellation: ActivityCancellationType = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED

    def within(self, window: timedelta) -> CallProfile:
        """This profile with its retries bounded by `window` instead."""
        return dataclasses.replace(self, schedule_to_close=window)


# One ARM or Graph request (plus SDK-internal retries). A transient failure is retried at least
# once a minute (a 429 waits for its Retry-After instead) for AZURE_CALL_WINDOW.
AZURE_CALL = CallProfile(
    start_to_close=timedelta(minutes=2),
    schedule_to_close=AZURE_CALL_WINDOW,
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=0,
        non_retryable_error_types=_NEVER_RETRY,
    ),
)

# A per-onboarding ARM create that waits on a long-running operation inside the activity, on the
# paced writes queue.
PACED_LONG_RUNNING_WRITE = CallProfile(
    start_to_close=timedelta(minutes=20),
    schedule_to_close=LONG_RUNNING_WINDOW,
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=0,
        non_retryable_error_types=_NEVER_RETRY,
    ),
    queue="azure-writes",
)
# The DES create: the same call, on the queue paced at DiskRP's DES create/update limit.
PACED_DES_WRITE = dataclasses.replace(PACED_LONG_RUNNING_WRITE, queue="des-writes")

# Idempotent deletes of compensation and of the test disk.
CLEANUP = CallProfile(
    start_to_close=timedelta(minutes=20),
    schedule_to_close=COMPENSATION_WINDOW,
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=0,
        non_retryable_error_types=[ErrorType.INVALID_REQUEST, ErrorType.AZURE_REQUEST_REJECTED],
    ),
)
# ARM deletes go through the paced queue like the creates; the Graph app delete does not.
PACED_CLEANUP = dataclasses.replace(CLEANUP, queue="azure-writes")

# Polls until the feature is Registered; the caller bounds it with the request's
# feature_registration_timeout (`.within(...)`), which is a business limit, not an outage window.
FEATURE_POLL = CallProfile(
    start_to_close=timedelta(minutes=1),
    retry=RetryPolicy(
        initial_interval=FEATURE_POLL_INTERVAL,
        backoff_coefficient=1.0,
        maximum_attempts=0,
        non_retryable_error_types=_NEVER_RETRY,
    ),
)

# One activity reads, registers and polls: quick retries for a transient error, then the poll pace.
FEATURE_ENSURE = CallProfile(
    start_to_close=timedelta(minutes=1),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=FEATURE_POLL_INTERVAL,
        maximum_attempts=0,
        non_retryable_error_types=_NEVER_RETRY,
    ),
)

# Notifications are best effort and not idempotent (a retried webhook may be delivered twice), so
# they keep a small attempt budget: a broken channel must not stall the onboarding, and the status
# query and UI show everything the notification would have said.
NOTIFY = CallProfile(
    start_to_close=timedelta(seconds=30),
    heartbeat=None,
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=5,
    ),
    # The webhook POST sends no heartbeat, so a cancel request never reaches it: waiting for one
    # only held compensation back until the POST ended. Abandoning also issues no cancel command,
    # whose race with the activity's completion hangs the time-skipping test server
    # ("ACTIVITY_UNKNOWN for scheduledEventId=N", then no further workflow task).
    cancellation=ActivityCancellationType.ABANDON,
)
# For workflows started before the onboarding's PATCH_NOTIFY_ABANDONED_ON_CANCEL.
NOTIFY_WAITING_ON_CANCEL = dataclasses.replace(
    NOTIFY, cancellation=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
)

# --- the key-health watch, key change and offboarding (workflows/lifecycle_calls.py) ----------

# A watch check's reads: one that keeps failing for a quarter of an hour fails this check, and the
# next check tries again; the watch reports the gap instead of stalling on it.
WATCH_READ = AZURE_CALL.within(timedelta(minutes=15))
# The probe disk (create and delete) on the paced writes queue, within one default check interval.
WATCH_PROBE = PACED_LONG_RUNNING_WRITE.within(timedelta(hours=1))
# Lifecycle notices keep the cancellation their recorded histories were scheduled with.
LIFECYCLE_NOTIFY = dataclasses.replace(NOTIFY, cancellation=ActivityCancellationType.TRY_CANCEL)
