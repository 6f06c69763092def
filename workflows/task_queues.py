"""Task queue names derived from the workflow's own queue, so every worker agrees on them.

Azure writes that every onboarding makes (create the encryption set, create and delete the test
disk, compensation deletes) run on their own queue. worker.py serves it with a second Worker whose
`max_task_queue_activities_per_second` (AZURE_WRITES_PER_SECOND) keeps the subscription's ARM
write rate under Azure's limit: the Temporal server paces the writes, not sleeps in our code.
"""

from __future__ import annotations

from models import ActivityName

AZURE_WRITES_SUFFIX = "-azure-writes"

# ARM writes in the ISV subscription, one per run each. Reads, Graph calls and the once-per-ISV
# writes (feature, shared identity) stay on the workflow's queue: they never wait behind the pacing.
AZURE_WRITE_ACTIVITIES = frozenset(
    {
        ActivityName.CREATE_ENCRYPTION_SET,
        ActivityName.CREATE_TEST_DISK,
        ActivityName.DELETE_TEST_DISK,
        ActivityName.DELETE_ENCRYPTION_SET,
        ActivityName.DELETE_MANAGED_IDENTITY,
    }
)


def azure_writes_task_queue(task_queue: str) -> str:
    """The queue of the Azure-write activities scheduled by workflows running on `task_queue`."""
    return f"{task_queue}{AZURE_WRITES_SUFFIX}"
