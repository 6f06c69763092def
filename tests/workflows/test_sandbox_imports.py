"""Each run the sandbox creates executes its workflow's own module and nothing else of ours.

The sandbox imports a workflow's module afresh for every run it creates (a new run, or a cached
run evicted and replayed), and every module it re-imports costs compile/exec time and memory per
cached run. Helper modules are imported through `workflow.unsafe.imports_passed_through()`, which
only works for `import workflows.x as x`: `from workflows import x` re-imported them all, and
`workflows/__init__.py` importing the three workflows made each run execute all of them. A burst of
1,000 onboardings with a 150-run cache was four times slower for it (bench/RESULTS.md).
"""

from __future__ import annotations

import importlib.machinery
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio import workflow

from workflows import WORKFLOWS
from workflows.sandbox import sandboxed_runner


@pytest.fixture
def loaded_in_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the modules whose code is loaded (from source or bytecode) while it is on."""
    loaded: list[str] = []
    get_code = importlib.machinery.SourceFileLoader.get_code

    def recording(loader: Any, fullname: str) -> Any:
        loaded.append(fullname)
        return get_code(loader, fullname)

    monkeypatch.setattr(importlib.machinery.SourceFileLoader, "get_code", recording)
    yield loaded


@pytest.mark.parametrize("workflow_class", WORKFLOWS, ids=lambda c: c.__name__)
async def test_a_run_executes_only_its_own_workflow_module(
    workflow_class: type, loaded_in_sandbox: list[str]
) -> None:
    runner = sandboxed_runner()
    definition = workflow._Definition.must_from_class(workflow_class)
    runner.prepare_workflow(definition)  # the first one may load what the host has not yet
    loaded_in_sandbox.clear()
    runner.prepare_workflow(definition)  # what every further run costs
    assert loaded_in_sandbox == ["workflows", workflow_class.__module__]
