"""Compile a spec into the layered DCF policy (DESIGN §1 and §5).

Order of evaluation, one list: the base ruleset attached before the Kubernetes band (threat
intel, platform permits, tool calls), the Kubernetes band (one FirewallPolicy per MCP server,
list order within a policy, policies by name), the ruleset attached after it (default deny,
east-west deny), then the DCF default action. The default deny is never placed before the
Kubernetes band: it would shadow every MCP server's permit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .. import naming
from ..spec import Action as SpecAction
from ..spec import Mode, PodIdentity, Spec
from . import catalog, firewallpolicy
from .model import (
    Action,
    CompiledPolicy,
    Decrypt,
    DefaultAction,
    Layer,
    PortRange,
    Protocol,
    Rule,
    Selector,
    SelectorKind,
    SmartGroup,
    WebGroup,
)

HTTPS = (PortRange(443, 443),)

MANAGED_GROUPS = (
    SmartGroup(
        catalog.ANYWHERE,
        (Selector(SelectorKind.ANYWHERE, cidr="0.0.0.0/0"),),
        managed=True,
        uuid=catalog.MANAGED_GROUP_UUIDS[catalog.ANYWHERE],
    ),
    SmartGroup(
        catalog.PUBLIC_INTERNET,
        (Selector(SelectorKind.PUBLIC_INTERNET),),
        managed=True,
        uuid=catalog.MANAGED_GROUP_UUIDS[catalog.PUBLIC_INTERNET],
    ),
    SmartGroup(
        catalog.THREAT_GROUP,
        (Selector(SelectorKind.THREAT),),
        managed=True,
        uuid=catalog.MANAGED_GROUP_UUIDS[catalog.THREAT_GROUP],
    ),
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


def _workload_groups(spec: Spec) -> tuple[list[SmartGroup], tuple[str, ...], tuple[str, ...]]:
    """Groups for the stack's workloads; returns (groups, all workloads, node-only sources)."""
    net = spec.network
    if spec.foundry.enabled:
        g = _subnet_group(spec, catalog.FOUNDRY_AGENTS, naming.AGENT_SUBNET, net.agent_subnet)
        return [g], (g.name,), (g.name,)
    if spec.kubernetes.enabled:
        nodes = _subnet_group(spec, catalog.CLUSTER_NODES, naming.AGENT_SUBNET, net.agent_subnet)
        groups = [nodes]
        if net.pod_subnet:
            pods = _subnet_group(spec, catalog.CLUSTER_PODS, naming.POD_SUBNET, net.pod_subnet)
            groups.append(pods)
        obot = SmartGroup(
            catalog.OBOT_SYSTEM_PODS,
            (
                Selector(
                    SelectorKind.K8S,
                    k8s_cluster_id=spec.kubernetes.cluster_id,
                    k8s_namespace=spec.kubernetes.obot.namespace,
                ),
            ),
        )
        groups.append(obot)
        workloads = tuple(g.name for g in groups if g.name != catalog.OBOT_SYSTEM_PODS)
        return groups, workloads, (nodes.name,)
    g = _subnet_group(spec, catalog.SPOKE_WORKLOADS, naming.AGENT_SUBNET, net.agent_subnet)
    return [g], (g.name,), (g.name,)


def _mode(spec: Spec, rule: str) -> bool:
    """True when the rule runs in monitor (watch) mode."""
    return spec.egress.rule_modes.get(rule, spec.egress.mode) is Mode.MONITOR


def _deny(spec: Spec, name: str, layer: Layer, src: tuple[str, ...], dst: tuple[str, ...]) -> Rule:
    return Rule(
        name=name,
        priority=0,
        layer=layer,
        action=Action.DENY,
        src=src,
        dst=dst,
        watch=_mode(spec, name),
    )


def _https_permit(
    spec: Spec,
    name: str,
    src: tuple[str, ...],
    dst: tuple[str, ...],
    *,
    web_group: str | None = None,
    decrypt: Decrypt | None = Decrypt.NOT_ALLOWED,
    tls: bool | None = None,
) -> Rule:
    """A TCP/443 permit in the base ruleset. With a WebGroup it requires TLS (the SNI is what
    the WebGroup matches); a bare-IP permit carries no SNI and no decryption setting."""
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
        watch=_mode(spec, name),
    )


def _numbered(rules: Iterable[Rule], start: int) -> list[Rule]:
    return [replace(r, priority=start + i) for i, r in enumerate(rules)]


def compile_policy(spec: Spec) -> CompiledPolicy:
    """The whole layered policy for a validated spec. Deterministic: same spec, same result."""
    data = catalog.platform()
    groups: list[SmartGroup] = list(MANAGED_GROUPS)
    web_groups: list[WebGroup] = []
    wl_groups, workloads, nodes = _workload_groups(spec)
    groups += wl_groups
    public = (catalog.PUBLIC_INTERNET,)
    before = [
        _deny(
            spec,
            catalog.DENY_THREAT_INTEL,
            Layer.BEFORE_KUBERNETES,
            workloads,
            (catalog.THREAT_GROUP,),
        )
    ]

    if spec.foundry.enabled:
        web_groups.append(WebGroup(data.aca_web_group, data.aca_fqdns))
        before.append(
            _https_permit(
                spec, catalog.ALLOW_ACA_FQDN, workloads, public, web_group=data.aca_web_group
            )
        )
        tag_groups = [
            SmartGroup(
                catalog.SVCTAG_PREFIX + tag.lower(),
                (
                    Selector(
                        SelectorKind.EXTERNAL,
                        external="azureips",
                        ext_args=(("service_name", tag), ("region", spec.network.region)),
                    ),
                ),
            )
            for tag in data.aca_service_tags
        ]
        groups += tag_groups
        before.append(
            _https_permit(
                spec,
                catalog.ALLOW_ACA_SVCTAG,
                workloads,
                tuple(g.name for g in tag_groups),
                # As in Aviatrix's blueprint: the platform's service endpoints speak TLS only.
                tls=True,
            )
        )
        tool_calls = spec.egress.tool_calls
        if tool_calls.domains:
            web_groups.append(
                WebGroup(catalog.FOUNDRY_TOOL_CALLS, tuple(sorted(tool_calls.domains)))
            )
            before.append(
                _https_permit(
                    spec,
                    catalog.ALLOW_TOOL_CALLS,
                    workloads,
                    public,
                    web_group=catalog.FOUNDRY_TOOL_CALLS,
                    decrypt=Decrypt.ALLOWED if tool_calls.decrypt else Decrypt.NOT_ALLOWED,
                )
            )

    band: list[Rule] = []
    policies: list[dict[str, object]] = []
    if spec.kubernetes.enabled:
        k8s = spec.kubernetes
        infra = data.cluster_infra_fqdns(spec.cloud.value, spec.network.region)
        web_groups.append(WebGroup(data.cluster_infra_web_group, infra))
        web_groups.append(WebGroup(data.obot_system_web_group, data.obot_system_fqdns))
        # Platform permits are scoped to nodes (image pulls, node bootstrap) and to Obot's own
        # namespace, never to the pod range where MCP servers run: S3 or blob storage in a
        # permit that reaches MCP pods is an exfiltration path.
        before.append(
            _https_permit(
                spec,
                catalog.ALLOW_CLUSTER_INFRA,
                nodes,
                public,
                web_group=data.cluster_infra_web_group,
            )
        )
        before.append(
            _https_permit(
                spec,
                catalog.ALLOW_OBOT_SYSTEM,
                (catalog.OBOT_SYSTEM_PODS,),
                public,
                web_group=data.obot_system_web_group,
            )
        )
        if k8s.api_server_ip:
            groups.append(
                SmartGroup(
                    catalog.K8S_API_SERVER,
                    (Selector(SelectorKind.CIDR, cidr=f"{k8s.api_server_ip}/32"),),
                )
            )
            # A bare IP carries no SNI, so no WebGroup rule can match it: a /32 permit.
            before.append(
                _https_permit(
                    spec,
                    catalog.ALLOW_K8S_API_SERVER,
                    (*nodes, catalog.OBOT_SYSTEM_PODS),
                    (catalog.K8S_API_SERVER,),
                    decrypt=None,
                )
            )
        for server in sorted(spec.mcp_servers, key=lambda s: s.name):
            obj = firewallpolicy.generate(spec, server)
            policies.append(obj)
            translated = firewallpolicy.to_rules(obj)
            groups += translated.smart_groups
            web_groups += translated.web_groups
            band += translated.rules

    after = [_deny(spec, catalog.DEFAULT_DENY_INTERNET, Layer.AFTER_KUBERNETES, workloads, public)]
    if spec.egress.east_west:
        groups.append(
            SmartGroup(
                catalog.OTHER_SPOKE_RESOURCES,
                tuple(Selector(SelectorKind.CIDR, cidr=c) for c in spec.egress.east_west),
            )
        )
        after.append(
            _deny(
                spec,
                catalog.DENY_EAST_WEST,
                Layer.AFTER_KUBERNETES,
                workloads,
                (catalog.OTHER_SPOKE_RESOURCES,),
            )
        )

    # One priority space across both base rulesets, so the table reads 1..n top to bottom.
    default = DefaultAction(
        Action.DENY if spec.egress.default_action is SpecAction.DENY else Action.PERMIT
    )
    return CompiledPolicy(
        smart_groups=tuple(groups),
        web_groups=tuple(web_groups),
        rules=(*_numbered(before, 1), *band, *_numbered(after, len(before) + 1)),
        default_action=default,
        firewall_policies=tuple(policies),
        threat_feed=spec.egress.threat_feed,
        platform_version=data.version,
        transit_attached=spec.transit_attached,
        mcp_namespace=spec.kubernetes.obot.mcp_namespace if spec.kubernetes.enabled else None,
        mcp_pod_ranges=_mcp_pod_ranges(spec),
        controller_version=spec.controller.version_tuple,
        production=spec.is_production,
    )


def _mcp_pod_ranges(spec: Spec) -> tuple[str, ...]:
    if not spec.kubernetes.enabled:
        return ()
    if spec.kubernetes.pod_identity is PodIdentity.CIDR:
        return tuple(sorted({c for s in spec.mcp_servers for c in s.pod_cidrs}))
    return (spec.network.pod_subnet or spec.network.agent_subnet,)


__all__ = ["compile_policy"]
