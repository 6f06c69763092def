"""Escaping for text that others supply (customer names, submitted notes) before it is rendered."""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation; these start markup, links or HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~&])")


def escape_markdown(text: str) -> str:
    """`text` shown literally in Markdown (Temporal UI details, instructions, rich Markdown)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def onboarding_summary(
    *, customer_name: str, customer_tenant_id: str, des_name: str, region: str
) -> str:
    """The one-line summary of an onboarding in the Temporal UI (static summary, first line of
    the current details)."""
    return (
        f"Cross-tenant CMK onboarding of {escape_markdown(customer_name)} "
        f"({customer_tenant_id}): disk encryption set {des_name} in {region}"
    )
