"""Resources as the policies see them, and what the policies need to know about their types.

A :class:`Resource` is plain data, however it was obtained: from CrossGuard's proxies in a
real preview, or from a capture of the mocked program. The type tokens and the helpers that
read a subnet's role or a route's next hop live here, once, for every policy family.

Values the engine does not know yet (at preview: ids, UUIDs and addresses of resources being
created or replaced) become :class:`Unknown` when a resource is materialised. An unknown
refuses to act as a value (truth, text, comparison, iteration raise :class:`Undecidable`), so
a check either handles it on purpose (:func:`is_unknown`) or ends in "cannot decide", never in a
silent pass. Which resources are judged at all is decided here too (:func:`declared_by_library`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn, TypeVar

from ..config import naming
from ..core import band

LIBRARY_TYPES: Final = "mcp-containment:"
"""The type-token prefix of this library's components (``mcp-containment:aviatrix:DcfRulebase``)."""
DCF_RULEBASE: Final = "mcp-containment:aviatrix:DcfRulebase"
"""The component whose registered ``rulebase`` output the rule policies judge."""
SPOKE_GATEWAY_COMPONENT: Final = "mcp-containment:aviatrix:SpokeGateway"

ENGINE_UNKNOWNS: Final = frozenset(
    {
        # What the engine sends for a value it does not know yet, by the value's type
        # (pulumi/pulumi pkg/resource/plugin/rpc.go; the same strings pulumi_policy.proxy checks).
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # bool
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)


class Undecidable(Exception):
    """A check needed a value the engine does not know yet. The policy reports it as its own
    outcome ("cannot decide"), at its own level: never a pass."""


class Unknown:
    """A value known only after apply, with where it sits (``routes.0.nextHopIpAddress``).

    It cannot be used as a value: truth, text, comparison, ordering, iteration and arithmetic
    raise :class:`Undecidable`. Checks that expect unknowns test :func:`is_unknown` first."""

    __slots__ = ("path",)

    def __init__(self, path: str = "") -> None:
        self.path = path

    def __repr__(self) -> str:
        return "<unknown until apply>"

    def _refuse(self, *_: Any) -> NoReturn:
        where = f"{self.path} " if self.path else "a value "
        raise Undecidable(f"{where}is not known until apply")

    __bool__ = __str__ = __len__ = __iter__ = __int__ = __float__ = __index__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __contains__ = __getitem__ = _refuse
    __add__ = __radd__ = _refuse
    __hash__ = object.__hash__

    def __copy__(self) -> Unknown:
        return self

    def __deepcopy__(self, memo: Any) -> Unknown:
        return self


UNKNOWN: Final = Unknown()


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def known(value: Any, default: Any = None) -> Any:
    """``value``, or ``default`` while it is unknown: for reading a value that only narrows a
    match (a name compared when both sides are known), never one a verdict rests on."""
    return default if isinstance(value, Unknown) else value


def contains_unknown(value: Any) -> list[str]:
    """Where ``value`` holds unknowns (their paths), in order; empty when fully known."""
    if isinstance(value, Unknown):
        return [value.path or "."]
    if isinstance(value, Mapping):
        return [p for v in value.values() for p in contains_unknown(v)]
    if isinstance(value, list | tuple):
        return [p for v in value for p in contains_unknown(v)]
    return []


_SCALARS: Final = frozenset({bool, int, type(None)})


def materialise(value: Any, path: str = "") -> Any:
    """Plain dicts, lists and scalars from CrossGuard's proxies (or any mapping/sequence),
    the engine's unknown sentinels as :class:`Unknown`, integral numbers as ``int`` (the
    engine sends every number as a double)."""
    return _materialise(value, [path] if path else [])


def _materialise(value: Any, where: list[str]) -> Any:
    # Hot: a preview's resources are materialised once per stack policy. Exact type checks
    # first, and the path is joined only for an unknown.
    kind = type(value)
    if kind is str:
        return Unknown(".".join(where)) if value in ENGINE_UNKNOWNS else value
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind in _SCALARS or kind is Unknown:
        return value
    if kind.__module__ == "pulumi_policy.proxy":
        # The read-only proxies raise on reading an unknown; "__target" is their escape
        # hatch to the wrapped dict or list (pulumi_policy/proxy.py).
        value = value["__target"]
    out: Any
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            where.append(str(k))
            out[str(k)] = _materialise(v, where)
            where.pop()
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        out = []
        for i, v in enumerate(value):
            where.append(str(i))
            out.append(_materialise(v, where))
            where.pop()
        return out
    return value


class LazyProps(Mapping[str, Any]):
    """A resource's properties, materialised on first use: a stack policy reads a few kinds of
    resource among thousands, and CrossGuard hands every policy its own copy of them all."""

    __slots__ = ("_raw", "_value")

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._value: dict[str, Any] | None = None

    @property
    def value(self) -> dict[str, Any]:
        if self._value is None:
            self._value = materialise(self._raw)
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self.value[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.value)

    def __len__(self) -> int:
        return len(self.value)

    def __repr__(self) -> str:
        return repr(self.value)


def type_chain(urn: str) -> list[str]:
    """The types of a resource's ancestors and its own, from its URN
    (``urn:pulumi:STACK::PROJECT::ParentType$Type::name``)."""
    parts = urn.split("::", 3)
    return parts[2].split("$") if len(parts) == 4 else []


def declared_by_library(urn: str) -> bool:
    """The resource is one of this library's components or lives under one: the only
    resources the pack judges, so it can run org-wide without touching other stacks."""
    return any(t.startswith(LIBRARY_TYPES) for t in type_chain(urn))


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
    naming.HA_AGENT_SUBNET,
    naming.POD_SUBNET,
    naming.HA_POD_SUBNET,
    naming.GATEWAY_SUBNET,
    naming.HA_GATEWAY_SUBNET,
    naming.PRIVATE_ENDPOINT_SUBNET,
)
WORKLOAD_ROLES: Final = (
    naming.AGENT_SUBNET,
    naming.HA_AGENT_SUBNET,
    naming.POD_SUBNET,
    naming.HA_POD_SUBNET,
)
AGENT_ROLES: Final = (naming.AGENT_SUBNET, naming.HA_AGENT_SUBNET)
"""The workload (node) subnets of either zone: locked and protected alike."""


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


def cidr_of(props: Mapping[str, Any]) -> str | Unknown | None:
    """A subnet's range, on Azure or AWS (unknown when the engine does not know it yet)."""
    value = props.get("addressPrefix")
    if value is None:
        value = props.get("cidrBlock")
    if isinstance(value, Unknown):
        return value
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
    """The first value under ``key`` anywhere in a nested structure: None when absent, an
    :class:`Unknown` when it may hide in a part not known yet."""
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        hidden: Unknown | None = None
        for v in value:
            found = find_key(v, key)
            if isinstance(found, Unknown):
                hidden = found if hidden is None else hidden
            elif found is not None:
                return found
        return hidden
    return value if isinstance(value, Unknown) else None


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
