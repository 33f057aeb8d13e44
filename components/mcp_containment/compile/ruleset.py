"""Compile a spec into its layered DCF rulebase.

Order of evaluation, one list: the base ruleset attached before the Kubernetes band (threat
intel, platform permits, tool calls), the Kubernetes band (one FirewallPolicy per MCP server,
list order within a policy, policies by name), the ruleset attached after it (default deny,
east-west deny), then the DCF default action. The default deny is never placed before the
Kubernetes band: it would shadow every MCP server's permit.

The compiler is a handful of small builders, one per kind of workload, each adding its groups
and rules to a :class:`_Draft`; :func:`compile_rulebase` runs them in evaluation order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ..config import naming
from ..config.schema import Mode, PodIdentity, Spec
from ..core import band, names
from ..core.model import (
    Action,
    Decrypt,
    DefaultAction,
    Layer,
    PortRange,
    Protocol,
    Rule,
    Rulebase,
    Selector,
    SelectorKind,
    SmartGroup,
    WebGroup,
)
from ..core.platform import PlatformData, platform
from ..core.versions import MIN_DECRYPT_CONTROLLER
from . import firewallpolicy

HTTPS = (PortRange(443, 443),)
PUBLIC = (names.PUBLIC_INTERNET,)


@dataclass(slots=True)
class _Draft:
    """What the builders accumulate, in evaluation order within each list."""

    spec: Spec
    data: PlatformData
    workloads: tuple[str, ...] = ()
    """Every workload group of the stack (agents, nodes, pods)."""
    nodes: tuple[str, ...] = ()
    """The node-only sources platform permits are scoped to."""
    groups: list[SmartGroup] = field(default_factory=lambda: list(names.MANAGED_GROUPS))
    web_groups: list[WebGroup] = field(default_factory=list)
    before: list[Rule] = field(default_factory=list)
    band: list[Rule] = field(default_factory=list)
    after: list[Rule] = field(default_factory=list)
    firewall_policies: list[dict[str, object]] = field(default_factory=list)

    def monitor(self, rule: str) -> bool:
        """True when the rule runs in monitor mode (the stack's mode or its own override)."""
        egress = self.spec.egress
        return egress.rule_modes.get(rule, egress.mode) is Mode.MONITOR

    def deny(self, name: str, layer: Layer, src: tuple[str, ...], dst: tuple[str, ...]) -> Rule:
        return Rule(
            name=name,
            priority=0,
            layer=layer,
            action=Action.DENY,
            src=src,
            dst=dst,
            monitor=self.monitor(name),
        )

    def https_permit(
        self,
        name: str,
        src: tuple[str, ...],
        dst: tuple[str, ...],
        *,
        web_group: str | None = None,
        decrypt: Decrypt | None = Decrypt.NOT_ALLOWED,
        tls: bool | None = None,
    ) -> Rule:
        """A TCP/443 permit in the base ruleset. With a WebGroup it requires TLS (the SNI is
        what the WebGroup matches); a bare-IP permit carries no SNI and no decryption setting."""
        return Rule(
            name=name,
            priority=0,
            layer=Layer.BEFORE_KUBERNETES,
            action=Action.PERMIT,
            src=src,
            dst=dst,
            protocol=Protocol.TCP,
            ports=HTTPS,
            web_groups=(web_group,) if web_group else (),
            tls_required=web_group is not None if tls is None else tls,
            decrypt_policy=decrypt,
            monitor=self.monitor(name),
        )


def _subnet_group(spec: Spec, group: str, role: str, cidr: str) -> SmartGroup:
    return SmartGroup(
        group,
        (
            Selector(
                SelectorKind.SUBNET,
                cidr=cidr,
                account_name=spec.controller.account_name,
                name=naming.subnet(spec, role),
                region=spec.network.region,
            ),
        ),
    )


def _workload_groups(d: _Draft) -> None:
    """Groups for the stack's workloads: who the base rules apply to."""
    spec, net = d.spec, d.spec.network
    if spec.foundry.enabled:
        agents = _subnet_group(spec, names.FOUNDRY_AGENTS, naming.AGENT_SUBNET, net.agent_subnet)
        d.groups.append(agents)
        d.workloads = d.nodes = (agents.name,)
        return
    if not spec.kubernetes.enabled:
        spoke = _subnet_group(spec, names.SPOKE_WORKLOADS, naming.AGENT_SUBNET, net.agent_subnet)
        d.groups.append(spoke)
        d.workloads = d.nodes = (spoke.name,)
        return
    nodes = _subnet_group(spec, names.CLUSTER_NODES, naming.AGENT_SUBNET, net.agent_subnet)
    d.groups.append(nodes)
    d.workloads = d.nodes = (nodes.name,)
    if net.pod_subnet:
        pods = _subnet_group(spec, names.CLUSTER_PODS, naming.POD_SUBNET, net.pod_subnet)
        d.groups.append(pods)
        d.workloads += (pods.name,)
    d.groups.append(
        SmartGroup(
            names.OBOT_SYSTEM_PODS,
            (
                Selector(
                    SelectorKind.K8S,
                    k8s_cluster_id=spec.kubernetes.cluster_id,
                    k8s_namespace=spec.kubernetes.obot.namespace,
                ),
            ),
        )
    )


def _threat_intel(d: _Draft) -> None:
    d.before.append(
        d.deny(names.DENY_THREAT_INTEL, Layer.BEFORE_KUBERNETES, d.workloads, (names.THREAT_GROUP,))
    )


def _foundry(d: _Draft) -> None:
    """Azure Container Apps requirements (FQDNs, then service tags) and the tool-call list."""
    if not d.spec.foundry.enabled:
        return
    data = d.data
    d.web_groups.append(WebGroup(data.aca_web_group, data.aca_fqdns))
    d.before.append(
        d.https_permit(names.ALLOW_ACA_FQDN, d.workloads, PUBLIC, web_group=data.aca_web_group)
    )
    tag_groups = [
        SmartGroup(
            names.SVCTAG_PREFIX + tag.lower(),
            (
                Selector(
                    SelectorKind.EXTERNAL,
                    external="azureips",
                    ext_args=(("region", d.spec.network.region), ("service_name", tag)),
                ),
            ),
        )
        for tag in data.aca_service_tags
    ]
    d.groups += tag_groups
    # As in Aviatrix's blueprint: the platform's service endpoints speak TLS only.
    svctags = tuple(g.name for g in tag_groups)
    d.before.append(d.https_permit(names.ALLOW_ACA_SVCTAG, d.workloads, svctags, tls=True))
    tool_calls = d.spec.egress.tool_calls
    if tool_calls.domains:
        d.web_groups.append(WebGroup(names.FOUNDRY_TOOL_CALLS, tuple(sorted(tool_calls.domains))))
        d.before.append(
            d.https_permit(
                names.ALLOW_TOOL_CALLS,
                d.workloads,
                PUBLIC,
                web_group=names.FOUNDRY_TOOL_CALLS,
                decrypt=Decrypt.ALLOWED if tool_calls.decrypt else Decrypt.NOT_ALLOWED,
            )
        )


def _cluster_platform(d: _Draft) -> None:
    """What the cluster itself needs: node bootstrap and image pulls, Obot's control plane,
    and the API server.

    Platform permits are scoped to nodes and to Obot's own namespace, never to the pod range
    where MCP servers run: S3 or blob storage in a permit that reaches MCP pods is an
    exfiltration path.
    """
    spec, data = d.spec, d.data
    if not spec.kubernetes.enabled:
        return
    infra = data.cluster_infra_fqdns(spec.cloud.value, spec.network.region)
    d.web_groups.append(WebGroup(data.cluster_infra_web_group, infra))
    d.web_groups.append(WebGroup(data.obot_system_web_group, data.obot_system_fqdns))
    d.before.append(
        d.https_permit(
            names.ALLOW_CLUSTER_INFRA, d.nodes, PUBLIC, web_group=data.cluster_infra_web_group
        )
    )
    d.before.append(
        d.https_permit(
            names.ALLOW_OBOT_SYSTEM,
            (names.OBOT_SYSTEM_PODS,),
            PUBLIC,
            web_group=data.obot_system_web_group,
        )
    )
    api = spec.kubernetes.api_server_ip
    if api:
        d.groups.append(
            SmartGroup(names.K8S_API_SERVER, (Selector(SelectorKind.CIDR, cidr=f"{api}/32"),))
        )
        # A bare IP carries no SNI, so no WebGroup rule can match it: a /32 permit.
        d.before.append(
            d.https_permit(
                names.ALLOW_K8S_API_SERVER,
                (*d.nodes, names.OBOT_SYSTEM_PODS),
                (names.K8S_API_SERVER,),
                decrypt=None,
            )
        )


def _kubernetes_band(d: _Draft) -> None:
    """One FirewallPolicy per MCP server, read back as the band the controller derives."""
    if not d.spec.kubernetes.enabled:
        return
    for server in sorted(d.spec.mcp_servers, key=lambda s: s.name):
        obj = firewallpolicy.generate(d.spec, server)
        d.firewall_policies.append(obj)
        translated = band.to_rules(obj)
        d.groups += translated.smart_groups
        d.web_groups += translated.web_groups
        d.band += translated.rules


def _after_band(d: _Draft) -> None:
    """Default deny, then the east-west deny: after the band, so no server permit is shadowed."""
    d.after.append(d.deny(names.DEFAULT_DENY_INTERNET, Layer.AFTER_KUBERNETES, d.workloads, PUBLIC))
    east_west = d.spec.egress.east_west
    if east_west:
        d.groups.append(
            SmartGroup(
                names.OTHER_SPOKE_RESOURCES,
                tuple(Selector(SelectorKind.CIDR, cidr=c) for c in east_west),
            )
        )
        d.after.append(
            d.deny(
                names.DENY_EAST_WEST,
                Layer.AFTER_KUBERNETES,
                d.workloads,
                (names.OTHER_SPOKE_RESOURCES,),
            )
        )


_BUILDERS = (_workload_groups, _threat_intel, _foundry, _cluster_platform, _kubernetes_band)


def compile_rulebase(spec: Spec) -> Rulebase:
    """The whole layered rulebase for a validated spec. Deterministic: same spec, same result."""
    d = _Draft(spec, platform())
    for build in (*_BUILDERS, _after_band):
        build(d)
    # One priority space across both base rulesets, so the table reads 1..n top to bottom.
    rules = (*_numbered(d.before, 1), *d.band, *_numbered(d.after, len(d.before) + 1))
    if spec.controller.version_tuple[:2] < MIN_DECRYPT_CONTROLLER:
        # Older controllers have no per-rule decryption setting: declare none, so the rules
        # are ones the declared controller enforces (validation refuses what needs one).
        rules = tuple(replace(r, decrypt_policy=None) for r in rules)
    return Rulebase(
        smart_groups=tuple(d.groups),
        web_groups=tuple(d.web_groups),
        rules=rules,
        default_action=DefaultAction(Action(spec.egress.default_action.value)),
        firewall_policies=tuple(d.firewall_policies),
        threat_feed=spec.egress.threat_feed,
        platform_version=d.data.version,
        transit_attached=spec.transit_attached,
        mcp_namespace=spec.kubernetes.obot.mcp_namespace if spec.kubernetes.enabled else None,
        mcp_pod_ranges=_mcp_pod_ranges(spec),
        controller_version=spec.controller.version_tuple,
        production=spec.is_production,
    )


def _numbered(rules: Iterable[Rule], start: int) -> list[Rule]:
    return [replace(r, priority=start + i) for i, r in enumerate(rules)]


def _mcp_pod_ranges(spec: Spec) -> tuple[str, ...]:
    if not spec.kubernetes.enabled:
        return ()
    if spec.kubernetes.pod_identity is PodIdentity.CIDR:
        return tuple(sorted({c for s in spec.mcp_servers for c in s.pod_cidrs}))
    return (spec.network.pod_subnet or spec.network.agent_subnet,)


__all__ = ["compile_rulebase"]
