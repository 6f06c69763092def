"""Temporal workflows of the CMK onboarding service.

The workflow sandbox runs this package's `__init__` again for every workflow run it creates, so
it imports nothing itself: `WORKFLOWS` and the workflow classes load on first use
(`from workflows import WORKFLOWS` outside the sandbox), and a run of one workflow no longer
executes the modules of all three.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.key_health import CmkKeyHealthWatchWorkflow
    from workflows.offboarding import CmkOffboardingWorkflow
    from workflows.onboarding import CmkOnboardingWorkflow
    from workflows.registry import WORKFLOWS

_EXPORTS = {
    "WORKFLOWS": "workflows.registry",
    "CmkKeyHealthWatchWorkflow": "workflows.key_health",
    "CmkOffboardingWorkflow": "workflows.offboarding",
    "CmkOnboardingWorkflow": "workflows.onboarding",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'workflows' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = [
    "WORKFLOWS",
    "CmkKeyHealthWatchWorkflow",
    "CmkOffboardingWorkflow",
    "CmkOnboardingWorkflow",
]
