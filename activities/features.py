"""Preview feature and resource provider registration (Microsoft.Features, Microsoft.Resources)."""

from __future__ import annotations

from azure.mgmt.resource.features.aio import FeatureClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.azure_clients import PerSubscription
from activities.errors import azure_errors
from models import ActivityName, ErrorType, FeatureRef, FeatureState, ProviderRef

REGISTERED = "Registered"
# The feature read answered 404: the subscription has no such flag to register (the GA
# documentation dropped the registration step), so the onboarding needs none.
NOT_REQUIRED = "NotRequired"
DONE = frozenset({REGISTERED, NOT_REQUIRED})
# States in which a register POST is needed; Registering and Pending only need waiting.
NEEDS_REGISTRATION = frozenset({"NotRegistered", "Unregistered", "Unregistering"})


class FeatureActivities:
    """Feature flags and provider registration in the ISV subscription."""

    def __init__(
        self,
        features: PerSubscription[FeatureClient],
        resources: PerSubscription[ResourceManagementClient],
    ) -> None:
        self._features = features
        self._resources = resources

    async def _state(self, ref: FeatureRef) -> str:
        with azure_errors(
            f"read feature {ref.namespace}/{ref.feature_name}", missing_ok=True
        ) as outcome:
            result = await self._features(ref.subscription_id).features.get(
                ref.namespace, ref.feature_name
            )
        if outcome.missing:
            return NOT_REQUIRED
        return str(result.properties.state if result.properties else "NotRegistered")

    @activity.defn(name=ActivityName.GET_FEATURE)
    async def get_feature(self, ref: FeatureRef) -> FeatureState:
        return FeatureState(state=await self._state(ref))

    @activity.defn(name=ActivityName.REGISTER_FEATURE)
    async def register_feature(self, ref: FeatureRef) -> FeatureState:
        """Register unless already Registered: the POST is a write against the ARM budget."""
        state = await self._state(ref)
        if state in DONE:
            return FeatureState(state=state)
        with azure_errors(f"register feature {ref.namespace}/{ref.feature_name}"):
            result = await self._features(ref.subscription_id).features.register(
                ref.namespace, ref.feature_name
            )
        return FeatureState(state=str(result.properties.state if result.properties else state))

    @activity.defn(name=ActivityName.WAIT_FEATURE_REGISTERED)
    async def wait_feature_registered(self, ref: FeatureRef) -> FeatureState:
        """One read; until Registered a benign NOT_READY lets the retry policy poll quietly."""
        state = await self._state(ref)
        if state not in DONE:
            raise ApplicationError(
                f"feature {ref.namespace}/{ref.feature_name} is {state}, not yet {REGISTERED}",
                type=ErrorType.NOT_READY,
                category=ApplicationErrorCategory.BENIGN,
            )
        return FeatureState(state=state)

    @activity.defn(name=ActivityName.ENSURE_FEATURE_REGISTERED)
    async def ensure_feature_registered(self, ref: FeatureRef) -> FeatureState:
        """Registered at first look: done. Else register (once), read back, and once Registered
        re-register the provider so the flag propagates.

        Until then a benign NOT_READY lets the retry policy poll: however long Azure takes, history
        records one activity. A later attempt only follows an earlier one that did not find the
        feature Registered, so it always ends with the provider re-registration.
        """
        state = await self._state(ref)
        if state == NOT_REQUIRED or (state == REGISTERED and activity.info().attempt == 1):
            return FeatureState(state=state)
        if state in NEEDS_REGISTRATION:
            with azure_errors(f"register feature {ref.namespace}/{ref.feature_name}"):
                await self._features(ref.subscription_id).features.register(
                    ref.namespace, ref.feature_name
                )
            # Often already settled: one read now can save a whole poll interval.
            state = await self._state(ref)
        if state != REGISTERED:
            raise ApplicationError(
                f"feature {ref.namespace}/{ref.feature_name} is {state}, not yet {REGISTERED}",
                type=ErrorType.NOT_READY,
                category=ApplicationErrorCategory.BENIGN,
            )
        await self.register_provider(ProviderRef(subscription_id=ref.subscription_id))
        return FeatureState(state=state)

    @activity.defn(name=ActivityName.REGISTER_PROVIDER)
    async def register_provider(self, ref: ProviderRef) -> str:
        """Re-register the provider so the feature flag propagates; returns its state."""
        with azure_errors(f"register resource provider {ref.namespace}"):
            provider = await self._resources(ref.subscription_id).providers.register(ref.namespace)
        return str(provider.registration_state or "Unknown")
