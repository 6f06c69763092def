"""Temporal workflows of the CMK onboarding service."""

from workflows.key_health import CmkKeyHealthWatchWorkflow
from workflows.offboarding import CmkOffboardingWorkflow
from workflows.onboarding import CmkOnboardingWorkflow

WORKFLOWS = [CmkOnboardingWorkflow, CmkKeyHealthWatchWorkflow, CmkOffboardingWorkflow]

__all__ = [
    "WORKFLOWS",
    "CmkKeyHealthWatchWorkflow",
    "CmkOffboardingWorkflow",
    "CmkOnboardingWorkflow",
]
