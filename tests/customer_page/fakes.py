"""A fake gateway for the page: a status to show and a validator like the workflow's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from client.errors import OperationRejected
from customer_page.gateway import ClosedOnboarding
from models import Attempt, CustomerInstructions, CustomerSetupComplete, OnboardingStatus, Stage

WORKFLOW_ID = "cmk-onboarding-00000000-0000-0000-0000-000000000001-des"


def awaiting_status(customer_name: str = "Contoso") -> OnboardingStatus:
    return OnboardingStatus(
        workflow_id=WORKFLOW_ID,
        customer_tenant_id="00000000-0000-0000-0000-000000000001",
        customer_name=customer_name,
        stage=Stage.AWAITING_CUSTOMER,
        waiting_for="customer",
        instructions=CustomerInstructions(
            consent_url="https://login.microsoftonline.com/t/adminconsent?client_id=a",
            app_id="a",
            commands=("az login --tenant t",),
            markdown="",
        ),
    )


@dataclass
class FakeGateway:
    status: OnboardingStatus | ClosedOnboarding = field(default_factory=awaiting_status)
    submitted: list[CustomerSetupComplete] = field(default_factory=list)

    async def fetch(self, workflow_id: str) -> OnboardingStatus | ClosedOnboarding:
        return self.status

    async def submit(self, workflow_id: str, body: CustomerSetupComplete) -> Attempt:
        if ".vault.azure.net/keys/" not in body.key_url:
            raise OperationRejected(
                f"submission rejected: key_url '{body.key_url}' is not a Key Vault key URL"
            )
        self.submitted.append(body)
        return Attempt(
            number=len(self.submitted), key_url=body.key_url, submitted_at=datetime.now(UTC)
        )
