"""Every workflow a worker registers (workflows/__init__.py exports it lazily)."""

from workflows.key_health import CmkKeyHealthWatchWorkflow
from workflows.offboarding import CmkOffboardingWorkflow
from workflows.onboarding import CmkOnboardingWorkflow

WORKFLOWS = [CmkOnboardingWorkflow, CmkKeyHealthWatchWorkflow, CmkOffboardingWorkflow]
