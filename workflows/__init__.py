"""Temporal workflows of the CMK onboarding service."""

from workflows.onboarding import CmkOnboardingWorkflow

WORKFLOWS = [CmkOnboardingWorkflow]

__all__ = ["WORKFLOWS", "CmkOnboardingWorkflow"]
