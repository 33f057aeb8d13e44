"""``DcfRulebase``: the SmartGroups, WebGroups and rulesets of a compiled rulebase.

The rules are never written here: they come from
:func:`mcp_containment.compile.ruleset.compile_rulebase`, the same object the simulator, the
analysis and the policy pack read. This
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

from ...core.export import rulebase_json
from ...core.model import Layer, Rule, Rulebase, Selector, SelectorKind
from . import provider as avx

COMPONENT = "mcp-containment:aviatrix:DcfRulebase"
_ATTACH = {Layer.BEFORE_KUBERNETES: "before-kubernetes", Layer.AFTER_KUBERNETES: "after-kubernetes"}
"""Ruleset name suffixes; the policy pack reads a ruleset's layer back from its name."""
ATTACHMENT_POINTS = {
    Layer.BEFORE_KUBERNETES: "TERRAFORM_BEFORE_UI_MANAGED",
    Layer.AFTER_KUBERNETES: "TERRAFORM_AFTER_UI_MANAGED",
}
"""The controller's attachment points around the rules it manages itself (UI and the
Kubernetes-managed FirewallPolicy rules), resolved to ids by name at deploy time."""


@dataclass(frozen=True, kw_only=True)
class DcfRulebaseArgs:
    rulebase: Rulebase
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


class DcfRulebase(pulumi.ComponentResource):
    smart_groups: dict[str, avx.SmartGroup]
    web_groups: dict[str, avx.WebGroup]
    rulesets: dict[Layer, avx.DcfRuleset]

    def __init__(
        self, name: str, args: DcfRulebaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        rulebase = args.rulebase
        owned = [r for r in rulebase.rules if r.layer in _ATTACH]
        refs: dict[str, pulumi.Input[str]] = {
            g.name: g.uuid for g in rulebase.smart_groups if g.managed and g.uuid
        }
        self.smart_groups = self._smart_groups(rulebase, owned, args.k8s_cluster_id)
        self.web_groups = self._web_groups(rulebase, owned)
        refs.update({n: g.uuid for n, g in self.smart_groups.items()})
        refs.update({n: g.uuid for n, g in self.web_groups.items()})
        used = {g for r in owned for g in (*r.src, *r.dst, *r.web_groups)}
        missing = sorted(used - refs.keys())
        if missing:
            raise ValueError(f"rules reference groups the rulebase does not define: {missing}")
        self.rulesets = self._rulesets(name, args, owned, refs)
        # The whole rulebase by name, known at preview: what the policy pack judges before
        # any group exists to give the rules their UUIDs.
        self.register_outputs(
            {
                "rulesets": {layer.label: rs.id for layer, rs in sorted(self.rulesets.items())},
                "ruleCount": len(owned),
                "rulebase": rulebase_json(rulebase),
            }
        )

    def _smart_groups(
        self, rulebase: Rulebase, owned: list[Rule], k8s_cluster_id: pulumi.Input[str] | None
    ) -> dict[str, avx.SmartGroup]:
        """The groups the owned rules use; Aviatrix-managed ones are referenced, not created."""
        used = {g for r in owned for g in (*r.src, *r.dst)}
        out: dict[str, avx.SmartGroup] = {}
        for group in rulebase.smart_groups:
            if group.managed or group.name not in used:
                continue
            out[group.name] = avx.SmartGroup(
                f"sg-{group.name}",
                avx.SmartGroupArgs(
                    name=group.name,
                    selector=avx.SmartGroupSelector(
                        match_expressions=[
                            match_expression(s, k8s_cluster_id) for s in group.selectors
                        ]
                    ),
                ),
                pulumi.ResourceOptions(parent=self),
            )
        return out

    def _web_groups(self, rulebase: Rulebase, owned: list[Rule]) -> dict[str, avx.WebGroup]:
        used = {w for r in owned for w in r.web_groups}
        return {
            wg.name: avx.WebGroup(
                f"wg-{wg.name}",
                avx.WebGroupArgs(
                    name=wg.name,
                    selector=avx.WebGroupSelector(
                        match_expressions=[avx.WebMatchExpression(snifilter=d) for d in wg.domains]
                    ),
                ),
                pulumi.ResourceOptions(parent=self),
            )
            for wg in rulebase.web_groups
            if wg.name in used
        }

    def _rulesets(
        self,
        name: str,
        args: DcfRulebaseArgs,
        owned: list[Rule],
        refs: dict[str, pulumi.Input[str]],
    ) -> dict[Layer, avx.DcfRuleset]:
        """One ruleset per attachment point, holding that layer's whole ordered list."""
        out: dict[Layer, avx.DcfRuleset] = {}
        for layer, suffix in _ATTACH.items():
            rules = [r for r in owned if r.layer is layer]
            if not rules:
                continue
            attach_to = (args.attachment_points or {}).get(layer)
            if attach_to is None:
                attach_to = avx.get_dcf_attachment_point(
                    ATTACHMENT_POINTS[layer], pulumi.InvokeOutputOptions(parent=self)
                )
            out[layer] = avx.DcfRuleset(
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
        return out


def _rule(rule: Rule, refs: dict[str, pulumi.Input[str]]) -> avx.DcfRuleArgs:
    return avx.DcfRuleArgs(
        name=rule.name,
        action=rule.action.value,
        priority=rule.priority,
        protocol=rule.protocol.value,
        src_smart_groups=[refs[g] for g in rule.src],
        dst_smart_groups=[refs[g] for g in rule.dst],
        logging=rule.logging,
        watch=rule.monitor,
        port_ranges=[avx.PortRangeArgs(lo=p.lo, hi=p.hi) for p in rule.ports] or None,
        web_groups=[refs[w] for w in rule.web_groups] or None,
        flow_app_requirement="TLS_REQUIRED" if rule.tls_required else None,
        decrypt_policy=rule.decrypt_policy.value if rule.decrypt_policy else None,
    )
