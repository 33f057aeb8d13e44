"""The names of rules, groups and settings the rulebase is built from.

Rule and group names are part of the contract: dashboards, CoPilot searches and the policy
pack key on them, so they are defined once, here.
"""

from __future__ import annotations

from typing import Final

from .model import DEFAULT_ROUTE, Selector, SelectorKind, SmartGroup

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

# Obot's server settings (chart ``config:`` values, read as environment).
OBOT_DENY_ALL_EGRESS: Final = "OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS"


def base_rule_names(
    *, foundry: bool, kubernetes: bool, api_server: bool, east_west: bool, remote_mcp: bool = False
) -> tuple[str, ...]:
    """The base rules a stack of this shape gets, in order (used to check ``ruleModes`` keys)."""
    names = [DENY_THREAT_INTEL]
    if foundry:
        names += [ALLOW_ACA_FQDN, ALLOW_ACA_SVCTAG, ALLOW_TOOL_CALLS]
    if kubernetes:
        names += [ALLOW_CLUSTER_INFRA, ALLOW_OBOT_SYSTEM]
        if api_server:
            names.append(ALLOW_K8S_API_SERVER)
        if remote_mcp:
            names.append(ALLOW_OBOT_REMOTE_MCP)
    names.append(DEFAULT_DENY_INTERNET)
    if east_west:
        names.append(DENY_EAST_WEST)
    return tuple(names)
