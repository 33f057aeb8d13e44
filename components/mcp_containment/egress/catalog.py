"""Names and versioned data the ruleset is built from.

Rule and group names are part of the contract (DESIGN §1): dashboards, CoPilot searches and
the policy pack key on them, so they are defined once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from . import fqdn

# Rules of the base rulesets, in evaluation order.
DENY_THREAT_INTEL = "deny-threat-intel"
ALLOW_ACA_FQDN = "allow-aca-fqdn"
ALLOW_ACA_SVCTAG = "allow-aca-svctag"
ALLOW_TOOL_CALLS = "allow-tool-calls"
ALLOW_CLUSTER_INFRA = "allow-cluster-infra"
ALLOW_OBOT_SYSTEM = "allow-obot-system"
ALLOW_K8S_API_SERVER = "allow-k8s-api-server"
DEFAULT_DENY_INTERNET = "default-deny-internet"
DENY_EAST_WEST = "deny-east-west"

# Rules of each per-server FirewallPolicy (the names Obot's network-policy provider uses).
FP_ALLOW = "allow-approved-egress"
FP_DENY = "deny-all-external"

PLATFORM_PERMITS = frozenset(
    {ALLOW_ACA_FQDN, ALLOW_ACA_SVCTAG, ALLOW_CLUSTER_INFRA, ALLOW_OBOT_SYSTEM, ALLOW_K8S_API_SERVER}
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
SVCTAG_PREFIX = "aca-svctag-"

# Aviatrix-managed SmartGroups: referenced, never created. UUIDs are the controller's
# well-known ids for its predefined groups.
ANYWHERE = "Anywhere"
PUBLIC_INTERNET = "Public Internet"
THREAT_GROUP = "default-threatgroup"
MANAGED_GROUP_UUIDS = {
    ANYWHERE: "def000ad-0000-0000-0000-000000000000",
    PUBLIC_INTERNET: "def000ad-0000-0000-0000-000000000001",
    THREAT_GROUP: "def000ad-0000-0000-0000-000000000002",
}


def base_rule_names(
    *, foundry: bool, kubernetes: bool, api_server: bool, east_west: bool
) -> tuple[str, ...]:
    """The base rules a stack of this shape gets, in order (used to check ``ruleModes`` keys)."""
    names = [DENY_THREAT_INTEL]
    if foundry:
        names += [ALLOW_ACA_FQDN, ALLOW_ACA_SVCTAG, ALLOW_TOOL_CALLS]
    if kubernetes:
        names += [ALLOW_CLUSTER_INFRA, ALLOW_OBOT_SYSTEM]
        if api_server:
            names.append(ALLOW_K8S_API_SERVER)
    names.append(DEFAULT_DENY_INTERNET)
    if east_west:
        names.append(DENY_EAST_WEST)
    return tuple(names)


@dataclass(frozen=True, slots=True)
class PlatformData:
    version: str
    aca_web_group: str
    aca_fqdns: tuple[str, ...]
    aca_service_tags: tuple[str, ...]
    cluster_infra_web_group: str
    cluster_infra: dict[str, tuple[str, ...]]
    obot_system_web_group: str
    obot_system_fqdns: tuple[str, ...]
    storage_like: tuple[str, ...]

    def cluster_infra_fqdns(self, cloud: str, region: str) -> tuple[str, ...]:
        return tuple(
            sorted(
                {
                    fqdn.check_platform_pattern(d.format(region=region))
                    for d in self.cluster_infra[cloud]
                }
            )
        )


def _patterns(raw: list[Any]) -> tuple[str, ...]:
    return tuple(sorted({fqdn.check_platform_pattern(str(d)) for d in raw}))


@cache
def platform() -> PlatformData:
    """The packaged platform lists, validated on load (a bad entry fails loudly, once)."""
    text = resources.files("mcp_containment").joinpath("data/platform.yaml").read_text()
    raw = yaml.safe_load(text)
    return PlatformData(
        version=str(raw["version"]),
        aca_web_group=raw["aca"]["webGroup"],
        aca_fqdns=_patterns(raw["aca"]["fqdns"]),
        aca_service_tags=tuple(raw["aca"]["serviceTags"]),
        cluster_infra_web_group=raw["clusterInfra"]["webGroup"],
        # Region placeholders are validated after substitution, in cluster_infra_fqdns().
        cluster_infra={k: tuple(raw["clusterInfra"][k]) for k in ("aws", "azure")},
        obot_system_web_group=raw["obotSystem"]["webGroup"],
        obot_system_fqdns=_patterns(raw["obotSystem"]["fqdns"]),
        storage_like=_patterns(raw["storageLike"]),
    )
