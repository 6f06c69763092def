"""Task queue names derived from the workflow's own queue, so every worker agrees on them.

Azure writes that every onboarding makes run on paced queues of their own: their call profiles in
workflows/options.py say which. worker.py serves each with its own Worker whose
`max_task_queue_activities_per_second` keeps the subscription under the limit that binds it: the
Temporal server paces the writes, not sleeps in our code.

- `<queue>-des-writes` (AZURE_DES_WRITES_PER_SECOND): create/update of the disk encryption set,
  the one write DiskRP counts against its 99 per 3 minutes and 289 per 30 minutes.
- `<queue>-azure-writes` (AZURE_WRITES_PER_SECOND): the other per-onboarding ARM writes (create
  and delete the test disk, the ARM deletes of compensation), under ARM's write/delete buckets.

Reads, Graph calls and the once-per-ISV writes (feature, shared identity) stay on the workflow's
queue: they never wait behind the pacing.
"""

from __future__ import annotations

from temporalio import workflow

AZURE_WRITES_SUFFIX = "-azure-writes"
DES_WRITES_SUFFIX = "-des-writes"


def azure_writes_task_queue(task_queue: str) -> str:
    """The queue of the paced ARM writes (not DES) of workflows running on `task_queue`."""
    return f"{task_queue}{AZURE_WRITES_SUFFIX}"


def des_writes_task_queue(task_queue: str) -> str:
    """The queue of the DES create/update activities of workflows running on `task_queue`."""
    return f"{task_queue}{DES_WRITES_SUFFIX}"


def paced_task_queues(task_queue: str) -> tuple[str, str]:
    """Every paced queue a worker of `task_queue` must also serve (the same activities)."""
    return (des_writes_task_queue(task_queue), azure_writes_task_queue(task_queue))


def paced_queue(queue: str) -> str | None:
    """Inside a workflow: the task queue of a call profile's `queue`; None keeps the workflow's
    own queue, exactly as the recorded histories scheduled it."""
    own = workflow.info().task_queue
    if queue == "des-writes":
        return des_writes_task_queue(own)
    if queue == "azure-writes":
        return azure_writes_task_queue(own)
    return None
