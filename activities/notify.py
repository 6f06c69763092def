"""Tell the customer what to do: a structured log line by default, or a JSON webhook.

With the customer page configured, notifications that ask the customer to act carry a signed
setup page link, added here at send time so that neither the link nor the secret reaches history.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models import ActivityName, CustomerNotification, ErrorType, NotificationReceipt
from models.lifecycle import LifecycleNotification
from models.reply_step import with_setup_page_link
from models.text import escape_markdown

WEBHOOK_TIMEOUT = 10.0


# The headline of each kind in the webhook's Markdown `text`.
HEADLINES = {
    "instructions": "Action needed: cross-tenant encryption key setup",
    "reminder": "Reminder: cross-tenant encryption key setup is still open",
    "attempt_failed": "Action needed: the last key setup attempt failed",
    "deadline_exceeded": "Key setup deadline passed",
    "completed": "Key setup complete",
    "health_changed": "Encryption key health changed",
    "key_changed": "Encryption key changed",
    "offboarded": "Customer offboarded",
}


def webhook_body(notification: CustomerNotification | LifecycleNotification) -> dict[str, object]:
    """The notification as JSON data, plus `text`: one Markdown message for receivers that render
    it (Teams, Slack, ticketing), in which every value a customer or Azure supplied is escaped.
    The data fields stay raw: a receiver that renders them must escape them itself."""
    body = notification.model_dump(mode="json", exclude_none=True)
    lines = [
        f"**{HEADLINES[notification.kind]}** for {escape_markdown(notification.customer_name)} "
        f"(tenant {notification.customer_tenant_id})"
    ]
    if isinstance(notification, LifecycleNotification):
        lines.append(escape_markdown(notification.message))
        lines += [
            f"{f.code}: {escape_markdown(f.message)} Fix: {escape_markdown(f.fix)}"
            for f in notification.findings
        ]
    else:
        if notification.reason:
            lines.append(f"Reason: {escape_markdown(notification.reason)}")
        if notification.fix:
            lines.append(f"Fix: {escape_markdown(notification.fix)}")
        if notification.setup_page_url:
            lines.append(f"[Open your setup page]({notification.setup_page_url})")
    body["text"] = "\n\n".join(lines)
    return body


# The kinds that ask the customer to do something, and so get a link to do it with.
KINDS_WITH_SETUP_LINK = frozenset({"instructions", "reminder", "attempt_failed"})


class SetupLinks(Protocol):
    """Issues a customer's setup page link (customer_page.settings.LinkIssuer)."""

    def link_for(self, workflow_id: str) -> str: ...


class Notifier(Protocol):
    async def send(self, notification: CustomerNotification) -> None: ...

    async def aclose(self) -> None: ...


class LogNotifier:
    """One structured log line per notification; operators forward it however they like."""

    def __init__(self) -> None:
        self._log = structlog.get_logger("cmk.notify")

    async def send(self, notification: CustomerNotification) -> None:
        instructions = notification.instructions
        self._log.info(
            "customer notification",
            kind=notification.kind,
            workflow_id=notification.workflow_id,
            customer_tenant_id=notification.customer_tenant_id,
            customer_name=notification.customer_name,
            reason=notification.reason,
            fix=notification.fix,
            reminder_number=notification.reminder_number,
            consent_url=instructions.consent_url if instructions else None,
            commands=list(instructions.commands) if instructions else None,
            # The link is a credential: logs say that one went out, `starter.py link` makes one.
            setup_page_link=notification.setup_page_url is not None,
        )

    async def aclose(self) -> None:
        return None


class WebhookNotifier:
    """POST the notification as JSON; one pooled HTTP client for the worker's lifetime."""

    def __init__(self, url: str, *, ca_path: Path | str | None = None) -> None:
        # Webhook URLs carry their credential in the path or query: only the host is ever shown.
        self._url = url
        self._shown = f"webhook at {urlsplit(url).hostname or 'unknown host'}"
        verify = ssl.create_default_context(cafile=ca_path) if ca_path else True
        self._http = httpx.AsyncClient(verify=verify, timeout=WEBHOOK_TIMEOUT)

    async def send(self, notification: CustomerNotification | LifecycleNotification) -> None:
        try:
            response = await self._http.post(self._url, json=webhook_body(notification))
        except httpx.TransportError as error:
            raise ApplicationError(
                f"{self._shown} unreachable ({type(error).__name__}); retrying",
                type="WebhookUnavailable",
            ) from None
        if response.status_code >= 400:
            # 4xx other than 408/429 will not heal by retrying the same body.
            permanent = 400 <= response.status_code < 500 and response.status_code not in (
                408,
                429,
            )
            raise ApplicationError(
                f"{self._shown} answered HTTP {response.status_code}",
                type=ErrorType.AZURE_REQUEST_REJECTED if permanent else "WebhookUnavailable",
                non_retryable=permanent,
            )

    def __repr__(self) -> str:
        return f"WebhookNotifier({self._shown})"

    async def aclose(self) -> None:
        await self._http.aclose()


class NotifierActivities:
    def __init__(self, notifier: Notifier, setup_links: SetupLinks | None = None) -> None:
        self._notifier = notifier
        self._setup_links = setup_links

    @activity.defn(name=ActivityName.NOTIFY_CUSTOMER)
    async def notify_customer(self, notification: CustomerNotification) -> NotificationReceipt:
        if self._setup_links is None or notification.kind not in KINDS_WITH_SETUP_LINK:
            await self._notifier.send(notification)
            return NotificationReceipt(setup_page_link=False)
        url = self._setup_links.link_for(notification.workflow_id)
        instructions = notification.instructions
        await self._notifier.send(
            notification.model_copy(
                update={
                    "setup_page_url": url,
                    "instructions": with_setup_page_link(instructions, url)
                    if instructions
                    else None,
                }
            )
        )
        return NotificationReceipt(setup_page_link=True)
