"""Revoked links: a file of `<workflow id> <revoked at, ms>` lines shared by the page and the ISV.

Links carry their issue time; revoking a workflow's links refuses every link issued up to that
moment, and a link issued afterwards (`starter.py link --revoke`) works again. The file is
append-only and small (one line per revocation), so the page re-reads it whenever it changes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from customer_page.links import LinkClaims


def revoke(path: Path, workflow_id: str, *, now: float | None = None) -> int:
    """Refuse every link for `workflow_id` issued until now; returns the revocation time (ms)."""
    if any(c.isspace() for c in workflow_id):
        raise ValueError(f"workflow id '{workflow_id}' contains whitespace; no link can carry it")
    revoked_at_ms = int((time.time() if now is None else now) * 1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as file:
        file.write(f"{workflow_id} {revoked_at_ms}\n")
        file.flush()
        os.fsync(file.fileno())
    return revoked_at_ms


class RevocationList:
    """Answers `is_revoked(claims)` from the file, re-read when its size or mtime changes."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._revoked_at_ms: dict[str, int] = {}

    def is_revoked(self, claims: LinkClaims) -> bool:
        self._reload_if_changed()
        revoked_at = self._revoked_at_ms.get(claims.workflow_id)
        return revoked_at is not None and claims.issued_at_ms <= revoked_at

    def _reload_if_changed(self) -> None:
        if self._path is None:
            return
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            self._stamp, self._revoked_at_ms = None, {}
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        revoked: dict[str, int] = {}
        for line in self._path.read_text(encoding="utf-8").splitlines():
            workflow_id, _, at = line.strip().rpartition(" ")
            if workflow_id and at.isdigit():
                revoked[workflow_id] = max(revoked.get(workflow_id, 0), int(at))
        self._stamp, self._revoked_at_ms = stamp, revoked
