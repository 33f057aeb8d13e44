"""The stack config schema: one deployment of mcp-containment.

Keys are camelCase in YAML and snake_case in Python. These models refuse what is malformed
(types, CIDRs, domains, names, versions, unknown keys). Checks that relate several keys
(subnets inside the VNet, overlaps, contradictions) live in
:mod:`mcp_containment.config.validate`,
which is the only supported way to build a :class:`Spec` from user input.

What is well-formed but unsafe (default action PERMIT, monitor mode in production, per-rule
decryption on an old controller) is accepted here and refused by the policy pack, so teams can
tune enforcement per environment.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from ..core.fqdn import DomainError, check_egress_domain
from ..core.model import Action
from ..core.versions import is_pinned_chart_version, parse_controller_version

PROJECT = "mcp-containment"
PRODUCTION_ENVIRONMENTS = frozenset({"prod", "production"})


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


# --- field types ------------------------------------------------------------------------------


def _canonical_cidr(value: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a CIDR block") from exc
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"{value!r} is IPv6; only IPv4 spokes are supported")
    address, slash, _ = value.partition("/")
    if not slash:
        raise ValueError(f"{value!r} has no prefix length; write it as {net.with_prefixlen}")
    if ipaddress.IPv4Address(address) != net.network_address:
        raise ValueError(f"{value!r} is not canonical (host bits set); write {net.with_prefixlen}")
    if str(net) != value:
        # Same network, other spelling: a zero-padded prefix such as /016.
        raise ValueError(f"{value!r} is not canonical (zero-padded prefix); write {net}")
    return net


def _strict_bool(value: object) -> bool:
    # pydantic's lax mode reads 'yes', 'off', 1 and 0 as booleans: a quoted 'false' would
    # silently turn a feature on or off. YAML's own true/false is the only spelling taken.
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not a boolean; write true or false, unquoted")
    return value


Flag = Annotated[bool, BeforeValidator(_strict_bool)]
"""A boolean key: YAML true/false only."""


def ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 address") from exc


IPv4 = Annotated[str, AfterValidator(ipv4)]


def resource_id(value: str) -> str:
    if not value or value != value.strip() or not value.isprintable():
        raise ValueError(f"{value!r} is not a resource id (empty, spaces or control characters)")
    return value


ResourceId = Annotated[str, AfterValidator(resource_id)]


Cidr = Annotated[str, AfterValidator(lambda v: str(_canonical_cidr(v)))]
"""An IPv4 CIDR in canonical form, kept as text so the model round-trips to YAML unchanged."""


def _domain(value: str) -> str:
    try:
        return check_egress_domain(value)
    except DomainError as exc:
        raise ValueError(str(exc)) from exc


EgressDomain = Annotated[str, AfterValidator(_domain)]

_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _label_value(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 63:
        raise ValueError(f"{value!r} is longer than 63 characters (Kubernetes label value limit)")
    if not _LABEL_VALUE.match(value):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes label value "
            "(alphanumerics, '-', '_', '.'; must start and end with an alphanumeric)"
        )
    return value


def _dns_label(value: str, what: str = "Kubernetes namespace") -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid {what} "
            "(lowercase alphanumerics and '-', at most 63 characters)"
        )
    return value


LabelValue = Annotated[str, AfterValidator(_label_value)]
Namespace = Annotated[str, AfterValidator(_dns_label)]


def _version(value: str) -> str:
    parse_controller_version(value)
    return value.strip()


Version = Annotated[str, AfterValidator(_version)]


def _chart_version(value: str) -> str:
    if not is_pinned_chart_version(value):
        raise ValueError(
            f"{value!r} is not a pinned chart version; give an exact semver such as 10.1.0 "
            "(ranges and 'latest' make previews non-reproducible)"
        )
    return value


ChartVersion = Annotated[str, AfterValidator(_chart_version)]


# --- sections ---------------------------------------------------------------------------------


class Cloud(StrEnum):
    AZURE = "azure"
    AWS = "aws"


class Mode(StrEnum):
    MONITOR = "monitor"
    ENFORCE = "enforce"


class Routing(StrEnum):
    """How the workload subnet's default route reaches the gateway.

    ``udr``: an explicit 0.0.0.0/0 route to the gateway's private IP (lockable; the default).
    ``controller``: the route table starts fail-closed (next hop None / blackhole) and the
    Aviatrix controller programs the real routes; drift on the routes is ignored.
    """

    UDR = "udr"
    CONTROLLER = "controller"


class PodIdentity(StrEnum):
    """How per-server SmartGroups select MCP server pods.

    ``labels``: Kubernetes label SmartGroups (needs the cluster onboarded and resolving pods).
    ``cidr``: /32 pod CIDRs per server, the fallback for EKS clusters that show "Partial".
    """

    LABELS = "labels"
    CIDR = "cidr"


class Controller(_Model):
    version: Version
    account_name: str = Field(min_length=1)
    owns_controller_wide: Flag = False
    """Exactly one stack per controller owns the default action rule and other singletons."""

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return parse_controller_version(self.version)


class Network(_Model):
    region: str = Field(min_length=1)
    cidr: Cidr
    gateway_subnet: Cidr
    agent_subnet: Cidr
    """Foundry agents (delegated subnet) or the cluster's nodes."""
    pod_subnet: Cidr | None = None
    """Pod IPs when they are not taken from the agent subnet (Azure CNI pod subnet, EKS custom
    networking). Platform permits are scoped to nodes; without a separate pod subnet they also
    reach MCP server pods, which analysis reports."""
    ha_gateway_subnet: Cidr | None = None
    """AWS only: the HA gateway lives in a second public subnet in another AZ."""
    private_endpoint_subnet: Cidr | None = None
    routing: Routing = Routing.UDR
    availability_zones: tuple[str, ...] = ()
    """AWS: zone of the gateway subnet, then of the HA subnet (defaults: region + a, b)."""


class Gateway(_Model):
    size: str = Field(min_length=1)
    ha: Flag = False
    transit_gateway: str | None = None
    name: str | None = None
    """Defaults to ``<environment>-mcp-spoke``."""


class ToolCalls(_Model):
    domains: tuple[EgressDomain, ...] = ()
    decrypt: Flag = False


class Egress(_Model):
    default_action: Action = Action.DENY
    mode: Mode = Mode.MONITOR
    rule_modes: dict[str, Mode] = Field(default_factory=dict)
    tool_calls: ToolCalls = ToolCalls()
    east_west: tuple[Cidr, ...] = ()
    threat_feed: tuple[str, ...] = ()
    """Simulation only: what the Aviatrix-managed threat group is taken to match (hostnames,
    ``*.`` wildcards, IPv4 addresses or CIDRs)."""
    syslog: str | None = None
    """Remote syslog / CoPilot target (host:port) for the audit trail; informational here."""

    @field_validator("threat_feed")
    @classmethod
    def _feed(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for entry in value:
            try:
                out.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
                continue
            except ValueError:
                pass
            try:
                out.append(check_egress_domain(entry))
            except DomainError as exc:
                raise ValueError(f"threat feed entry {exc}") from exc
        return tuple(out)


class Foundry(_Model):
    enabled: Flag = False
    account_name: str | None = None
    """AIServices account name; defaults to ``<environment>-foundry``."""
    project_name: str = "agents"


class Obot(_Model):
    chart_version: ChartVersion = "v0.21.0"
    namespace: Namespace = "obot-system"
    mcp_namespace: Namespace = "obot-mcp"
    default_deny_all_egress: Flag = True
    network_policy_provider_version: ChartVersion = "v0.0.1"


class K8sFirewall(_Model):
    chart_version: ChartVersion = "10.1.0"
    namespace: Namespace = "aviatrix-system"


class Kubernetes(_Model):
    enabled: Flag = False
    cluster_name: str | None = None
    cluster_id: str | None = None
    """EKS cluster ARN or AKS resource id, used to onboard the cluster into the controller."""
    api_server_ip: str | None = None
    """AKS API server address: it gets its own /32 permit (a bare IP has no SNI)."""
    pod_identity: PodIdentity = PodIdentity.LABELS
    obot: Obot = Obot()
    k8s_firewall: K8sFirewall = Field(default=K8sFirewall(), alias="k8sFirewall")

    @field_validator("api_server_ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IPv4 address") from exc


class McpServer(_Model):
    name: LabelValue
    egress_domains: tuple[EgressDomain, ...] = ()
    deny_all_egress: Flag = False
    pod_cidrs: tuple[Cidr, ...] = ()
    """Only with ``kubernetes.podIdentity: cidr``: the server's pod addresses."""


class Lock(_Model):
    """The committed network lock, written by ``containment lock``."""

    agent_subnet_cidr: Cidr
    agent_subnet_id: ResourceId | None = None
    """Known once deployed: ``containment lock --from-outputs`` records it."""
    routes: tuple[LockedRoute, ...] = ()
    gateway_private_ip: IPv4 | None = None
    capability_host_subnet: ResourceId | None = None
    teardown_acknowledged: str | None = Field(default=None, min_length=1)
    """Set to a reason (ticket, date) to accept a network change that forces a Foundry teardown."""


class LockedRoute(_Model):
    address_prefix: Cidr
    next_hop_type: str = Field(min_length=1)
    next_hop_ip_address: IPv4 | None = None


Lock.model_rebuild()


Environment = Annotated[str, AfterValidator(lambda v: _dns_label(v, "environment name"))]
"""Used in resource names, so it follows the strictest naming rule those names meet."""


class Spec(_Model):
    cloud: Cloud
    environment: Environment
    controller: Controller
    network: Network
    gateway: Gateway
    egress: Egress = Egress()
    foundry: Foundry = Foundry()
    kubernetes: Kubernetes = Kubernetes()
    mcp_servers: tuple[McpServer, ...] = ()
    lock: Lock | None = None

    @property
    def is_production(self) -> bool:
        return self.environment in PRODUCTION_ENVIRONMENTS

    @property
    def transit_attached(self) -> bool:
        return bool(self.gateway.transit_gateway)

    @property
    def gateway_name(self) -> str:
        return self.gateway.name or f"{self.environment}-mcp-spoke"


SECTIONS: dict[str, object] = {
    "cloud": Cloud,
    "environment": Environment,
    "controller": Controller,
    "network": Network,
    "gateway": Gateway,
    "egress": Egress,
    "foundry": Foundry,
    "kubernetes": Kubernetes,
    "mcpServers": McpServer,  # parsed item by item, so one bad server hides no other problem
    "lock": Lock,
}
REQUIRED_SECTIONS = ("cloud", "environment", "controller", "network", "gateway")
