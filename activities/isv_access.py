"""The ISV worker's least-privilege role set, read from deploy/isv-access.json and isv-role.json.

One source of truth for the README, the permission errors' fixes, `starter.py doctor` and the
least-privilege test: which role grants each ARM action, and the Graph permission.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ACCESS_FILE = DEPLOY / "isv-access.json"


@dataclass(frozen=True)
class RoleGrant:
    """A role the worker needs, and the actions of it the onboarding uses."""

    name: str
    actions: tuple[str, ...]
    role_id: str | None  # None for the custom role: its id is the one Azure gives it
    scope: str


@dataclass(frozen=True)
class IsvAccess:
    roles: tuple[RoleGrant, ...]
    graph_permissions: tuple[str, ...]
    custom_role_file: Path

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(a for role in self.roles for a in role.actions)

    def role_for(self, action: str) -> RoleGrant | None:
        """The role of the set that grants `action` (Azure's wildcard rules), if any."""
        for role in self.roles:
            if any(action_matches(pattern, action) for pattern in role.actions):
                return role
        return None

    def fix_for(self, action: str) -> str:
        role = self.role_for(action)
        if role is None:
            return f"grant the worker's identity '{action}'"
        if role.role_id is None:
            return (
                f"grant the worker's identity the custom role '{role.name}' "
                f"(deploy/{self.custom_role_file.name}, which includes '{action}') at "
                f"{role.scope} scope: `az role definition create --role-definition "
                f"@deploy/{self.custom_role_file.name}`, then `az role assignment create`"
            )
        return (
            f"assign the worker's identity the built-in role '{role.name}' ({role.role_id}) at "
            f"{role.scope} scope; it grants '{action}'"
        )

    def graph_fix(self) -> str:
        names = ", ".join(self.graph_permissions)
        return (
            f"grant the worker's application the Microsoft Graph application permission {names} "
            "and admin-consent it in the ISV tenant"
        )


def action_matches(pattern: str, action: str) -> bool:
    """Azure action wildcards: '*' is any text, and 'a/*/b' also matches 'a/b'."""
    regex = re.escape(pattern.lower()).replace(r"/\*/", "/(?:.*/)?").replace(r"\*", ".*")
    return re.fullmatch(regex, action.lower()) is not None


@cache
def isv_access(access_file: Path = ACCESS_FILE) -> IsvAccess:
    """The role set as deploy/ defines it (read once)."""
    access = json.loads(access_file.read_text())
    custom_file = access_file.parent / access["customRole"]["definition"]
    custom = json.loads(custom_file.read_text())
    roles = [
        RoleGrant(custom["Name"], tuple(custom["Actions"]), None, access["customRole"]["scope"])
    ]
    roles += [
        RoleGrant(r["name"], tuple(r["actionsUsed"]), r["id"], r["scope"])
        for r in access["builtInRoles"]
    ]
    graph = tuple(p["name"] for p in access["graphApplicationPermissions"])
    return IsvAccess(tuple(roles), graph, custom_file)
