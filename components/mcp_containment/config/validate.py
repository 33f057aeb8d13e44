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

from pydantic import TypeAdapter, ValidationError

from ..core import names
from ..core.model import Action
from ..core.versions import MIN_DECRYPT_CONTROLLER
from . import regions
from .schema import (
    REQUIRED_SECTIONS,
    SECTIONS,
    Cloud,
    Controller,
    Egress,
    Foundry,
    Gateway,
    Kubernetes,
    Lock,
    McpServer,
    Network,
    PodIdentity,
    Spec,
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
        if key == LIST_SECTION:
            if not isinstance(value, list):
                issues.append(Issue(key, "must be a list of servers"))
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


LIST_SECTION = "mcpServers"


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


@_check("egress", "foundry", "kubernetes", "gateway")
def _rule_modes(p: dict[str, Any]) -> Iterator[Issue]:
    rules = names.base_rule_names(
        foundry=p["foundry"].enabled,
        kubernetes=p["kubernetes"].enabled,
        api_server=p["kubernetes"].api_server_ip is not None,
        east_west=bool(p["egress"].east_west),
    )
    for rule in p["egress"].rule_modes:
        if rule not in rules:
            yield Issue(
                f"egress.ruleModes.{rule}",
                f"no rule named {rule!r} in this stack's ruleset (rules: {', '.join(rules)})",
            )


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
    servers: tuple[tuple[int, McpServer], ...] = p["mcpServers"]
    seen: dict[str, int] = {}
    for i, server in servers:
        if server.name in seen:
            yield Issue(
                f"mcpServers[{i}].name",
                f"duplicate server name {server.name!r} (also mcpServers[{seen[server.name]}])",
            )
        seen.setdefault(server.name, i)
        if server.deny_all_egress and server.egress_domains:
            yield Issue(
                f"mcpServers[{i}].denyAllEgress",
                "is true while egressDomains is also set; declare one or the other",
            )
        if len(set(server.egress_domains)) != len(server.egress_domains):
            yield Issue(f"mcpServers[{i}].egressDomains", "lists a domain more than once")


@_check("kubernetes", "mcpServers", "network")
def _server_placement(p: dict[str, Any]) -> Iterator[Issue]:
    servers: tuple[tuple[int, McpServer], ...] = p["mcpServers"]
    k8s: Kubernetes = p["kubernetes"]
    net: Network = p["network"]
    if servers and not k8s.enabled:
        yield Issue("mcpServers", "MCP servers run on Kubernetes, but kubernetes.enabled is false")
    pod_range = _net(net.pod_subnet or net.agent_subnet)
    for i, server in servers:
        if k8s.pod_identity is PodIdentity.CIDR:
            if not server.pod_cidrs:
                yield Issue(
                    f"mcpServers[{i}].podCidrs",
                    "is required when kubernetes.podIdentity is cidr",
                )
            for j, cidr in enumerate(server.pod_cidrs):
                if not _net(cidr).subnet_of(pod_range):
                    yield Issue(
                        f"mcpServers[{i}].podCidrs[{j}]",
                        f"{cidr} is outside the pod range {pod_range}",
                    )
        elif server.pod_cidrs:
            yield Issue(
                f"mcpServers[{i}].podCidrs",
                "is only used when kubernetes.podIdentity is cidr",
            )


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
        ("capabilityHostSubnet", lock.capability_host_subnet),
    ):
        if value is not None and not regex.match(value):
            yield Issue(f"lock.{key}", f"{value!r} is not {want}")


_OPTIONAL_DEFAULTS: dict[str, Any] = {
    "egress": Egress(),
    "foundry": Foundry(),
    "kubernetes": Kubernetes(),
    "mcpServers": (),
}


def validate(raw: Mapping[str, Any]) -> Spec:
    """Validate raw config (camelCase keys, namespace already stripped); raise SpecError."""
    parsed, issues = _parse_sections(raw)
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


def issues_of(raw: Mapping[str, Any]) -> list[Issue]:
    """Every problem in ``raw``; empty when it is valid."""
    try:
        validate(raw)
    except SpecError as exc:
        return exc.issues
    return []


__all__ = ["Issue", "SpecError", "issues_of", "validate"]
