"""Custom search attributes the workflow upserts and every Temporal server we start registers."""

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("CmkStage")
CUSTOMER_TENANT_ID = SearchAttributeKey.for_keyword("CmkCustomerTenantId")
CUSTOMER_NAME = SearchAttributeKey.for_keyword("CmkCustomerName")
# healthy / degraded / broken (models.lifecycle.Health), upserted by the key-health watch.
HEALTH = SearchAttributeKey.for_keyword("CmkHealth")
# The error code the ISV operator must look at (OnboardingStatus.operator_attention); unset when
# nothing waits for the operator. `CmkNeedsOperator IS NOT NULL` lists them.
NEEDS_OPERATOR = SearchAttributeKey.for_keyword("CmkNeedsOperator")

ALL = (STAGE, CUSTOMER_TENANT_ID, CUSTOMER_NAME, HEALTH, NEEDS_OPERATOR)
