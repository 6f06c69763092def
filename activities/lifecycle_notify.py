"""Tell the customer and the ISV about key health, key changes and offboarding.

Same channel as the onboarding's notifications (activities/notify.py): the webhook receives the
JSON of models.lifecycle.LifecycleNotification (its `audience` says who it is for); otherwise one
structured log line.
"""

from __future__ import annotations

import structlog
from temporalio import activity

from activities.notify import Notifier, WebhookNotifier
from models.lifecycle import LifecycleActivity, LifecycleNotification


class LifecycleNotifierActivities:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._log = structlog.get_logger("cmk.notify")

    @activity.defn(name=LifecycleActivity.NOTIFY_LIFECYCLE)
    async def notify_lifecycle(self, notification: LifecycleNotification) -> None:
        if isinstance(self._notifier, WebhookNotifier):
            await self._notifier.send(notification)
            return
        self._log.info(
            "lifecycle notification",
            kind=notification.kind,
            audience=notification.audience,
            workflow_id=notification.workflow_id,
            customer_tenant_id=notification.customer_tenant_id,
            customer_name=notification.customer_name,
            health=notification.health,
            findings=[f.model_dump(mode="json") for f in notification.findings],
            message=notification.message,
        )
