"""The names of rules, groups and settings the rulebase is built from.

Rule and group names are part of the contract: dashboards, CoPilot searches and the policy
pack key on them, so they are defined once, here.
"""

from __future__ import annotations

from typing import Final

from .model import DEFAULT_ROUTE, TERRAFORM_LAYERS, Layer, Selector, SelectorKind, SmartGroup
from .platform import platform

# Rules of the base rulesets, in evaluation order.
DENY_THREAT_INTEL = "deny-threat-intel"
ALLOW_ACA_FQDN = "allow-aca-fqdn"
ALLOW_ACA_SVCTAG = "allow-aca-svctag"
ALLOW_TOOL_CALLS = "allow-tool-calls"
ALLOW_CLUSTER_INFRA = "allow-cluster-infra"
ALLOW_OBOT_SYSTEM = "allow-obot-system"
ALLOW_K8S_API_SERVER = "allow-k8s-api-server"
ALLOW_OBOT_REMOTE_MCP = "allow-obot-remote-mcp"
"""Obot's own pods to the remote MCP servers it calls on users' behalf."""
DEFAULT_DENY_INTERNET = "default-deny-internet"
DENY_EAST_WEST = "deny-east-west"

# Rules of each per-server FirewallPolicy (the names Obot's network-policy provider uses).
FP_ALLOW = "allow-approved-egress"
FP_DENY = "deny-all-external"

PLATFORM_PERMITS = frozenset(
    {
        ALLOW_ACA_FQDN,
        ALLOW_ACA_SVCTAG,
        ALLOW_CLUSTER_INFRA,
        ALLOW_OBOT_SYSTEM,
        ALLOW_K8S_API_SERVER,
        ALLOW_OBOT_REMOTE_MCP,
    }
)
ACA_RULES = frozenset({ALLOW_ACA_FQDN, ALLOW_ACA_SVCTAG})

# SmartGroups.
FOUNDRY_AGENTS = "foundry-agents"
CLUSTER_NODES = "cluster-nodes"
CLUSTER_PODS = "cluster-pods"
OBOT_SYSTEM_PODS = "obot-system-pods"
SPOKE_WORKLOADS = "spoke-workloads"
OTHER_SPOKE_RESOURCES = "other-spoke-resources"
K8S_API_SERVER = "k8s-api-server"
FOUNDRY_TOOL_CALLS = "foundry-tool-calls"
OBOT_REMOTE_MCP_SERVERS = "obot-remote-mcp-servers"
"""WebGroup of the hosts of the stack's remote MCP servers."""
SVCTAG_PREFIX = "aca-svctag-"

# Aviatrix-managed SmartGroups: referenced, never created. UUIDs are the controller's
# well-known ids for its predefined groups.
ANYWHERE = "Anywhere"
PUBLIC_INTERNET = "Public Internet"
THREAT_GROUP = "default-threatgroup"
MANAGED_GROUPS: Final = (
    SmartGroup(
        ANYWHERE,
        (Selector(SelectorKind.ANYWHERE, cidr=DEFAULT_ROUTE),),
        managed=True,
        uuid="def000ad-0000-0000-0000-000000000000",
    ),
    SmartGroup(
        PUBLIC_INTERNET,
        (Selector(SelectorKind.PUBLIC_INTERNET),),
        managed=True,
        uuid="def000ad-0000-0000-0000-000000000001",
    ),
    SmartGroup(
        THREAT_GROUP,
        (Selector(SelectorKind.THREAT),),
        managed=True,
        uuid="def000ad-0000-0000-0000-000000000002",
    ),
)

EXTRA_PREFIX: Final = "extra-"
"""Starts the group an ``egress.extraRules`` entry names (``<prefix>-extra-<rule>``)."""

# Obot's server settings (chart ``config:`` values, read as environment).
OBOT_DENY_ALL_EGRESS: Final = "OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS"


def base_rule_names(
    *,
    foundry: bool,
    kubernetes: bool,
    api_server: bool,
    east_west: bool,
    terminal: bool = True,
    remote_mcp: bool = False,
) -> tuple[str, ...]:
    """The base rules a stack of this shape gets, in order (used to check ``ruleModes`` keys).
    ``terminal`` is false where the terminal denies have no source they may deny (MCP pods
    share the node subnet and the controller has no point after the Kubernetes band)."""
    names = [DENY_THREAT_INTEL]
    if foundry:
        names += [ALLOW_ACA_FQDN, ALLOW_ACA_SVCTAG, ALLOW_TOOL_CALLS]
    if kubernetes:
        names += [ALLOW_CLUSTER_INFRA, ALLOW_OBOT_SYSTEM]
        if api_server:
            names.append(ALLOW_K8S_API_SERVER)
        if remote_mcp:
            names.append(ALLOW_OBOT_REMOTE_MCP)
    if terminal:
        names.append(DEFAULT_DENY_INTERNET)
        if east_west:
            names.append(DENY_EAST_WEST)
    return tuple(names)


# --- controller-scope names ----------------------------------------------------------------------
#
# SmartGroups, WebGroups, rulesets, policy groups, attachment points and gateways are named
# controller-wide, so every one a stack declares starts with its name prefix
# (``controller.namePrefix``, by default the environment). Rule names stay bare: the provider
# keys a rule by its name within its ruleset, and the audit trail reads them as the contract.

NAME_LIMIT: Final = 63
"""Our limit for a controller-scope name. The provider validates no length or character set on
these names and its documentation states none; 63 (a DNS label) is the conservative bound we
chose, with names of lowercase letters, digits and hyphens only."""

POINT_SUFFIXES: Final = {
    Layer.BEFORE_UI: "before-ui",
    Layer.AFTER_UI: "after-ui",
    Layer.AFTER_KUBERNETES: "after-k8s",
}
RULESET_SUFFIX: Final = "rules"
TREE_INFIX: Final = "tree"


def qualified(prefix: str, role: str) -> str:
    """The controller-scope name of a group the library declares."""
    return f"{prefix}-{role}"


def attachment_point(prefix: str, layer: Layer) -> str:
    """The stack's own attachment point under the controller's point for ``layer``."""
    return f"{prefix}-{POINT_SUFFIXES[layer]}"


def ruleset(prefix: str, layer: Layer) -> str:
    return f"{prefix}-{POINT_SUFFIXES[layer]}-{RULESET_SUFFIX}"


def policy_group(prefix: str, layer: Layer) -> str:
    """The owner's policy group at the controller's Terraform attachment point for ``layer``."""
    return f"{prefix}-{TREE_INFIX}-{POINT_SUFFIXES[layer]}"


def layer_of_ruleset(name: str) -> Layer | None:
    """The layer a ruleset the library named belongs to (None for any other name)."""
    for layer in TERRAFORM_LAYERS:
        if name.endswith(f"-{POINT_SUFFIXES[layer]}-{RULESET_SUFFIX}"):
            return layer
    return None


def derived_roles() -> tuple[str, ...]:
    """Every name the library puts after a prefix, whatever the stack's shape."""
    data = platform()
    groups = (
        FOUNDRY_AGENTS,
        CLUSTER_NODES,
        CLUSTER_PODS,
        OBOT_SYSTEM_PODS,
        SPOKE_WORKLOADS,
        OTHER_SPOKE_RESOURCES,
        K8S_API_SERVER,
        FOUNDRY_TOOL_CALLS,
        data.aca_web_group,
        data.cluster_infra_web_group,
        data.obot_system_web_group,
        *(SVCTAG_PREFIX + tag.lower() for tag in data.aca_service_tags),
    )
    tree = tuple(
        name.removeprefix("x-")
        for layer in TERRAFORM_LAYERS
        for name in (attachment_point("x", layer), ruleset("x", layer), policy_group("x", layer))
    )
    return (*groups, *tree, "mcp-spoke")


def max_prefix_length() -> int:
    """The longest prefix that keeps every name within :data:`NAME_LIMIT`."""
    return NAME_LIMIT - 1 - max(len(role) for role in derived_roles())
