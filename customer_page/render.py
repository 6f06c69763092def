"""The page's HTML. Every value from the customer or the workflow goes through `esc`; nothing
is rendered as markdown, so a name or a reason can never become markup.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal

from models import Attempt, OnboardingStatus, Stage

STYLESHEET_PATH = "/page.css"
STYLESHEET = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #1b1b1b; }
pre { background: #f4f4f4; padding: .75rem; overflow-x: auto; white-space: pre-wrap; }
.notice { padding: .75rem; border-radius: .3rem; margin: 1rem 0; }
.ok { background: #e5f5e5; } .error { background: #fbe6e6; } .info { background: #eef3fb; }
label { display: block; margin-top: .75rem; font-weight: 600; }
input[type=text], textarea { width: 100%; padding: .4rem; font: inherit; }
button { margin-top: 1rem; padding: .5rem 1.2rem; font: inherit; }
"""
# While the ISV side works the page reloads itself (a meta refresh: CSP allows no inline script).
REFRESH_SECONDS = 3

_WAITING_FOR = {
    "customer": "you (your administrator)",
    "isv": "your service provider",
    "azure": "Azure (nothing to do: this page refreshes itself)",
    "nobody": "nobody",
}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class Notice:
    kind: Literal["ok", "error", "info"]
    text: str


@dataclass(frozen=True)
class FormValues:
    key_url: str = ""
    note: str = ""


def _document(title: str, body: str, *, refresh_to: str | None = None) -> str:
    refresh = (
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS};url={esc(refresh_to)}">'
        if refresh_to is not None
        else ""
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer">{refresh}'
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}"><title>{esc(title)}</title></head>'
        f"<body>{body}</body></html>\n"
    )


def message_page(title: str, message: str) -> str:
    """A refusal or an ended onboarding: a title and one explanation, nothing else."""
    return _document(title, f'<h1>{esc(title)}</h1><p id="message">{esc(message)}</p>')


def _notice(notice: Notice | None) -> str:
    if notice is None:
        return ""
    return f'<div id="notice" class="notice {esc(notice.kind)}">{esc(notice.text)}</div>'


def _last_failure(attempts: list[Attempt]) -> str:
    failed = [a for a in attempts if a.outcome == "customer_error"]
    if not failed:
        return ""
    last = failed[-1]
    return (
        '<div id="last-failure" class="notice error">'
        f"<strong>Attempt {last.number} ({esc(last.key_url)}) did not work:</strong> "
        f"{esc(last.reason or last.code or 'unknown reason')}"
        + (f"<br><strong>How to fix it:</strong> {esc(last.fix)}" if last.fix else "")
        + "</div>"
    )


def _instructions(status: OnboardingStatus) -> str:
    instructions = status.instructions
    if instructions is None:
        return "<p>Your service provider is still preparing; this page refreshes itself.</p>"
    commands = "\n".join(instructions.commands)
    return (
        "<h2>What to do in your tenant</h2><ol>"
        f"<li>Grant admin consent to the application <code>{esc(instructions.app_id)}</code>: "
        f'<a id="consent-link" href="{esc(instructions.consent_url)}" rel="noopener noreferrer">'
        f"{esc(instructions.consent_url)}</a> (or run <code>az ad sp create</code> below).</li>"
        "<li>Create a Key Vault with purge protection in the region of the disks, an RSA key of "
        "2048, 3072 or 4096 bits, and give the application the role "
        "<q>Key Vault Crypto Service Encryption User</q> on the vault:"
        f'<pre id="commands">{esc(commands)}</pre></li>'
        "<li>Paste the key URL (<code>https://&lt;vault&gt;.vault.azure.net/keys/&lt;name&gt;"
        "</code>) in the form below.</li></ol>"
    )


def _form(action: str, csrf: str, values: FormValues) -> str:
    return (
        f'<form id="setup-form" method="post" action="{esc(action)}">'
        f'<input type="hidden" name="csrf_token" value="{esc(csrf)}">'
        '<label for="key_url">Key URL</label>'
        f'<input type="text" id="key_url" name="key_url" required maxlength="2048" '
        f'autocomplete="off" spellcheck="false" value="{esc(values.key_url)}" '
        'placeholder="https://contosokv.vault.azure.net/keys/disk-key/placeholder="https://contosokv.vault.azure.net/keys/disk-key">lt;versionplaceholder="https://contosokv.vault.azure.net/keys/disk-key">gt;">'
        '<label for="note">Note for your service provider (optional)</label>'
        f'<textarea id="note" name="note" maxlength="1000" rows="3">{esc(values.note)}</textarea>'
        '<button id="submit" type="submit">Send key URL</button></form>'
    )


def setup_page(
    status: OnboardingStatus,
    *,
    page_path: str,
    csrf: str,
    values: FormValues = FormValues(),
    notice: Notice | None = None,
) -> str:
    """The customer's page: status, last failure and its fix, instructions and the form."""
    awaiting = status.stage == Stage.AWAITING_CUSTOMER and status.waiting_for == "customer"
    title = f"Customer-managed key setup for {status.customer_name}"
    parts = [
        f"<h1>{esc(title)}</h1>",
        _notice(notice),
        '<dl><dt>Stage</dt><dd id="stage">' + esc(status.stage.value) + "</dd>"
        '<dt>Waiting for</dt><dd id="waiting-for">'
        + esc(_WAITING_FOR.get(status.waiting_for, status.waiting_for))
        + "</dd>",
    ]
    if status.deadline is not None and awaiting:
        parts.append(
            f"<dt>Deadline</dt><dd>{esc(status.deadline.strftime('%Y-%m-%d %H:%M UTC'))}</dd>"
        )
    parts.append("</dl>")
    parts.append(_last_failure(status.attempts))
    if awaiting:
        parts.append(_instructions(status))
        parts.append(_form(page_path, csrf, values))
    else:
        parts.append(
            '<p id="progress" class="notice info">Your service provider is working on it; '
            "this page refreshes itself.</p>"
        )
    return _document(title, "".join(parts), refresh_to=None if awaiting else page_path)


def status_json(status: OnboardingStatus) -> dict[str, object]:
    """What the poll endpoint returns: enough to follow the outcome, no ISV resource ids."""
    return {
        "stage": status.stage.value,
        "waiting_for": status.waiting_for,
        "accepts_submissions": status.stage == Stage.AWAITING_CUSTOMER,
        "attempts": [
            a.model_dump(mode="json", include={"number", "outcome", "code", "reason", "fix"})
            for a in status.attempts
        ],
    }
