"""The workflow sandbox every worker and replayer uses, so tests check what production runs.

The sandbox re-imports a workflow's module for each run and guards it against non-deterministic
calls (clock, randomness, I/O) and state shared between runs. Modules passed through are imported
once and shared instead: only those that are deterministic and side-effect free, and costly to
import again for every run.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# pydantic, pydantic_core, annotated_types and typing_extensions are passed through by the SDK's
# defaults. `models` is pure data (no I/O, environment or clock); `activities` is only referenced
# for the activity methods' names and types, and pulls in the Azure SDKs, which must never load
# inside a workflow run.
PASSTHROUGH_MODULES = ("models", "activities")


def sandboxed_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )
