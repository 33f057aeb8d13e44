"""Resources as the policies see them, and what the policies need to know about their types.

A :class:`Resource` is plain data, however it was obtained: from CrossGuard's proxies in a
real preview, or from a capture of the mocked program. The type tokens and the helpers that
read a subnet's role or a route's next hop live here, once, for every policy family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from ..config import naming
from ..core import band

AZ_SUBNET: Final = "azure-native:network:Subnet"
AZ_ROUTE_TABLE: Final = "azure-native:network:RouteTable"
AZ_ROUTE: Final = "azure-native:network:Route"
AWS_SUBNET: Final = "aws:ec2/subnet:Subnet"
AWS_ROUTE_TABLE: Final = "aws:ec2/routeTable:RouteTable"
AWS_ROUTE: Final = "aws:ec2/route:Route"
AWS_RT_ASSOC: Final = "aws:ec2/routeTableAssociation:RouteTableAssociation"
HELM_RELEASE: Final = "kubernetes:helm.sh/v3:Release"
FIREWALL_POLICY: Final = f"kubernetes:{band.API_VERSION}:{band.KIND}"
OBOT_CATALOG: Final = "pulumi-python:dynamic/obot:CatalogSource"
"""The stack's catalog registered in Obot (``ObotCatalog``): its entries decide the
FirewallPolicies Obot's network-policy controller writes."""
SPOKE_GATEWAY: Final = "aviatrix:index/spokeGateway:SpokeGateway"
SMART_GROUP: Final = "aviatrix:index/smartGroup:SmartGroup"
WEB_GROUP: Final = "aviatrix:index/webGroup:WebGroup"
DEFAULT_ACTION: Final = (
    "aviatrix:index/distributedFirewallingDefaultActionRule:DistributedFirewallingDefaultActionRule"
)
TRANSIT_ATTACHMENT: Final = "aviatrix:index/spokeTransitAttachment:SpokeTransitAttachment"
RULESET_TYPES: Final = frozenset(
    {
        "aviatrix:index/dcfRuleset:DcfRuleset",
        "aviatrix:index/distributedFirewallingPolicyList:DistributedFirewallingPolicyList",
    }
)
FOUNDRY_ACCOUNT: Final = "azure-native:cognitiveservices:Account"
CAPABILITY_HOST_TYPES: Final = frozenset(
    {
        "azure-native:cognitiveservices:ProjectCapabilityHost",
        "azure-native:cognitiveservices:AccountCapabilityHost",
        "azure-native:cognitiveservices:CapabilityHost",
    }
)
AZ_VNET: Final = "azure-native:network:VirtualNetwork"
PRIVATE_ENDPOINT: Final = "azure-native:network:PrivateEndpoint"
DNS_ZONE_GROUP: Final = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ZONE: Final = "azure-native:privatedns:PrivateZone"
ZONE_LINK: Final = "azure-native:privatedns:VirtualNetworkLink"
KEY_VAULT_SECRET: Final = "azure-native:keyvault:Secret"
ROLE_ASSIGNMENT: Final = "azure-native:authorization:RoleAssignment"
PROXY_CA: Final = (
    "aviatrix:index/distributedFirewallingProxyCaConfig:DistributedFirewallingProxyCaConfig"
)
SUBNET_ROLES: Final = (
    naming.AGENT_SUBNET,
    naming.POD_SUBNET,
    naming.GATEWAY_SUBNET,
    naming.HA_GATEWAY_SUBNET,
    naming.PRIVATE_ENDPOINT_SUBNET,
)
WORKLOAD_ROLES: Final = (naming.AGENT_SUBNET, naming.POD_SUBNET)


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource as a policy sees it: plain data, whichever way it was obtained."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    parent: str | None = None
    deps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Property -> URNs its value came from (CrossGuard's property dependencies)."""


def subnet_role(r: Resource) -> str | None:
    """``agents``/``pods``/... for the stack's subnets (by the names naming gives them)."""
    if r.type == AZ_SUBNET:
        name = r.props.get("subnetName") or r.name
        return name if name in SUBNET_ROLES else None
    if r.type == AWS_SUBNET:
        tags = r.props.get("tags") or {}
        name = (tags.get("Name") if isinstance(tags, Mapping) else None) or ""
        return next((role for role in SUBNET_ROLES if name.endswith(f"-{role}")), None)
    return None


def cidr_of(props: Mapping[str, Any]) -> str | None:
    """A subnet's range, on Azure or AWS."""
    value = props.get("addressPrefix") or props.get("cidrBlock")
    return str(value) if value else None


def routes_of(r: Resource) -> list[Mapping[str, Any]]:
    """The routes a resource declares, inline on a table or as a route resource, with the
    destination under ``addressPrefix`` on both clouds."""
    if r.type == AZ_ROUTE_TABLE:
        return list(r.props.get("routes") or [])
    if r.type == AZ_ROUTE:
        return [r.props]
    if r.type == AWS_ROUTE_TABLE:
        return [{**x, "addressPrefix": x.get("cidrBlock")} for x in r.props.get("routes") or []]
    if r.type == AWS_ROUTE:
        return [{**r.props, "addressPrefix": r.props.get("destinationCidrBlock")}]
    return []


def find_key(value: Any, key: str) -> Any:
    """The first value under ``key`` anywhere in a nested structure (None when absent)."""
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            found = find_key(v, key)
            if found is not None:
                return found
    return None


class Snapshot(tuple[Resource, ...]):
    """One preview's resources as every stack policy sees them. What policies derive from the
    whole stack (the rebuilt rulebase, its analysis) is computed once and kept here, so a
    dozen policies over one preview share one analysis, and nothing outlives the preview."""

    memo: dict[str, Any]

    def __new__(cls, items: Iterable[Resource]) -> Snapshot:
        obj = super().__new__(cls, items)
        obj.memo = {}
        return obj


T = TypeVar("T")


def derived(resources: Sequence[Resource], key: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept on the snapshot when ``resources`` is one (recomputed otherwise)."""
    memo: dict[str, Any] | None = getattr(resources, "memo", None)
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    value: T = memo[key]
    return value
