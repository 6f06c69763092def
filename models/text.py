"""Escaping for text that others supply (customer names, submitted notes) before it is rendered."""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation; these start markup, links or HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~&])")


def escape_markdown(text: str) -> str:
    """`text` shown literally in Markdown (Temporal UI details, instructions, rich Markdown)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
