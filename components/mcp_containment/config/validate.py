"""Turn raw stack config into a :class:`~mcp_containment.spec.Spec`, or say all that is wrong.

Each top-level section is parsed on its own, so a bad CIDR in ``network`` and a bad domain in
``mcpServers`` are reported together; then the cross-key checks run over the sections that
parsed. Nothing is returned unless every check passes, so no resource is ever declared from a
half-valid config.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError

from ..core import fqdn, names, privatelink
from ..core.model import TERRAFORM_LAYERS, Action, Layer
from ..core.obot import Runtime, sanitize_name
from ..core.privatelink import ArmId
from ..core.versions import (
    AVIATRIX_PROVIDER,
    MIN_DECRYPT_CONTROLLER,
    controller_release,
    provider_controller_release,
)
from . import regions
from .schema import (
    REQUIRED_SECTIONS,
    SECTIONS,
    Cloud,
    Controller,
    DecryptionCa,
    Egress,
    Foundry,
    Gateway,
    Kubernetes,
    Lock,
    McpServer,
    McpWorkload,
    Network,
    PodIdentity,
    RemoteConfig,
    Spec,
    private_dependencies,
)


@dataclass(frozen=True, slots=True)
class Issue:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(ValueError):
    """The config is invalid; ``issues`` lists every problem found, each with its key path."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("invalid stack config:\n" + "\n".join(f"  {i}" for i in self.issues))


def _path(loc: Sequence[int | str], root: str) -> str:
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(tp)  # type: ignore[arg-type]
    for name, tp in SECTIONS.items()
}


def _parse_sections(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Issue]]:
    parsed: dict[str, Any] = {}
    issues: list[Issue] = []
    for key in raw:
        if key not in SECTIONS:
            known = ", ".join(SECTIONS)
            issues.append(Issue(str(key), f"unknown key (known keys: {known})"))
    for key in REQUIRED_SECTIONS:
        if key not in raw or raw[key] is None:
            issues.append(Issue(key, "is required"))
    for key, adapter in _ADAPTERS.items():
        value = raw.get(key)
        if value is None:
            continue
        if key in LIST_SECTIONS:
            if not isinstance(value, list):
                issues.append(Issue(key, f"must be a list of {LIST_SECTIONS[key]}"))
                continue
            # Item by item: a malformed server must not hide a duplicate name elsewhere.
            items: list[tuple[int, Any]] = []
            for i, item in enumerate(value):
                try:
                    items.append((i, adapter.validate_python(item)))
                except ValidationError as exc:
                    issues.extend(_issues(exc, f"{key}[{i}]"))
            parsed[key] = tuple(items)
            continue
        try:
            parsed[key] = adapter.validate_python(value)
        except ValidationError as exc:
            issues.extend(_issues(exc, key))
    return parsed, issues


LIST_SECTIONS = {"mcpServers": "servers", "mcpWorkloads": "workloads"}


def _issues(exc: ValidationError, root: str) -> list[Issue]:
    out = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        out.append(Issue(_path(err["loc"], root), msg))
    return out


# --- cross-key checks -------------------------------------------------------------------------

Check = Callable[[dict[str, Any]], Iterator[Issue]]
_CHECKS: list[tuple[tuple[str, ...], Check]] = []


def _check(*needs: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        _CHECKS.append((needs, fn))
        return fn

    return register


def _net(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


# Azure and AWS both reserve five addresses in every subnet. Each Aviatrix gateway needs its
# own address plus room for the replacement gateway an image upgrade or resize brings up beside
# it, so we budget six per gateway: a single gateway fits a /28, an HA pair sharing one subnet
# (Azure) needs a /27.
RESERVED_PER_SUBNET = 5
ADDRESSES_PER_GATEWAY = 6


def gateways_in_gateway_subnet(cloud: Cloud, ha: bool) -> int:
    return 2 if ha and cloud is Cloud.AZURE else 1


@_check("cloud", "network", "gateway")
def _network_layout(p: dict[str, Any]) -> Iterator[Issue]:
    cloud: Cloud = p["cloud"]
    net: Network = p["network"]
    gw: Gateway = p["gateway"]
    spoke = _net(net.cidr)
    subnets = {
        "gatewaySubnet": net.gateway_subnet,
        "agentSubnet": net.agent_subnet,
        "podSubnet": net.pod_subnet,
        "haGatewaySubnet": net.ha_gateway_subnet,
        "privateEndpointSubnet": net.private_endpoint_subnet,
        "haAgentSubnet": net.ha_agent_subnet,
        "haPodSubnet": net.ha_pod_subnet,
    }
    present = {k: _net(v) for k, v in subnets.items() if v is not None}
    for key, sub in present.items():
        if not sub.subnet_of(spoke):
            yield Issue(f"network.{key}", f"{sub} is outside network.cidr {spoke}")
    keys = list(present)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if present[a].overlaps(present[b]):
                yield Issue(f"network.{b}", f"{present[b]} overlaps network.{a} {present[a]}")
    gws = gateways_in_gateway_subnet(cloud, gw.ha)
    need = RESERVED_PER_SUBNET + ADDRESSES_PER_GATEWAY * gws
    gsub = present["gatewaySubnet"]
    if gsub.num_addresses < need:
        what = "an HA gateway pair" if gws == 2 else "a gateway"
        yield Issue(
            "network.gatewaySubnet",
            f"{gsub} has {gsub.num_addresses} addresses; {what} needs at least {need} "
            f"({RESERVED_PER_SUBNET} reserved by {cloud.value}, {ADDRESSES_PER_GATEWAY} per "
            "gateway): use a larger prefix",
        )
    if cloud is Cloud.AWS and gw.ha and net.ha_gateway_subnet is None:
        yield Issue(
            "network.haGatewaySubnet",
            "is required on AWS when gateway.ha is true (the HA gateway runs in a second AZ)",
        )
    if cloud is Cloud.AZURE and net.ha_gateway_subnet is not None:
        yield Issue(
            "network.haGatewaySubnet",
            "is AWS only; on Azure the HA gateway shares network.gatewaySubnet",
        )
    ha_sub = present.get("haGatewaySubnet")
    if ha_sub is not None and ha_sub.num_addresses < RESERVED_PER_SUBNET + ADDRESSES_PER_GATEWAY:
        yield Issue(
            "network.haGatewaySubnet",
            f"{ha_sub} is too small for a gateway; use /28 or larger",
        )
    if cloud is Cloud.AZURE and net.availability_zones:
        yield Issue("network.availabilityZones", "is AWS only")
    if cloud is Cloud.AWS:
        yield from _aws_subnet_sizes(present)


# EC2 CreateSubnet (API reference): "The allowed size for an IPv4 subnet is between a /28
# netmask (16 IP addresses) and a /16 netmask (65,536 IP addresses)."
AWS_SUBNET_PREFIXES = (16, 28)


def _aws_subnet_sizes(present: Mapping[str, ipaddress.IPv4Network]) -> Iterator[Issue]:
    low, high = AWS_SUBNET_PREFIXES
    for key, sub in present.items():
        if not low <= sub.prefixlen <= high:
            yield Issue(
                f"network.{key}",
                f"{sub} is a /{sub.prefixlen}; an AWS subnet is /{low} to /{high}",
            )


_SECOND_ZONE = {"haAgentSubnet": "agentSubnet", "haPodSubnet": "podSubnet"}


@_check("cloud", "network", "kubernetes")
def _second_zone(p: dict[str, Any]) -> Iterator[Issue]:
    """AWS subnets live in one zone: a cluster's workloads need their subnets in a second
    one (an EKS cluster takes subnets in at least two zones, and custom networking a pod
    subnet in every zone its nodes run in). Azure subnets are regional."""
    net: Network = p["network"]
    given = {"haAgentSubnet": net.ha_agent_subnet, "haPodSubnet": net.ha_pod_subnet}
    if p["cloud"] is Cloud.AZURE:
        for key, value in given.items():
            if value is not None:
                yield Issue(
                    f"network.{key}",
                    f"is AWS only: an Azure subnet is regional (it spans every zone), so "
                    f"network.{_SECOND_ZONE[key]} already serves them all",
                )
        return
    if p["kubernetes"].enabled and net.ha_agent_subnet is None:
        yield Issue(
            "network.haAgentSubnet",
            "is required on AWS when kubernetes.enabled is true: an EKS cluster needs subnets "
            "in at least two availability zones; this one is the nodes' subnet in "
            "network.availabilityZones[1]",
        )
    if net.ha_pod_subnet is not None and net.pod_subnet is None:
        yield Issue(
            "network.haPodSubnet",
            "is set while network.podSubnet is not: pods have a subnet in the second zone "
            "only when they have one in the first (EKS custom networking)",
        )
    elif net.ha_pod_subnet is not None and net.ha_agent_subnet is None:
        yield Issue(
            "network.haPodSubnet",
            "needs network.haAgentSubnet: pods get addresses in the zone of their node",
        )
    elif net.pod_subnet and net.ha_agent_subnet and net.ha_pod_subnet is None:
        yield Issue(
            "network.haPodSubnet",
            "is required with network.podSubnet and network.haAgentSubnet: EKS custom "
            "networking takes a pod subnet (an ENIConfig) in each zone the nodes run in",
        )


@_check("cloud", "network")
def _region(p: dict[str, Any]) -> Iterator[Issue]:
    cloud: Cloud = p["cloud"]
    region = p["network"].region
    if region not in regions.REGIONS[cloud]:
        other = Cloud.AWS if cloud is Cloud.AZURE else Cloud.AZURE
        hint = f" (that is an {other.value} region)" if region in regions.REGIONS[other] else ""
        yield Issue("network.region", f"{region!r} is not a known {cloud.value} region{hint}")


_SIZE = {
    Cloud.AZURE: (
        re.compile(r"^Standard_[A-Za-z0-9_]+$"),
        "an Azure VM size such as Standard_D3_v2",
    ),
    Cloud.AWS: (
        re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"),
        "an EC2 instance type such as c5.xlarge",
    ),
}


@_check("cloud", "gateway")
def _gateway_size(p: dict[str, Any]) -> Iterator[Issue]:
    cloud: Cloud = p["cloud"]
    regex, want = _SIZE[cloud]
    size = p["gateway"].size
    if not regex.match(size):
        yield Issue("gateway.size", f"{size!r} is not {want}")


@_check("network", "egress")
def _east_west(p: dict[str, Any]) -> Iterator[Issue]:
    spoke = _net(p["network"].cidr)
    eg: Egress = p["egress"]
    for i, cidr in enumerate(eg.east_west):
        if _net(cidr).overlaps(spoke):
            yield Issue(
                f"egress.eastWest[{i}]",
                f"{cidr} overlaps this spoke's own network.cidr {spoke}; list adjacent spokes only",
            )


@_check("cloud", "foundry")
def _foundry_cloud(p: dict[str, Any]) -> Iterator[Issue]:
    if p["foundry"].enabled and p["cloud"] is not Cloud.AZURE:
        yield Issue("foundry.enabled", "Foundry agents run on Azure only (cloud is aws)")


@_check("cloud", "environment", "network", "foundry")
def _private_endpoints(p: dict[str, Any]) -> Iterator[Issue]:
    """Every dependency of the agents has room for its endpoint, and is what its key says."""
    foundry: Foundry = p["foundry"]
    net: Network = p["network"]
    declared = foundry.dependencies.model_dump(by_alias=True, exclude_none=True)
    if declared and not foundry.enabled:
        yield Issue(
            "foundry.dependencies", "declares agent dependencies, but foundry.enabled is false"
        )
        return
    if not foundry.enabled or p["cloud"] is not Cloud.AZURE:
        return
    for key, value in declared.items():
        want = privatelink.SERVICES[key]
        got = ArmId.parse(value)
        if not got.is_type(want.resource_type):
            yield Issue(
                f"foundry.dependencies.{key}",
                f"is a {got.resource_type} id; {key} takes a {want.resource_type} ({want.label})",
            )
    if net.private_endpoint_subnet is None:
        yield Issue(
            "network.privateEndpointSubnet",
            "is required when foundry.enabled is true: the Foundry account (public access "
            "disabled) and every dependency are reached through private endpoints in it",
        )
        return
    deps = private_dependencies(p["environment"], foundry)
    need = privatelink.subnet_addresses_needed(deps)
    subnet = _net(net.private_endpoint_subnet)
    if subnet.num_addresses < need:
        listed = ", ".join(f"{d.key} ({d.service.addresses})" for d in deps)
        yield Issue(
            "network.privateEndpointSubnet",
            f"{subnet} has {subnet.num_addresses} addresses; {len(deps)} private endpoints "
            f"need at least {need} ({privatelink.RESERVED_PER_SUBNET} reserved by Azure, "
            f"twice the addresses of {listed}, so a replaced endpoint fits beside the old "
            "one): use a larger prefix",
        )


@_check("foundry", "controller")
def _decryption_ca(p: dict[str, Any]) -> Iterator[Issue]:
    foundry: Foundry = p["foundry"]
    ca = foundry.decryption_ca
    if ca is None:
        return
    if not foundry.enabled:
        yield Issue(
            "foundry.decryptionCa", "applies to Foundry agents, but foundry.enabled is false"
        )
        return
    vault = ArmId.parse(ca.key_vault_id)
    if not vault.is_type(privatelink.KEY_VAULT.resource_type):
        yield Issue(
            "foundry.decryptionCa.keyVaultId",
            f"is a {vault.resource_type} id; give a {privatelink.KEY_VAULT.resource_type} id",
        )
    yield from _ca_source(ca, p["controller"])


def _ca_source(ca: DecryptionCa, controller: Controller) -> Iterator[Issue]:
    if (ca.certificate is None) == (ca.generate is None):
        yield Issue(
            "foundry.decryptionCa",
            "give exactly one of certificate (an existing Key Vault certificate's public PEM) "
            "or generate (a CA the stack creates into Key Vault)",
        )
        return
    if ca.certificate is not None:
        # Only a stack that brings its own CA pays for loading the X.509 library.
        from .certificates import CertificateError, load_ca_certificate  # noqa: PLC0415

        try:
            load_ca_certificate(ca.certificate)
        except CertificateError as exc:
            yield Issue("foundry.decryptionCa.certificate", str(exc))
    elif not controller.owns_controller_wide:
        yield Issue(
            "foundry.decryptionCa.generate",
            "a generated CA must be uploaded to the controller, which only the stack that owns "
            "controller-wide objects does (controller.ownsControllerWide); give that stack's "
            "CA as certificate instead",
        )


@_check("foundry", "kubernetes")
def _one_workload_kind(p: dict[str, Any]) -> Iterator[Issue]:
    if p["foundry"].enabled and p["kubernetes"].enabled:
        yield Issue(
            "kubernetes.enabled",
            "a stack contains either Foundry agents or a Kubernetes cluster on its agent subnet, "
            "not both; use one stack per spoke",
        )


@_check("egress", "foundry")
def _tool_calls(p: dict[str, Any]) -> Iterator[Issue]:
    foundry: Foundry = p["foundry"]
    eg: Egress = p["egress"]
    if eg.tool_calls.domains and not foundry.enabled:
        yield Issue(
            "egress.toolCalls.domains",
            "applies to Foundry agents, but foundry.enabled is false; MCP servers declare "
            "their own mcpServers[].egressDomains",
        )


@_check("egress", "foundry", "kubernetes", "gateway", "network", "controller", "mcpServers")
def _rule_modes(p: dict[str, Any]) -> Iterator[Issue]:
    k8s = p["kubernetes"].enabled
    rules = names.base_rule_names(
        foundry=p["foundry"].enabled,
        kubernetes=k8s,
        api_server=p["kubernetes"].api_server_ip is not None,
        east_west=bool(p["egress"].east_west),
        terminal=not k8s
        or p["network"].pod_subnet is not None
        or p["controller"].after_kubernetes_point,
        remote_mcp=any(s.runtime is Runtime.REMOTE for _, s in p["mcpServers"]),
    )
    rules = (*rules, *(x.name for x in p["egress"].extra_rules))
    for rule in p["egress"].rule_modes:
        if rule not in rules:
            yield Issue(
                f"egress.ruleModes.{rule}",
                f"no rule named {rule!r} in this stack's ruleset (rules: {', '.join(rules)})",
            )


@_check("egress", "kubernetes")
def _extra_rules(p: dict[str, Any]) -> Iterator[Issue]:
    library = set(
        names.base_rule_names(
            foundry=True, kubernetes=True, api_server=True, east_west=True, remote_mcp=True
        )
    ) | {names.FP_ALLOW, names.FP_DENY}
    seen: dict[str, int] = {}
    for i, x in enumerate(p["egress"].extra_rules):
        where = f"egress.extraRules[{i}]"
        if x.name in library:
            yield Issue(f"{where}.name", f"{x.name!r} is a rule of the library's own")
        elif x.name in seen:
            yield Issue(f"{where}.name", f"{x.name!r} is also egress.extraRules[{seen[x.name]}]")
        seen.setdefault(x.name, i)
        if bool(x.domains) == bool(x.cidrs):
            yield Issue(where, "give domains (a WebGroup) or cidrs (a SmartGroup), one of them")
        if x.domains and x.protocol != "tcp":
            yield Issue(
                f"{where}.protocol",
                f"is {x.protocol}: a rule on domains matches the TLS SNI, so TCP only",
            )
        if x.source.value == "obot-system" and not p["kubernetes"].enabled:
            yield Issue(f"{where}.source", "obot-system needs kubernetes.enabled")


@_check("egress", "gateway")
def _east_west_needs_transit(p: dict[str, Any]) -> Iterator[Issue]:
    if p["egress"].east_west and not p["gateway"].transit_gateway:
        yield Issue(
            "egress.eastWest",
            "lists adjacent spokes, but gateway.transitGateway is not set: a standalone spoke "
            "has no east-west path to deny",
        )


@_check("kubernetes")
def _kubernetes(p: dict[str, Any]) -> Iterator[Issue]:
    k8s: Kubernetes = p["kubernetes"]
    if not k8s.enabled:
        return
    if not k8s.cluster_name:
        yield Issue("kubernetes.clusterName", "is required when kubernetes.enabled is true")
    if not k8s.cluster_id:
        yield Issue(
            "kubernetes.clusterId",
            "is required when kubernetes.enabled is true (EKS ARN or AKS resource id, used to "
            "onboard the cluster into the controller)",
        )
    if k8s.obot.namespace == k8s.obot.mcp_namespace:
        yield Issue(
            "kubernetes.obot.mcpNamespace",
            "must differ from kubernetes.obot.namespace: MCP servers run in their own namespace",
        )


@_check("mcpServers")
def _servers(p: dict[str, Any]) -> Iterator[Issue]:
    """Entry keys and Obot entry ids unique; each server's runtime block and egress fields."""
    servers: tuple[tuple[int, McpServer], ...] = p["mcpServers"]
    keys: dict[str, int] = {}
    ids: dict[str, int] = {}
    for i, server in servers:
        where = f"mcpServers[{i}]"
        if server.name in keys:
            yield Issue(
                f"{where}.name",
                f"catalog entry key {server.name!r} is used twice "
                f"(also mcpServers[{keys[server.name]}])",
            )
        keys.setdefault(server.name, i)
        sanitized = sanitize_name(server.title)
        if not sanitized:
            yield Issue(
                f"{where}.displayName",
                f"{server.title!r} has no letter or digit; Obot derives the entry's id from it",
            )
        elif sanitized in ids:
            yield Issue(
                f"{where}.displayName",
                f"{server.title!r} gives the same Obot entry id as mcpServers[{ids[sanitized]}] "
                f"(both become {sanitized!r}); Obot would keep only one",
            )
        ids.setdefault(sanitized, i)
        yield from _runtime_block(where, server)
        yield from _server_egress(where, server)


_RUNTIME_BLOCKS = {
    Runtime.NPX: "npxConfig",
    Runtime.UVX: "uvxConfig",
    Runtime.CONTAINERIZED: "containerizedConfig",
    Runtime.REMOTE: "remoteConfig",
}


def _runtime_block(where: str, server: McpServer) -> Iterator[Issue]:
    blocks = {
        "npxConfig": server.npx_config,
        "uvxConfig": server.uvx_config,
        "containerizedConfig": server.containerized_config,
        "remoteConfig": server.remote_config,
    }
    own = _RUNTIME_BLOCKS[server.runtime]
    if blocks[own] is None:
        yield Issue(f"{where}.{own}", f"is required for runtime {server.runtime.value}")
    for key, block in blocks.items():
        if key != own and block is not None:
            yield Issue(f"{where}.{key}", f"is for another runtime (this server's is {own})")


def _server_egress(where: str, server: McpServer) -> Iterator[Issue]:
    if server.runtime is Runtime.REMOTE:
        for key, value in (
            ("egressDomains", server.egress_domains),
            ("denyAllEgress", server.deny_all_egress),
        ):
            if value or value is False:
                yield Issue(
                    f"{where}.{key}",
                    "does not apply to a remote server: it runs no pod here. Obot calls it from "
                    "its own pods, so the host of remoteConfig is permitted for Obot's namespace",
                )
        if server.server_user_type == "multiUser":
            yield Issue(
                f"{where}.serverUserType",
                "multiUser catalog entries do not support remote runtime (Obot's rule)",
            )
        if server.remote_config is not None:
            yield from _remote(f"{where}.remoteConfig", server.remote_config)
        return
    if server.deny_all_egress and server.egress_domains:
        yield Issue(
            f"{where}.denyAllEgress",
            "is true while egressDomains is also set; declare one or the other",
        )
    if len(set(server.egress_domains)) != len(server.egress_domains):
        yield Issue(f"{where}.egressDomains", "lists a domain more than once")


def _remote(where: str, remote: RemoteConfig) -> Iterator[Issue]:
    """Obot calls the remote host from its own pods, through the gateway: the host must be
    one a TCP/443 WebGroup permit can name (or an internal name the gateway never sees)."""
    if (remote.fixed_url is None) == (remote.hostname is None):
        yield Issue(where, "give exactly one of fixedURL and hostname")
        return
    if remote.hostname is not None:
        key, host = "hostname", remote.hostname
    else:
        key, url = "fixedURL", urlsplit(remote.fixed_url or "")
        if url.scheme != "https" or not url.hostname:
            yield Issue(f"{where}.fixedURL", f"{remote.fixed_url!r} is not an https:// URL")
            return
        if url.username or url.password:
            yield Issue(f"{where}.fixedURL", "carries credentials; give them as headers")
        if url.port not in (None, 443):
            yield Issue(
                f"{where}.fixedURL",
                f"uses port {url.port}; Obot's egress to remote servers is permitted on TCP/443",
            )
        host = url.hostname
    if fqdn.is_internal(host.lower()):
        return
    try:
        fqdn.check_egress_domain(host)
    except fqdn.DomainError as exc:
        yield Issue(f"{where}.{key}", f"{exc}; the gateway permits Obot's calls by hostname")


@_check("kubernetes")
def _obot_catalog(p: dict[str, Any]) -> Iterator[Issue]:
    obot = p["kubernetes"].obot
    if obot.catalog_source and not obot.url:
        yield Issue(
            "kubernetes.obot.url",
            "is required with kubernetes.obot.catalogSource: the catalog is registered through "
            "Obot's admin API",
        )


@_check("kubernetes", "mcpServers")
def _servers_need_kubernetes(p: dict[str, Any]) -> Iterator[Issue]:
    if p["mcpServers"] and not p["kubernetes"].enabled:
        yield Issue("mcpServers", "MCP servers run on Kubernetes, but kubernetes.enabled is false")


@_check("kubernetes", "mcpWorkloads", "network")
def _workloads(p: dict[str, Any]) -> Iterator[Issue]:
    workloads: tuple[tuple[int, McpWorkload], ...] = p["mcpWorkloads"]
    k8s: Kubernetes = p["kubernetes"]
    if workloads and not k8s.enabled:
        yield Issue("mcpWorkloads", "workloads run on Kubernetes, but kubernetes.enabled is false")
    seen: dict[str, int] = {}
    pod_ranges = tuple(_net(c) for c in p["network"].pod_ranges)
    for i, w in workloads:
        where = f"mcpWorkloads[{i}]"
        if w.name in seen:
            yield Issue(
                f"{where}.name", f"duplicate workload name {w.name!r} (also {seen[w.name]})"
            )
        seen.setdefault(w.name, i)
        if w.namespace in (k8s.obot.namespace, k8s.obot.mcp_namespace):
            yield Issue(
                f"{where}.namespace",
                f"{w.namespace!r} is Obot's; Obot's controller owns the FirewallPolicies of its "
                "MCP namespace (and verify reports any other there)",
            )
        if w.deny_all_egress and w.egress_domains:
            yield Issue(
                f"{where}.denyAllEgress",
                "is true while egressDomains is also set; declare one or the other",
            )
        if len(set(w.egress_domains)) != len(w.egress_domains):
            yield Issue(f"{where}.egressDomains", "lists a domain more than once")
        yield from _pod_cidrs(where, w, k8s.pod_identity, pod_ranges)


def _pod_cidrs(
    where: str,
    w: McpWorkload,
    identity: PodIdentity,
    pod_ranges: tuple[ipaddress.IPv4Network, ...],
) -> Iterator[Issue]:
    if identity is PodIdentity.CIDR:
        if not w.pod_cidrs:
            yield Issue(f"{where}.podCidrs", "is required when kubernetes.podIdentity is cidr")
        for j, cidr in enumerate(w.pod_cidrs):
            if not any(_net(cidr).subnet_of(r) for r in pod_ranges):
                shown = ", ".join(map(str, pod_ranges))
                what = "the pod range" if len(pod_ranges) == 1 else "every pod range"
                yield Issue(f"{where}.podCidrs[{j}]", f"{cidr} is outside {what} {shown}")
    elif w.pod_cidrs:
        yield Issue(f"{where}.podCidrs", "is only used when kubernetes.podIdentity is cidr")


# --- the controller ------------------------------------------------------------------------------

SKIP_VERSION_VALIDATION = "aviatrix:skipVersionValidation"
"""The Aviatrix provider's own switch for its controller version check. When a stack sets it,
our check of ``controller.version`` is skipped too (it restates the provider's)."""


@_check("controller", SKIP_VERSION_VALIDATION)
def _controller_release(p: dict[str, Any]) -> Iterator[Issue]:
    if p[SKIP_VERSION_VALIDATION]:
        return
    declared = controller_release(p["controller"].version_tuple)
    supported = provider_controller_release()
    if declared != supported:
        want = "{}.{}".format(*supported)
        yield Issue(
            "controller.version",
            f"{p['controller'].version} is not supported by the pinned Aviatrix provider "
            f"{AVIATRIX_PROVIDER}, which refuses any controller but {want}.x at setup; pin a "
            f"provider release for this controller, or set {SKIP_VERSION_VALIDATION}: true to "
            "skip the provider's check",
        )


def _prefix_issue(path: str, prefix: str, what: str) -> Issue | None:
    limit = names.max_prefix_length()
    if len(prefix) <= limit:
        return None
    return Issue(
        path,
        f"{what} {prefix!r} is {len(prefix)} characters; controller-scope names are limited to "
        f"{names.NAME_LIMIT} and the longest this library derives adds "
        f"{names.NAME_LIMIT - limit} to the prefix, so at most {limit}",
    )


@_check("controller", "environment")
def _name_prefixes(p: dict[str, Any]) -> Iterator[Issue]:
    controller: Controller = p["controller"]
    own = controller.name_prefix or p["environment"]
    if controller.name_prefix is None:
        issue = _prefix_issue("environment", own, "used as controller.namePrefix,")
    else:
        issue = _prefix_issue("controller.namePrefix", own, "the prefix")
    if issue is not None:
        yield issue
    if controller.shared_with and not controller.owns_controller_wide:
        yield Issue(
            "controller.sharedWith",
            "only the stack with controller.ownsControllerWide declares the policy tree the "
            "other stacks attach to",
        )
    seen: dict[str, int] = {}
    for i, other in enumerate(controller.shared_with):
        path = f"controller.sharedWith[{i}]"
        if other == own:
            yield Issue(path, f"{other!r} is this stack's own prefix; list the other stacks")
        elif other in seen:
            yield Issue(
                path,
                f"{other!r} is listed twice (also controller.sharedWith[{seen[other]}]): two "
                "stacks on one controller need different name prefixes",
            )
        else:
            issue = _prefix_issue(path, other, "the prefix")
            if issue is not None:
                yield issue
        seen.setdefault(other, i)


def own_attachment_points(controller: Controller, prefix: str) -> dict[str, Layer]:
    """The attachment points a stack attaches to, by name: its own point under each of the
    controller's Terraform points and, for the owner, those Terraform points themselves."""
    layers = [
        layer
        for layer in TERRAFORM_LAYERS
        if layer is not Layer.AFTER_KUBERNETES or controller.after_kubernetes_point
    ]
    points = {names.attachment_point(prefix, layer): layer for layer in layers}
    if controller.owns_controller_wide:
        points |= {str(layer.attachment_point): layer for layer in layers}
    return points


_UUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


@_check("controller", "environment")
def _attachment_point_ids(p: dict[str, Any]) -> Iterator[Issue]:
    controller: Controller = p["controller"]
    prefix = controller.name_prefix or p["environment"]
    own = own_attachment_points(controller, prefix)
    for point, point_id in controller.attachment_points.items():
        path = f"controller.attachmentPoints.{point}"
        if point not in own:
            yield Issue(
                path,
                f"names an attachment point this stack does not attach to (another "
                f"environment's, or one this controller lacks); this stack's are: "
                f"{', '.join(sorted(own))}",
            )
        if not _UUID.match(str(point_id)):
            yield Issue(path, f"{point_id!r} is not an attachment point id (a UUID)")


# Foundry agents run in a subnet delegated to Microsoft.App/environments; Microsoft documents a
# /27 minimum and recommends /24 (Foundry Agent Service FAQ, "minimum size for the agent subnet").
FOUNDRY_MIN_PREFIX = 27
FOUNDRY_RECOMMENDED_PREFIX = 24


@_check("foundry", "network")
def _foundry_agent_subnet(p: dict[str, Any]) -> Iterator[Issue]:
    agents = _net(p["network"].agent_subnet)
    if p["foundry"].enabled and agents.prefixlen > FOUNDRY_MIN_PREFIX:
        yield Issue(
            "network.agentSubnet",
            f"{agents} is too small for Foundry agents: the subnet is delegated to "
            f"Microsoft.App/environments, which needs /{FOUNDRY_MIN_PREFIX} or larger "
            f"(Microsoft recommends /{FOUNDRY_RECOMMENDED_PREFIX})",
        )


@_check("controller", "egress")
def _default_action_owner(p: dict[str, Any]) -> Iterator[Issue]:
    controller: Controller = p["controller"]
    action = p["egress"].default_action
    if action is not Action.DENY and not controller.owns_controller_wide:
        yield Issue(
            "egress.defaultAction",
            f"{action.value} is declared only by the stack that owns the controller-wide "
            "objects (controller.ownsControllerWide: true); this stack declares no default "
            "action, so the setting would have no effect",
        )


@_check("controller", "foundry", "egress")
def _decryption_needs_controller(p: dict[str, Any]) -> Iterator[Issue]:
    controller: Controller = p["controller"]
    if controller.version_tuple[:2] >= MIN_DECRYPT_CONTROLLER:
        return
    need = ".".join(map(str, MIN_DECRYPT_CONTROLLER))
    if p["foundry"].enabled:
        yield Issue(
            "controller.version",
            f"{controller.version} cannot carry a per-rule decryption setting (needs {need}+), "
            "and Foundry's platform permits must be DECRYPT_NOT_ALLOWED (Microsoft pins those "
            "certificates): Foundry stacks need controller " + need + "+",
        )
    if p["egress"].tool_calls.decrypt:
        yield Issue(
            "egress.toolCalls.decrypt",
            f"per-rule decryption needs controller {need}+ (controller.version is "
            f"{controller.version})",
        )


_ZONE_SUFFIX = re.compile(r"^[a-z]$")


@_check("cloud", "network", "gateway")
def _availability_zones(p: dict[str, Any]) -> Iterator[Issue]:
    net: Network = p["network"]
    zones = net.availability_zones
    if p["cloud"] is not Cloud.AWS or not zones:
        return
    for i, zone in enumerate(zones):
        if not (zone.startswith(net.region) and _ZONE_SUFFIX.match(zone[len(net.region) :])):
            yield Issue(
                f"network.availabilityZones[{i}]",
                f"{zone!r} is not a zone of network.region {net.region!r} (e.g. {net.region}a)",
            )
    if len(zones) > 2 or len(set(zones)) != len(zones):
        yield Issue(
            "network.availabilityZones",
            "lists the gateway's zone, then the HA gateway's: two different zones at most",
        )
    elif p["gateway"].ha and len(zones) < 2:
        yield Issue(
            "network.availabilityZones",
            "needs a second zone for the HA gateway when gateway.ha is true",
        )
    elif net.ha_agent_subnet is not None and len(zones) < 2:
        yield Issue(
            "network.availabilityZones",
            "needs a second zone for network.haAgentSubnet (the workloads' second zone)",
        )


_SUBNET_ID = {
    Cloud.AZURE: (
        re.compile(
            r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
            r"virtualNetworks/[^/]+/subnets/[^/]+$",
            re.IGNORECASE,
        ),
        "an Azure subnet resource id (/subscriptions/.../subnets/NAME)",
    ),
    Cloud.AWS: (
        re.compile(r"^subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?$"),
        "an AWS subnet id (subnet-...)",
    ),
}


@_check("cloud", "lock")
def _lock_ids(p: dict[str, Any]) -> Iterator[Issue]:
    lock: Lock = p["lock"]
    regex, want = _SUBNET_ID[p["cloud"]]
    for key, value in (
        ("agentSubnetId", lock.agent_subnet_id),
        ("haAgentSubnetId", lock.ha_agent_subnet_id),
        ("capabilityHostSubnet", lock.capability_host_subnet),
    ):
        if value is not None and not regex.match(value):
            yield Issue(f"lock.{key}", f"{value!r} is not {want}")


_OPTIONAL_DEFAULTS: dict[str, Any] = {
    "egress": Egress(),
    "foundry": Foundry(),
    "kubernetes": Kubernetes(),
    "mcpServers": (),
    "mcpWorkloads": (),
}


def validate(raw: Mapping[str, Any], *, skip_version_validation: bool = False) -> Spec:
    """Validate raw config (camelCase keys, namespace already stripped); raise SpecError.
    ``skip_version_validation`` is the stack's ``aviatrix:skipVersionValidation``."""
    parsed, issues = _parse_sections(raw)
    parsed[SKIP_VERSION_VALIDATION] = skip_version_validation
    for key, default in _OPTIONAL_DEFAULTS.items():
        if raw.get(key) is None:
            parsed[key] = default
    for needs, check in _CHECKS:
        if all(n in parsed for n in needs):
            issues.extend(check(parsed))
    if issues:
        raise SpecError(issues)
    # An optional section written as null (`egress:` with nothing under it) means its defaults.
    return Spec.model_validate({k: v for k, v in raw.items() if v is not None})


def issues_of(raw: Mapping[str, Any], *, skip_version_validation: bool = False) -> list[Issue]:
    """Every problem in ``raw``; empty when it is valid."""
    try:
        validate(raw, skip_version_validation=skip_version_validation)
    except SpecError as exc:
        return exc.issues
    return []


__all__ = ["Issue", "SpecError", "issues_of", "validate"]
