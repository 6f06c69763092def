"""The instructions' reply step, shared by the workflow (which writes it) and the notify activity
(which swaps in the customer page link at send time, so the signed link never reaches history)."""

from __future__ import annotations

from models.status import CustomerInstructions

# DiskRP requires the version segment, also with rotation to the latest key version.
KEY_URL_FORMAT = "https://<vault-name>.vault.azure.net/keys/<key-name>/<version>"
# The markdown's last step; with_setup_page_link() replaces it from here on.
REPLY_STEP = "3. Send back the full key URL"


def with_setup_page_link(instructions: CustomerInstructions, url: str) -> CustomerInstructions:
    """The same instructions, replying through the customer's setup page instead of the CLI.

    Called by the notify activity at send time, so the signed link never reaches history.
    """
    head, found, _ = instructions.markdown.partition(REPLY_STEP)
    reply = (
        f"{REPLY_STEP} (`{KEY_URL_FORMAT}`) on your setup page; it shows the status and the"
        f" result of each attempt, and needs no account:\n\n{url}\n\n"
        "The link is personal to this onboarding and expires; do not forward it.\n"
    )
    markdown = (head if found else instructions.markdown + "\n\n") + reply
    return instructions.model_copy(update={"markdown": markdown})
