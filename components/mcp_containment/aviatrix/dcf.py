"""``DcfPolicy``: the SmartGroups, WebGroups and rulesets the egress core compiled for a stack.

The rules are never written here: they come from :func:`mcp_containment.egress.ruleset.
compile_policy`, the same object the simulator, the analysis and the policy pack read. This
component only declares them. Each layer the library owns (before the Kubernetes-managed rules,
after them) is one ruleset object holding the whole ordered list, so a rule change is a single
update and enforcement never runs on a half-applied list. The Kubernetes band itself is
declared by the FirewallPolicy objects (:mod:`mcp_containment.kubernetes`), whose groups the
cluster's controller creates; Aviatrix-managed groups (Anywhere, Public Internet, the threat
group) are referenced by their well-known ids, never created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from ..egress.model import CompiledPolicy, Layer, Rule, Selector, SelectorKind
from . import provider as avx

COMPONENT = "mcp-containment:aviatrix:DcfPolicy"
_ATTACH = {Layer.BEFORE_KUBERNETES: "before-kubernetes", Layer.AFTER_KUBERNETES: "after-kubernetes"}
"""Ruleset name suffixes; the policy pack reads a ruleset's layer back from its name."""
ATTACHMENT_POINTS = {
    Layer.BEFORE_KUBERNETES: "TERRAFORM_BEFORE_UI_MANAGED",
    Layer.AFTER_KUBERNETES: "TERRAFORM_AFTER_UI_MANAGED",
}
"""The controller's attachment points around the rules it manages itself (UI and the
Kubernetes-managed FirewallPolicy rules), resolved to ids by name at deploy time."""


@dataclass(frozen=True, kw_only=True)
class DcfPolicyArgs:
    policy: CompiledPolicy
    name_prefix: str
    """Prefixes the rulesets' names; groups keep their compiled names, which rules and
    the audit trail refer to."""
    k8s_cluster_id: pulumi.Input[str] | None = None
    """The onboarded cluster's id for Kubernetes selectors (defaults to the compiled value)."""
    attachment_points: Mapping[Layer, pulumi.Input[str]] | None = None
    """Attachment point ids per layer, when known; otherwise looked up by name
    (:data:`ATTACHMENT_POINTS`) through the provider's data source."""


def match_expression(
    sel: Selector, k8s_cluster_id: pulumi.Input[str] | None = None
) -> avx.MatchExpression:
    if sel.kind is SelectorKind.SUBNET:
        return avx.MatchExpression(
            type="subnet", account_name=sel.account_name, name=sel.name, region=sel.region
        )
    if sel.kind is SelectorKind.K8S:
        return avx.MatchExpression(
            type="k8s",
            k8s_cluster_id=k8s_cluster_id if k8s_cluster_id is not None else sel.k8s_cluster_id,
            k8s_namespace=sel.k8s_namespace,
            tags=dict(sel.tags) or None,
        )
    if sel.kind is SelectorKind.EXTERNAL:
        return avx.MatchExpression(external=sel.external, ext_args=dict(sel.ext_args) or None)
    if sel.kind is SelectorKind.CIDR:
        return avx.MatchExpression(cidr=sel.cidr)
    raise ValueError(f"selector kind {sel.kind.value!r} is Aviatrix-managed, never declared")


class DcfPolicy(pulumi.ComponentResource):
    smart_groups: dict[str, avx.SmartGroup]
    web_groups: dict[str, avx.WebGroup]
    rulesets: dict[Layer, avx.DcfRuleset]

    def __init__(
        self, name: str, args: DcfPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        policy = args.policy
        owned = [r for r in policy.rules if r.layer in _ATTACH]
        used_groups = {g for r in owned for g in (*r.src, *r.dst)}
        used_web = {w for r in owned for w in r.web_groups}
        child = pulumi.ResourceOptions(parent=self)

        refs: dict[str, pulumi.Input[str]] = {
            g.name: g.uuid for g in policy.smart_groups if g.managed and g.uuid
        }
        self.smart_groups = {}
        for group in policy.smart_groups:
            if group.managed or group.name not in used_groups:
                continue
            sg = avx.SmartGroup(
                f"sg-{group.name}",
                avx.SmartGroupArgs(
                    name=group.name,
                    selector=avx.SmartGroupSelector(
                        match_expressions=[
                            match_expression(s, args.k8s_cluster_id) for s in group.selectors
                        ]
                    ),
                ),
                child,
            )
            self.smart_groups[group.name] = sg
            refs[group.name] = sg.uuid
        self.web_groups = {}
        for wg in policy.web_groups:
            if wg.name not in used_web:
                continue
            res = avx.WebGroup(
                f"wg-{wg.name}",
                avx.WebGroupArgs(
                    name=wg.name,
                    selector=avx.WebGroupSelector(
                        match_expressions=[avx.WebMatchExpression(snifilter=d) for d in wg.domains]
                    ),
                ),
                child,
            )
            self.web_groups[wg.name] = res
            refs[wg.name] = res.uuid
        missing = sorted((used_groups | used_web) - refs.keys())
        if missing:
            raise ValueError(f"rules reference groups the policy does not define: {missing}")

        self.rulesets = {}
        for layer, suffix in _ATTACH.items():
            rules = [r for r in owned if r.layer is layer]
            if not rules:
                continue
            attach_to = (args.attachment_points or {}).get(layer)
            if attach_to is None:
                attach_to = avx.get_dcf_attachment_point(
                    ATTACHMENT_POINTS[layer], pulumi.InvokeOutputOptions(parent=self)
                )
            self.rulesets[layer] = avx.DcfRuleset(
                f"{name}-{suffix}",
                avx.DcfRulesetArgs(
                    name=f"{args.name_prefix}-{suffix}",
                    attach_to=attach_to,
                    rules=[_rule(r, refs) for r in rules],
                ),
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[*self.smart_groups.values(), *self.web_groups.values()],
                ),
            )
        self.register_outputs(
            {
                "rulesets": {layer.label: rs.id for layer, rs in sorted(self.rulesets.items())},
                "ruleCount": len(owned),
            }
        )


def _rule(rule: Rule, refs: dict[str, pulumi.Input[str]]) -> avx.DcfRuleArgs:
    return avx.DcfRuleArgs(
        name=rule.name,
        action=rule.action.value,
        priority=rule.priority,
        protocol=rule.protocol.value,
        src_smart_groups=[refs[g] for g in rule.src],
        dst_smart_groups=[refs[g] for g in rule.dst],
        logging=rule.logging,
        watch=rule.watch,
        port_ranges=[avx.PortRangeArgs(lo=p.lo, hi=p.hi) for p in rule.ports] or None,
        web_groups=[refs[w] for w in rule.web_groups] or None,
        flow_app_requirement="TLS_REQUIRED" if rule.tls_required else None,
        decrypt_policy=rule.decrypt_policy.value if rule.decrypt_policy else None,
    )
