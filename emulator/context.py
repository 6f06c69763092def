"""Shared emulator context and a case-insensitive router.

The context holds the world, the token issuer, faults, the write quota and the request log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.faults import FaultEngine, WriteQuota
from emulator.ratelimits import Throttle
from emulator.state import World, save_world
from emulator.tokens import TokenIssuer

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]
MAX_REQUEST_RECORDS = 100_000


class Router:
    """Routes by method and case-insensitive path template, like ARM and Graph do."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = re.sub(
            r"\{(\w+)\}",
            r"(?P<\1>[^/]+)",
            re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
        )
        self._routes.append((method.upper(), re.compile(f"^{regex}/?$", re.IGNORECASE), handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None | str:
        """(handler, params); "method" if the path exists for another method; None if unknown."""
        path_known = False
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            path_known = True
            if route_method == method.upper():
                return handler, match.groupdict()
        return "method" if path_known else None


@dataclass
class EmulatorContext:
    data_dir: Path
    world: World
    tokens: TokenIssuer
    persist: bool = False
    faults: FaultEngine = field(default_factory=FaultEngine)
    quota: WriteQuota = field(default_factory=WriteQuota)
    throttle: Throttle = field(default_factory=Throttle)
    requests: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, Any] = field(default_factory=dict)
    webhooks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    arm: Router = field(default_factory=Router)
    graph: Router = field(default_factory=Router)

    def record(self, entry: dict[str, Any]) -> None:
        if len(self.requests) >= MAX_REQUEST_RECORDS:
            del self.requests[: MAX_REQUEST_RECORDS // 10]
        self.requests.append(entry)
        by_type = self.counters.setdefault("by_resource_type", {})
        bucket = by_type.setdefault(entry["resource_type"], {"read": 0, "write": 0})
        bucket[entry["kind"]] += 1
        self.counters["total"] = self.counters.get("total", 0) + 1
        status_key = str(entry["status"])
        by_status = self.counters.setdefault("by_status", {})
        by_status[status_key] = by_status.get(status_key, 0) + 1
        if entry["fault"]:
            faults = self.counters.setdefault("faults", {})
            faults[entry["fault"]] = faults.get(entry["fault"], 0) + 1

    def reset_requests(self) -> None:
        self.requests.clear()
        self.counters.clear()

    def save_if_dirty(self) -> None:
        if self.persist and self.world.dirty:
            save_world(self.world, self.data_dir)

    def now(self) -> float:
        return time.time()


CTX: web.AppKey[EmulatorContext] = web.AppKey("ctx", EmulatorContext)


def ctx_of(request: web.Request) -> EmulatorContext:
    return request.app[CTX]


def base_url(request: web.Request) -> str:
    return f"https://{request.host}"
