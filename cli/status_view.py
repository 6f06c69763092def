"""Rich renderings of an onboarding's status and result for people; scripts use `--json`."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from models import TERMINAL_STAGES, OnboardingResult, OnboardingStatus, Stage

_STAGE_STYLE = {
    Stage.COMPLETED: "bold green",
    Stage.FAILED: "bold red",
    Stage.CANCELLED: "bold yellow",
    Stage.AWAITING_CUSTOMER: "bold magenta",
}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def stage_text(stage: Stage) -> str:
    style = _STAGE_STYLE.get(stage, "bold cyan")
    return f"[{style}]{stage.value}[/]"


def render_status(status: OnboardingStatus, console: Console) -> None:
    summary = Table.grid(padding=(0, 2))
    summary.add_column(no_wrap=True)
    summary.add_column(overflow="fold")
    # Customer-supplied text is escaped: it must not inject rich markup.
    summary.add_row("Customer", escape(f"{status.customer_name} ({status.customer_tenant_id})"))
    summary.add_row("Stage", stage_text(status.stage))
    summary.add_row("Waiting for", status.waiting_for)
    summary.add_row("Customer deadline", _when(status.deadline))
    summary.add_row("Reminders sent", str(status.reminders_sent))
    if status.feature_state:
        summary.add_row("Preview feature", status.feature_state)
    if status.instructions:
        summary.add_row("Consent URL", status.instructions.consent_url)
    if status.last_failure:
        summary.add_row("Last failure", f"[red]{escape(status.last_failure)}[/]")
    if attention := status.operator_attention:
        where = ", ".join(
            part
            for part in (
                attention.operation,
                f"request id {attention.request_id}" if attention.request_id else None,
            )
            if part
        )
        summary.add_row(
            "Needs the ISV operator",
            f"[bold red]{escape(attention.code)}[/] since {_when(attention.at)}: "
            + escape(attention.message + (f" ({where})" if where else "")),
        )
    parts: list[Table] = [summary]
    if status.stage_started_at:
        stages = Table(title="Stages", title_justify="left", show_edge=False)
        stages.add_column("stage")
        stages.add_column("started")
        for stage, started in status.stage_started_at.items():
            stages.add_row(stage, _when(started))
        parts.append(stages)
    if status.attempts:
        parts.append(attempts_table(status))
    for rejected in status.rejected_submissions:
        summary.add_row(
            "Rejected signal", escape(f"{_when(rejected.received_at)}: {rejected.reason}")
        )
    if status.rejected_submissions_dropped:
        summary.add_row("Rejected signals", f"{status.rejected_submissions_dropped} older not kept")
    resources = {k: v for k, v in status.resources.model_dump().items() if v}
    if resources:
        table = Table(title="Resources", title_justify="left", show_edge=False)
        table.add_column("name")
        table.add_column("value", overflow="fold")
        for name, value in resources.items():
            table.add_row(name, value)
        parts.append(table)
    # Piped output is laid out very wide (see cli.app.console_for): fit the panel to its content.
    panel = Panel(
        Group(*parts),
        title=escape(status.workflow_id),
        title_align="left",
        expand=console.is_terminal,
    )
    console.print(panel)


def attempts_table(status: OnboardingStatus) -> Table:
    table = Table(title="Customer submissions", title_justify="left", show_edge=False)
    for column in ("#", "submitted", "outcome", "key URL", "reason / fix"):
        table.add_column(column, overflow="fold")
    for attempt in status.attempts:
        detail = ": ".join(part for part in (attempt.code, attempt.reason) if part)
        if attempt.fix:
            detail += f" Fix: {attempt.fix}"
        table.add_row(
            str(attempt.number),
            _when(attempt.submitted_at),
            attempt.outcome,
            escape(attempt.key_url),
            escape(detail or "-"),
        )
    return table


def render_instructions(status: OnboardingStatus, console: Console) -> None:
    assert status.instructions is not None
    console.print(Markdown(status.instructions.markdown))


def render_result(result: OnboardingResult, console: Console) -> None:
    table = Table(title="Onboarding completed", title_justify="left", show_edge=False)
    table.add_column("resource")
    table.add_column("id", overflow="fold")
    for name, value in result.resources.model_dump().items():
        if value:
            table.add_row(name, value)
    console.print(table)
    console.print(
        f"created: {', '.join(result.created) or '-'}; reused: {', '.join(result.reused) or '-'}; "
        f"customer submissions: {result.attempts}; feature state: {result.feature_state}"
    )


class ProgressPrinter:
    """Prints one line per stage change, new submission outcome or failure reason."""

    def __init__(self, console: Console):
        self._console = console
        self._seen: tuple[object, ...] = ()

    def __call__(self, status: OnboardingStatus) -> None:
        attempts = tuple((a.number, a.outcome) for a in status.attempts)
        key = (status.stage, attempts, status.last_failure, status.reminders_sent)
        if key == self._seen:
            return
        self._seen = key
        line = f"{stage_text(status.stage)}  waiting for {status.waiting_for}"
        if status.attempts:
            last = status.attempts[-1]
            line += f"; submission #{last.number}: {last.outcome}"
        if status.last_failure and status.stage not in TERMINAL_STAGES - {Stage.FAILED}:
            line += f"\n    [red]{escape(status.last_failure)}[/]"
        self._console.print(line, soft_wrap=True)
