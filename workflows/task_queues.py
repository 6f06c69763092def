"""Task queue names derived from the workflow's own queue, so every worker agrees on them.

Azure writes that every onboarding makes (create the encryption set, create and delete the test
disk, the ARM deletes of compensation) run on their own queue: their call profiles in
workflows/options.py say `queue="azure-writes"`. worker.py serves it with a second Worker whose
`max_task_queue_activities_per_second` (AZURE_WRITES_PER_SECOND) keeps the subscription's ARM
write rate under Azure's limit: the Temporal server paces the writes, not sleeps in our code.
Reads, Graph calls and the once-per-ISV writes (feature, shared identity) stay on the workflow's
queue: they never wait behind the pacing.
"""

from __future__ import annotations

AZURE_WRITES_SUFFIX = "-azure-writes"


def azure_writes_task_queue(task_queue: str) -> str:
    """The queue of the Azure-write activities scheduled by workflows running on `task_queue`."""
    return f"{task_queue}{AZURE_WRITES_SUFFIX}"
