"""Compile a spec into its layered DCF rulebase.

Order of evaluation is the controller's (:class:`~mcp_containment.core.model.Layer`): the
ruleset at the Terraform point before the UI's rules (threat intel, platform permits, tool
calls), the Kubernetes band (one FirewallPolicy per MCP server, list order within a policy,
policies by name), then the terminal denies (default deny, east-west deny) and the DCF default
action. The terminal denies go to the Terraform point after the band where the controller has
one; otherwise to the point after the UI's rules, which may precede the band, so there they
never match MCP server pods: pods are denied by their own policy's final deny and the default
action, and when pods share the node subnet there is no node-only source to deny at all.

The compiler is a handful of small builders, one per kind of workload, each adding its groups
and rules to a :class:`_Draft`; :func:`compile_rulebase` runs them in evaluation order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ..config import naming
from ..config.schema import ExtraBand, ExtraRule, ExtraSource, Mode, Spec
from ..core import band, fqdn, names
from ..core.model import (
    DEFAULT_ROUTE,
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
    in_evaluation_order,
)
from ..core.obot import remote_host
from ..core.platform import PlatformData, platform
from ..core.versions import MIN_DECRYPT_CONTROLLER
from . import catalog, firewallpolicy

HTTPS = (PortRange(443, 443),)
PUBLIC = (names.PUBLIC_INTERNET,)


@dataclass(slots=True)
class _Draft:
    """What the builders accumulate, in evaluation order within each list."""

    spec: Spec
    data: PlatformData
    prefix: str = ""
    """Starts every group name: SmartGroups and WebGroups are controller-wide."""
    workloads: tuple[str, ...] = ()
    """Every workload group of the stack (agents, nodes, pods)."""
    nodes: tuple[str, ...] = ()
    """The node-only sources platform permits are scoped to."""
    pod_free: tuple[str, ...] = ()
    """Workload groups that hold no MCP server pod: what may be denied before the band."""
    groups: list[SmartGroup] = field(default_factory=lambda: list(names.MANAGED_GROUPS))
    web_groups: list[WebGroup] = field(default_factory=list)
    before: list[Rule] = field(default_factory=list)
    band: list[Rule] = field(default_factory=list)
    terminal: list[Rule] = field(default_factory=list)
    firewall_policies: list[dict[str, object]] = field(default_factory=list)

    def name(self, role: str) -> str:
        return names.qualified(self.prefix, role)

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
            layer=Layer.BEFORE_UI,
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


def _subnet_group(d: _Draft, role: str, *subnets: tuple[str, str | None]) -> SmartGroup:
    """A group of the stack's subnets, given as (subnet role, CIDR): one selector per subnet
    declared (a SmartGroup is the OR of its selectors), so a workload's subnets in both
    zones are one group and one identity."""
    spec = d.spec
    return SmartGroup(
        d.name(role),
        tuple(
            Selector(
                SelectorKind.SUBNET,
                cidr=cidr,
                account_name=spec.controller.account_name,
                name=naming.subnet(spec, subnet_role),
                region=spec.network.region,
            )
            for subnet_role, cidr in subnets
            if cidr is not None
        ),
    )


def _workload_groups(d: _Draft) -> None:
    """Groups for the stack's workloads: who the base rules apply to."""
    spec, net = d.spec, d.spec.network
    agents = (
        (naming.AGENT_SUBNET, net.agent_subnet),
        (naming.HA_AGENT_SUBNET, net.ha_agent_subnet),
    )
    if spec.foundry.enabled or not spec.kubernetes.enabled:
        role = names.FOUNDRY_AGENTS if spec.foundry.enabled else names.SPOKE_WORKLOADS
        group = _subnet_group(d, role, *agents)
        d.groups.append(group)
        d.workloads = d.nodes = d.pod_free = (group.name,)
        return
    nodes = _subnet_group(d, names.CLUSTER_NODES, *agents)
    d.groups.append(nodes)
    d.workloads = d.nodes = (nodes.name,)
    if net.pod_subnet:
        pods = _subnet_group(
            d,
            names.CLUSTER_PODS,
            (naming.POD_SUBNET, net.pod_subnet),
            (naming.HA_POD_SUBNET, net.ha_pod_subnet),
        )
        d.groups.append(pods)
        d.workloads += (pods.name,)
        # Pods have their own range: the node subnet holds none of them.
        d.pod_free = (nodes.name,)
    d.groups.append(
        SmartGroup(
            d.name(names.OBOT_SYSTEM_PODS),
            (
                Selector(
                    SelectorKind.K8S,
                    k8s_cluster_id=spec.k8s_cluster_id,
                    k8s_namespace=spec.kubernetes.obot.namespace,
                ),
            ),
        )
    )


def _threat_intel(d: _Draft) -> None:
    # Before the band on purpose: a threat-listed destination is denied even to a server
    # that declares it. Its destinations are the feed only, so it shadows no server permit.
    d.before.append(
        d.deny(names.DENY_THREAT_INTEL, Layer.BEFORE_UI, d.workloads, (names.THREAT_GROUP,))
    )


def _foundry(d: _Draft) -> None:
    """Azure Container Apps requirements (FQDNs, then service tags) and the tool-call list."""
    if not d.spec.foundry.enabled:
        return
    data = d.data
    aca = d.name(data.aca_web_group)
    d.web_groups.append(WebGroup(aca, data.aca_fqdns))
    d.before.append(d.https_permit(names.ALLOW_ACA_FQDN, d.workloads, PUBLIC, web_group=aca))
    tag_groups = [
        SmartGroup(
            d.name(names.SVCTAG_PREFIX + tag.lower()),
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
        web = d.name(names.FOUNDRY_TOOL_CALLS)
        d.web_groups.append(WebGroup(web, tuple(sorted(tool_calls.domains))))
        d.before.append(
            d.https_permit(
                names.ALLOW_TOOL_CALLS,
                d.workloads,
                PUBLIC,
                web_group=web,
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
    infra, obot = d.name(data.cluster_infra_web_group), d.name(data.obot_system_web_group)
    d.web_groups.append(
        WebGroup(infra, data.cluster_infra_fqdns(spec.cloud.value, spec.network.region))
    )
    d.web_groups.append(WebGroup(obot, data.obot_system_fqdns))
    d.before.append(d.https_permit(names.ALLOW_CLUSTER_INFRA, d.nodes, PUBLIC, web_group=infra))
    obot_pods = d.name(names.OBOT_SYSTEM_PODS)
    d.before.append(d.https_permit(names.ALLOW_OBOT_SYSTEM, (obot_pods,), PUBLIC, web_group=obot))
    api = spec.kubernetes.api_server_ip
    if api:
        api_group = d.name(names.K8S_API_SERVER)
        d.groups.append(SmartGroup(api_group, (Selector(SelectorKind.CIDR, cidr=f"{api}/32"),)))
        # A bare IP carries no SNI, so no WebGroup rule can match it: a /32 permit.
        d.before.append(
            d.https_permit(
                names.ALLOW_K8S_API_SERVER,
                (*d.nodes, obot_pods),
                (api_group,),
                decrypt=None,
            )
        )


def _kubernetes_band(d: _Draft) -> None:
    """The FirewallPolicies behind the band, policies by (namespace, name): for each Obot
    server, the object Obot's controller will write (its exact translation); for each
    self-managed workload, the one the library declares."""
    if not d.spec.kubernetes.enabled:
        return
    planned = (firewallpolicy.planned(d.spec, s) for s in d.spec.mcp_servers)
    objects = [obj for obj in planned if obj is not None]
    objects += [firewallpolicy.workload(d.spec, w) for w in d.spec.mcp_workloads]
    for obj in sorted(objects, key=band.policy_key):
        d.firewall_policies.append(obj)
        translated = band.to_rules(obj)
        d.groups += translated.smart_groups
        d.web_groups += translated.web_groups
        d.band += translated.rules


def _obot_remote_servers(d: _Draft) -> None:
    """Remote MCP servers run no pod here: Obot calls them from its own pods. Their hosts
    are permitted for Obot's namespace, after Obot's own platform permit."""
    if not d.spec.kubernetes.enabled:
        return
    hosts = sorted(
        {
            host
            for s in d.spec.mcp_servers
            if (host := remote_host(catalog.entry(s))) is not None and not fqdn.is_internal(host)
        }
    )
    if not hosts:
        return
    web_group = d.name(names.OBOT_REMOTE_MCP_SERVERS)
    d.web_groups.append(WebGroup(web_group, tuple(hosts)))
    d.before.append(
        d.https_permit(
            names.ALLOW_OBOT_REMOTE_MCP,
            (d.name(names.OBOT_SYSTEM_PODS),),
            PUBLIC,
            web_group=web_group,
        )
    )


def _extra_source(d: _Draft, source: ExtraSource) -> tuple[str, ...]:
    if source is ExtraSource.WORKLOADS:
        return d.workloads
    if source is ExtraSource.OBOT_SYSTEM:
        return (d.name(names.OBOT_SYSTEM_PODS),)
    return d.nodes


def _extra_rule(d: _Draft, x: ExtraRule, layer: Layer) -> Rule:
    """An ``egress.extraRules`` entry as a rule of ``layer``, with the group it names."""
    group = d.name(f"{names.EXTRA_PREFIX}{x.name}")
    dst: tuple[str, ...]
    web: tuple[str, ...]
    if x.domains:
        d.web_groups.append(WebGroup(group, tuple(sorted(set(x.domains)))))
        dst, web = PUBLIC, (group,)
    else:
        # 0.0.0.0/0 is Aviatrix's own Anywhere group: referenced, never declared again.
        cidrs = [c for c in x.cidrs if c != DEFAULT_ROUTE]
        dst = (names.ANYWHERE,) if len(cidrs) < len(x.cidrs) else ()
        if cidrs:
            d.groups.append(
                SmartGroup(group, tuple(Selector(SelectorKind.CIDR, cidr=c) for c in cidrs))
            )
            dst = (*dst, group)
        web = ()
    protocol = Protocol.parse(x.protocol) or Protocol.ANY
    return Rule(
        name=x.name,
        priority=0,
        layer=layer,
        action=Action(x.action.value),
        src=_extra_source(d, x.source),
        dst=dst,
        protocol=protocol,
        ports=()
        if protocol in (Protocol.ANY, Protocol.ICMP)
        else tuple(PortRange(port, port) for port in x.ports),
        web_groups=web,
        tls_required=bool(web),
        decrypt_policy=Decrypt.NOT_ALLOWED if web and x.action.value == "PERMIT" else None,
        monitor=d.monitor(x.name),
        origin="extra",
    )


def _extra_platform_rules(d: _Draft) -> None:
    """``egress.extraRules`` of the platform band: after the library's platform permits."""
    for x in d.spec.egress.extra_rules:
        if x.band is ExtraBand.PLATFORM:
            d.before.append(_extra_rule(d, x, Layer.BEFORE_UI))


def terminal_layer(spec: Spec) -> Layer:
    """Where the terminal denies go: after the band where the controller has that point."""
    return Layer.AFTER_KUBERNETES if spec.controller.after_kubernetes_point else Layer.AFTER_UI


def _terminal_denies(d: _Draft) -> None:
    """Default deny, then the east-west deny, each sourced from what they may deny at their
    point: every workload after the band, only pod-free workloads before it (a deny there that
    reached MCP pods would shadow every server permit)."""
    layer = terminal_layer(d.spec)
    # Extra rules of the terminal band come first, whatever their sources: the analysis
    # judges one that would shadow a server's permit before the band.
    for x in d.spec.egress.extra_rules:
        if x.band is ExtraBand.TERMINAL:
            d.terminal.append(_extra_rule(d, x, layer))
    sources = d.workloads if layer > Layer.KUBERNETES else d.pod_free
    if not sources:
        return
    d.terminal.append(d.deny(names.DEFAULT_DENY_INTERNET, layer, sources, PUBLIC))
    east_west = d.spec.egress.east_west
    if east_west:
        others = d.name(names.OTHER_SPOKE_RESOURCES)
        d.groups.append(
            SmartGroup(others, tuple(Selector(SelectorKind.CIDR, cidr=c) for c in east_west))
        )
        d.terminal.append(d.deny(names.DENY_EAST_WEST, layer, sources, (others,)))


_BUILDERS = (
    _workload_groups,
    _threat_intel,
    _foundry,
    _cluster_platform,
    _obot_remote_servers,
    _extra_platform_rules,
    _kubernetes_band,
)


def compile_rulebase(spec: Spec) -> Rulebase:
    """The whole layered rulebase for a validated spec. Deterministic: same spec, same result."""
    extensions = spec.egress.platform
    data = platform().extended(
        aca=extensions.aca_fqdns,
        cluster_infra=extensions.cluster_infra,
        obot_system=extensions.obot_system,
    )
    d = _Draft(spec, data, spec.name_prefix)
    for build in (*_BUILDERS, _terminal_denies):
        build(d)
    # One priority space across the base rulesets, so the table reads 1..n top to bottom.
    base = _numbered([*d.before, *d.terminal], 1)
    rules = in_evaluation_order([*base, *d.band])
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
    # Obot's server pods are always label-selected and draw from the pod range, whatever
    # kubernetes.podIdentity says (it applies to self-managed workloads only).
    if not spec.kubernetes.enabled:
        return ()
    return spec.network.pod_ranges


__all__ = ["compile_rulebase", "terminal_layer"]
