"""What a policy is, independent of CrossGuard: a name, a level, a scope and a plain check.

Checks take :class:`~mcp_containment.crossguard.resources.Resource` views and the policy's
config properties, and yield messages; :mod:`mcp_containment.crossguard.pack` wraps them for
CrossGuard, and the in-process runner calls those very wrappers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal

from .resources import Resource

PACK: Final = "mcp-containment"


class Level(StrEnum):
    """Enforcement levels, as the Pulumi CLI spells them."""

    ADVISORY = "advisory"
    MANDATORY = "mandatory"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Violation:
    policy: str
    level: Level
    resource: str | None
    message: str

    def to_json(self) -> dict[str, str | None]:
        return {
            "policy": self.policy,
            "level": self.level.value,
            "resource": self.resource,
            "message": self.message,
        }


ResourceCheck = Callable[[Resource, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Mapping[str, Any]], Iterable[tuple[str, str | None]]]


@dataclass(frozen=True)
class PolicyDef:
    name: str
    description: str
    level: Level
    scope: Literal["resource", "stack"]
    check: ResourceCheck | StackCheck
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON-schema properties of the policy's config (with defaults)."""
    remediation: str = ""
    """How to fix a violation: shown with it by CrossGuard (``remediation_steps``)."""


# Stack facts a policy may read, as config properties (with their JSON schema). They have no
# default: absent, a fact comes from the stack's own config (see policy_config); present, it
# overrides the stack.
PRODUCTION: Final[Mapping[str, Mapping[str, Any]]] = {
    "production": {
        "type": "boolean",
        "description": "The stack is production (stricter checks); overrides the stack config.",
    }
}
CONTROLLER: Final[Mapping[str, Mapping[str, Any]]] = {
    "controllerVersion": {
        "type": "string",
        "description": "Declared Aviatrix controller version; overrides the stack config.",
    }
}
LOCK: Final[Mapping[str, Mapping[str, Any]]] = {
    "lock": {
        "type": "object",
        "description": "The network lock (containment lock); overrides the stack config.",
    }
}
PROTECTION: Final[Mapping[str, Mapping[str, Any]]] = {
    "protect": {
        "type": "boolean",
        "description": "The stack protects its network, gateway and Foundry resources "
        "(production by default, or as configured); overrides the stack config.",
    }
}
PRIVATE_DEPENDENCIES: Final[Mapping[str, Mapping[str, Any]]] = {
    "privateDependencies": {
        "type": "array",
        "description": "What the agents must reach over private endpoints: the Foundry account, "
        "foundry.dependencies and the decryption CA's vault; overrides the stack config.",
    }
}
CA_ELSEWHERE: Final[Mapping[str, Mapping[str, Any]]] = {
    "caConfiguredElsewhere": {
        "type": "boolean",
        "description": "The controller's proxy CA is declared by the stack that owns "
        "controller-wide objects, not by this one; overrides the stack config.",
    }
}
RULE_FACTS: Final = {**PRODUCTION, **CONTROLLER}
"""Every policy over a declared rulebase reads the same facts, so they share one analysis."""
