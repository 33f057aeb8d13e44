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
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from ..core.fqdn import DomainError, check_egress_domain, check_platform_pattern, is_overbroad
from ..core.model import Action
from ..core.obot import MAX_SHORT_DESCRIPTION, MAX_STARTUP_TIMEOUT, Runtime, is_dns1123_subdomain
from ..core.privatelink import AI_SERVICES, DEPENDENCY_SERVICES, KEY_VAULT, ArmId, Dependency
from ..core.versions import K8S_FIREWALL_CHART, is_pinned_chart_version, parse_controller_version

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


def _platform_pattern(value: str) -> str:
    try:
        pattern = check_platform_pattern(value)
    except DomainError as exc:
        raise ValueError(str(exc)) from exc
    if is_overbroad(pattern):
        raise ValueError(f"{value!r} matches far too much (a whole public suffix)")
    return pattern


PlatformPattern = Annotated[str, AfterValidator(_platform_pattern)]
"""A platform WebGroup entry: a hostname, a leading ``*.`` or Aviatrix's infix ``*``."""

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
            f"{value!r} is not a pinned chart version; give an exact semver such as 10.0.0 "
            "(ranges and 'latest' make previews non-reproducible)"
        )
    return value


ChartVersion = Annotated[str, AfterValidator(_chart_version)]


def _arm_id(value: str) -> str:
    return str(ArmId.parse(value))


ArmResourceId = Annotated[str, AfterValidator(_arm_id)]
"""A top-level ARM resource id; its resource type is checked where the key says which."""

_KEY_VAULT_NAME = re.compile(r"^[A-Za-z0-9-]{1,56}$")


def _key_vault_object_name(value: str) -> str:
    if not _KEY_VAULT_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a Key Vault object name (letters, digits and '-', at most 56 "
            "characters: the stack adds -<environment>-public, within Key Vault's 127)"
        )
    return value


KeyVaultObjectName = Annotated[str, AfterValidator(_key_vault_object_name)]


_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_KEY = re.compile(r"^[A-Za-z0-9-]+$")


def _entry_key(value: str) -> str:
    if len(value) > 63 or not is_dns1123_subdomain(value):
        raise ValueError(
            f"{value!r} is not a valid catalog entry key (lowercase alphanumerics, '-' and '.', "
            "starting and ending with an alphanumeric, at most 63 characters)"
        )
    return value


EntryKey = Annotated[str, AfterValidator(_entry_key)]


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{value!r} is not an https:// URL")
    if parts.username or parts.password:
        raise ValueError(f"{value!r} carries credentials; they belong in Pulumi secrets")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r} has a query or fragment")
    return value


HttpsUrl = Annotated[str, AfterValidator(_https_url)]


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Nonblank = Annotated[str, AfterValidator(_nonblank)]
StartupTimeout = Annotated[int, Field(ge=0, le=MAX_STARTUP_TIMEOUT)]


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
    """How the SmartGroups of ``mcpWorkloads`` select their pods (Obot's network-policy
    controller always selects Obot's servers by label).

    ``labels``: Kubernetes label SmartGroups (needs the cluster onboarded and resolving pods).
    ``cidr``: /32 pod CIDRs per workload, the fallback for EKS clusters that show "Partial".
    """

    LABELS = "labels"
    CIDR = "cidr"


NamePrefix = Annotated[str, AfterValidator(lambda v: _dns_label(v, "name prefix"))]
"""What every controller-scope name of a stack starts with (its length is checked against
the name limit in :mod:`mcp_containment.config.validate`)."""


class Controller(_Model):
    version: Version
    account_name: str = Field(min_length=1)
    owns_controller_wide: Flag = False
    """Exactly one stack per controller owns the controller-wide objects: the DCF switch, the
    default action and the policy tree at the controller's Terraform attachment points."""
    name_prefix: NamePrefix | None = None
    """Starts every controller-scope name of this stack (groups, rulesets, attachment points);
    defaults to the environment. Two stacks on one controller need different prefixes."""
    shared_with: tuple[NamePrefix, ...] = ()
    """Owner only: the name prefixes of the other stacks on this controller. Each gets its own
    attachment point under every Terraform attachment point, evaluated in this order after the
    owner's own."""
    after_kubernetes_point: Flag = False
    """The controller has ``TERRAFORM_AFTER_K8S_MANAGED`` (after the Kubernetes-managed rules).
    No provider release documents it yet, so it is off unless declared."""
    attachment_points: dict[str, str] = Field(default_factory=dict)
    """Attachment point name -> id, for points whose name lookup is unreliable on this
    controller; only points this stack attaches to may be named."""

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
    ha_agent_subnet: Cidr | None = None
    """AWS only: the workload (node) subnet in the second zone, beside the HA gateway. An EKS
    cluster needs subnets in two zones; routed like ``agent_subnet``, the same workloads."""
    ha_pod_subnet: Cidr | None = None
    """AWS only, with ``pod_subnet``: the pod subnet in the second zone (EKS custom
    networking takes a pod subnet in each zone its nodes run in)."""
    private_endpoint_subnet: Cidr | None = None
    routing: Routing = Routing.UDR
    availability_zones: tuple[str, ...] = ()
    """AWS: zone of the gateway and first workload subnets, then of the HA gateway and
    second-zone workload subnets (defaults: region + a, b)."""

    @property
    def agent_subnets(self) -> tuple[str, ...]:
        """The workload (node) subnets, zone by zone: one on Azure (regional), two on AWS
        when ``ha_agent_subnet`` is set."""
        return (self.agent_subnet, *((self.ha_agent_subnet,) if self.ha_agent_subnet else ()))

    @property
    def pod_ranges(self) -> tuple[str, ...]:
        """Where pods get their addresses, zone by zone: the pod subnets, or the node subnets
        when pods share them."""
        if self.pod_subnet is None:
            return self.agent_subnets
        return (self.pod_subnet, *((self.ha_pod_subnet,) if self.ha_pod_subnet else ()))


class Gateway(_Model):
    size: str = Field(min_length=1)
    ha: Flag = False
    transit_gateway: str | None = None
    name: str | None = None
    """Defaults to ``<controller.namePrefix>-mcp-spoke`` (gateway names are controller-wide)."""


class ToolCalls(_Model):
    domains: tuple[EgressDomain, ...] = ()
    decrypt: Flag = False


class ExtraBand(StrEnum):
    """Where an extra rule goes in the evaluation order."""

    PLATFORM = "platform"
    """With the platform permits: before the UI's rules and the Kubernetes band, after the
    threat-intel deny and the library's own permits."""
    TERMINAL = "terminal"
    """With the terminal denies, just before the default deny."""


class ExtraSource(StrEnum):
    """Whose traffic an extra rule matches: groups the stack already defines."""

    WORKLOADS = "workloads"
    NODES = "nodes"
    OBOT_SYSTEM = "obot-system"


_RULE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class ExtraRule(_Model):
    """A rule of your own in a named band of the base rulebase, judged by the same analysis
    as the library's (a permit to all of the internet, a shadowed rule, a deny before the
    band that would shadow a server's permit)."""

    name: str = Field(pattern=_RULE_NAME.pattern)
    action: Action
    band: ExtraBand = ExtraBand.PLATFORM
    source: ExtraSource = ExtraSource.NODES
    domains: tuple[PlatformPattern, ...] = ()
    """Hostnames (SNI) it matches, as a WebGroup: TCP only, TLS required."""
    cidrs: tuple[Cidr, ...] = ()
    """Addresses it matches, as a SmartGroup."""
    protocol: Literal["tcp", "udp", "icmp", "any"] = "tcp"
    ports: tuple[Annotated[int, Field(ge=1, le=65535)], ...] = (443,)


class PlatformExtensions(_Model):
    """Entries added to the packaged platform lists (a mirror, a private registry)."""

    aca_fqdns: tuple[PlatformPattern, ...] = ()
    cluster_infra: tuple[PlatformPattern, ...] = ()
    obot_system: tuple[PlatformPattern, ...] = ()


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
    extra_rules: tuple[ExtraRule, ...] = ()
    platform: PlatformExtensions = PlatformExtensions()

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


class FoundryDependencies(_Model):
    """Existing resources the agents use, by ARM id. Each gets a private endpoint in
    ``network.privateEndpointSubnet`` and its ``privatelink.*`` zones linked to the spoke."""

    ai_services: ArmResourceId | None = None
    """An Azure AI Services / Azure OpenAI account besides the stack's own Foundry account."""
    storage: ArmResourceId | None = None
    ai_search: ArmResourceId | None = None
    cosmos_db: ArmResourceId | None = None


class GeneratedCa(_Model):
    common_name: str = Field(default="mcp-containment egress decryption CA", min_length=1)
    validity_days: int = Field(default=365, ge=1, le=3650)


class DecryptionCa(_Model):
    """The gateway's TLS-decryption CA: what agents must trust for decrypted tool calls."""

    key_vault_id: ArmResourceId
    """The vault agents read the public certificate from (Azure RBAC authorization)."""
    certificate_name: KeyVaultObjectName
    """An existing Key Vault certificate (with ``certificate``), or the base name of the
    secrets a generated CA is stored under (with ``generate``)."""
    certificate: str | None = None
    """The existing certificate's public PEM, committed: checked to be a valid CA."""
    generate: GeneratedCa | None = None


class Foundry(_Model):
    enabled: Flag = False
    account_name: str | None = None
    """AIServices account name; defaults to ``<environment>-foundry``."""
    project_name: str = "agents"
    dependencies: FoundryDependencies = FoundryDependencies()
    decryption_ca: DecryptionCa | None = None


class Obot(_Model):
    chart_version: ChartVersion = "v0.21.0"
    namespace: Namespace = "obot-system"
    mcp_namespace: Namespace = "obot-mcp"
    default_deny_all_egress: Flag = True
    network_policy_provider_version: ChartVersion = "v0.0.1"
    url: HttpsUrl | None = None
    """Obot's base URL: its admin API registers the catalog (``pulumi up``) and serves
    ``containment verify``. The API key is the Pulumi secret ``obot:apiKey``."""
    catalog_source: HttpsUrl | None = None
    """The git repository (``https://github.com/ORG/REPO[/BRANCH]``) holding the output of
    ``containment catalog``; ``pulumi up`` registers it in Obot's default catalog."""


class K8sFirewall(_Model):
    chart_version: ChartVersion = K8S_FIREWALL_CHART
    """The newest version the chart repository publishes (10.1.0 is in git, not released)."""
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


# --- MCP servers: Obot catalog entries ---------------------------------------------------------


class EnvVar(_Model):
    """A value Obot asks for when a user configures the server (never the value itself)."""

    key: str = Field(pattern=_ENV_KEY.pattern)
    name: str | None = None
    """Shown to users; defaults to ``key``."""
    description: str = ""
    required: Flag = False
    sensitive: Flag = False
    file: Flag = False


class Header(_Model):
    """A header Obot sends to a remote server, supplied by each user."""

    key: str = Field(pattern=_HEADER_KEY.pattern)
    name: str | None = None
    description: str = ""
    required: Flag = False
    sensitive: Flag = False


class NpxConfig(_Model):
    package: Nonblank
    args: tuple[Nonblank, ...] = ()
    startup_timeout_seconds: StartupTimeout | None = None


class UvxConfig(_Model):
    package: Nonblank
    command: str | None = None
    args: tuple[Nonblank, ...] = ()
    startup_timeout_seconds: StartupTimeout | None = None


class ContainerizedConfig(_Model):
    image: Nonblank
    port: int = Field(ge=1, le=65535)
    path: Nonblank
    command: str | None = None
    args: tuple[Nonblank, ...] = ()
    healthz_path: str | None = None
    startup_timeout_seconds: StartupTimeout | None = None


class RemoteConfig(_Model):
    """Exactly one of ``fixedURL`` and ``hostname`` (a user's URL must be on that host)."""

    fixed_url: str | None = Field(default=None, alias="fixedURL")
    hostname: str | None = None
    headers: tuple[Header, ...] = ()


_DECLARABLE_RUNTIMES = frozenset(r.value for r in Runtime if r is not Runtime.COMPOSITE)


class McpServer(_Model):
    """One Obot catalog entry: how Obot runs the server, and where it may connect."""

    name: EntryKey
    """The entry's ``entryKey`` and file name; stands in for Obot's generated server name
    (``ms1...``) in the planned Kubernetes band."""
    display_name: str | None = None
    """Obot's ``name`` (defaults to ``name``); Obot derives the entry's id from it."""
    short_description: str = Field(default="", max_length=MAX_SHORT_DESCRIPTION)
    description: str = ""
    icon: str | None = None
    repo_url: str | None = Field(default=None, alias="repoURL")
    categories: str | None = None
    server_user_type: Literal["singleUser", "multiUser"] = "singleUser"
    runtime: Runtime
    npx_config: NpxConfig | None = None
    uvx_config: UvxConfig | None = None
    containerized_config: ContainerizedConfig | None = None
    remote_config: RemoteConfig | None = None
    env: tuple[EnvVar, ...] = ()
    egress_domains: tuple[EgressDomain, ...] = ()
    """npx, uvx and containerized only: what the server's pods may reach on TCP/443."""
    deny_all_egress: Flag | None = None
    """Unset: Obot's ``kubernetes.obot.defaultDenyAllEgress`` applies when no domain is
    listed. Set, it is written into the entry."""

    @field_validator("runtime", mode="before")
    @classmethod
    def _supported(cls, value: object) -> object:
        if value == Runtime.COMPOSITE.value:
            raise ValueError(
                "composite servers are assembled in Obot from other entries; declare their "
                "components here and compose them in Obot"
            )
        if value not in _DECLARABLE_RUNTIMES:
            raise ValueError(
                f"unknown runtime {value!r} (one of {', '.join(sorted(_DECLARABLE_RUNTIMES))})"
            )
        return value

    @property
    def title(self) -> str:
        return self.display_name if self.display_name is not None else self.name


class McpWorkload(_Model):
    """An MCP server Obot does not manage (your own Deployment): this library declares its
    FirewallPolicy, selecting its pods by the labels given."""

    name: LabelValue
    namespace: Namespace
    pod_labels: dict[str, LabelValue] = Field(min_length=1)
    egress_domains: tuple[EgressDomain, ...] = ()
    deny_all_egress: Flag = False
    """With no ``egressDomains`` the workload gets the deny rule alone either way."""
    pod_cidrs: tuple[Cidr, ...] = ()
    """Only with ``kubernetes.podIdentity: cidr``: the workload's pod addresses."""

    @field_validator("pod_labels")
    @classmethod
    def _label_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            _label_key(key)
        return value


_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def _label_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if (prefix and not is_dns1123_subdomain(prefix)) or not _LABEL_NAME.match(name):
        raise ValueError(f"{key!r} is not a valid Kubernetes label key")


class Lock(_Model):
    """The committed network lock, written by ``containment lock``."""

    agent_subnet_cidr: Cidr
    agent_subnet_id: ResourceId | None = None
    """Known once deployed: ``containment lock --from-outputs`` records it."""
    ha_agent_subnet_cidr: Cidr | None = None
    """AWS: the second-zone workload subnet (``network.haAgentSubnet``), when declared."""
    ha_agent_subnet_id: ResourceId | None = None
    """Known once deployed, like ``agent_subnet_id``."""
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
    mcp_workloads: tuple[McpWorkload, ...] = ()
    lock: Lock | None = None
    protect: Flag | None = None
    """Protect the network, gateway and Foundry resources; defaults to production only."""

    @property
    def is_production(self) -> bool:
        return self.environment in PRODUCTION_ENVIRONMENTS

    @property
    def protected(self) -> bool:
        return self.is_production if self.protect is None else self.protect

    @property
    def transit_attached(self) -> bool:
        return bool(self.gateway.transit_gateway)

    @property
    def name_prefix(self) -> str:
        """What this stack's controller-scope names start with."""
        return self.controller.name_prefix or self.environment

    @property
    def k8s_cluster_id(self) -> str | None:
        """The cluster id as the controller keys it: an AKS resource id lower-cased (the
        provider's ``aviatrix_kubernetes_cluster`` docs: "converted to lower case"), an EKS ARN
        as given. Everything that reaches the controller uses this, never the raw value."""
        cluster_id = self.kubernetes.cluster_id
        if cluster_id is None or self.cloud is not Cloud.AZURE:
            return cluster_id
        return cluster_id.lower()

    @property
    def gateway_name(self) -> str:
        # Gateway names are controller-wide too: two spokes of one environment differ by prefix.
        return self.gateway.name or f"{self.name_prefix}-mcp-spoke"

    @property
    def foundry_account_name(self) -> str:
        return self.foundry.account_name or f"{self.environment}-foundry"

    def private_dependencies(self) -> tuple[Dependency, ...]:
        """Everything the agents reach over a private endpoint (see
        :func:`private_dependencies`)."""
        return private_dependencies(self.environment, self.foundry)


def private_dependencies(environment: str, foundry: Foundry) -> tuple[Dependency, ...]:
    """In declaration order: the stack's own Foundry account, the declared dependencies, the
    decryption CA's vault. Ids of the wrong type are validated elsewhere, never dropped here."""
    if not foundry.enabled:
        return ()
    account = foundry.account_name or f"{environment}-foundry"
    out = [Dependency("foundryAccount", AI_SERVICES, None, account)]
    for service in DEPENDENCY_SERVICES:
        value = getattr(foundry.dependencies, _snake(service.key))
        if value is not None:
            out.append(Dependency(service.key, service, value, ArmId.parse(value).name))
    ca = foundry.decryption_ca
    if ca is not None:
        vault = ArmId.parse(ca.key_vault_id).name
        out.append(Dependency("decryptionCaVault", KEY_VAULT, ca.key_vault_id, vault))
    return tuple(out)


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
    "mcpWorkloads": McpWorkload,
    "lock": Lock,
    "protect": Flag,
}


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


REQUIRED_SECTIONS = ("cloud", "environment", "controller", "network", "gateway")
