"""A tiny workflow that moves a tenant id and key URL through every kind of payload."""

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow

ACTIVITY_TIMEOUT = timedelta(seconds=30)


class ProbeInput(BaseModel):
    tenant_id: str
    key_url: str


class ProbeResult(BaseModel):
    described: str
    note: str


@activity.defn
async def describe_key(probe: ProbeInput) -> str:
    return f"tenant {probe.tenant_id} uses {probe.key_url}"


@workflow.defn
class ProbeWorkflow:
    """Waits for a note signal, calls one activity with its input and returns both.

    Details, the activity summary, signal, query and result all carry the tenant id or key URL.
    """

    def __init__(self) -> None:
        self._note = ""

    @workflow.run
    async def run(self, probe: ProbeInput) -> ProbeResult:
        workflow.set_current_details(f"waiting for a note on {probe.tenant_id}")
        await workflow.wait_condition(lambda: bool(self._note))
        described = await workflow.execute_activity(
            describe_key,
            probe,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            summary=f"describe {probe.key_url}",
        )
        return ProbeResult(described=described, note=self._note)

    @workflow.signal
    def add_note(self, note: str) -> None:
        self._note = note

    @workflow.query
    def note(self) -> str:
        return self._note
