"""DCF on the controller: one stack's groups and rulesets (``DcfRulebase``), and the
controller-wide objects one stack owns for all of them (``DcfController``).

The rules are never written here: they come from
:func:`mcp_containment.compile.ruleset.compile_rulebase`, the same object the simulator, the
analysis and the policy pack read. Each Terraform layer of a rulebase is one ruleset object
holding that layer's whole ordered list, so a rule change is a single update and enforcement
never runs on a half-applied list. The Kubernetes band itself is declared by the
FirewallPolicy objects (:mod:`mcp_containment.infra.kubernetes`), whose groups the cluster's
controller creates; Aviatrix-managed groups (Anywhere, Public Internet, the threat group) are
referenced by their well-known ids, never created.

The policy tree. An attachment point of the controller holds exactly one object (the
provider's ``aviatrix_dcf_ruleset`` docs), so no stack attaches a ruleset to the controller's
own points. The owner stack attaches one policy group to each of them
(``TERRAFORM_BEFORE_UI_MANAGED``, ``TERRAFORM_AFTER_UI_MANAGED`` and, where the controller has
it, ``TERRAFORM_AFTER_K8S_MANAGED``), each holding one named attachment point per stack on the
controller (``<prefix>-before-ui``...); every stack, the owner included, attaches its ruleset
for that layer to its own point. Whatever order stacks are deployed in, every point holds at
most one object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from ...core import names
from ...core.export import rulebase_json
from ...core.model import TERRAFORM_LAYERS, Layer, Rule, Rulebase, Selector, SelectorKind
from . import provider as avx

COMPONENT = "mcp-containment:aviatrix:DcfRulebase"
CONTROLLER_COMPONENT = "mcp-containment:aviatrix:DcfController"
DCF_FEATURE = "microseg"
"""``aviatrix_config_feature`` name of Distributed Cloud Firewall. The provider deprecates
``aviatrix_distributed_firewalling_config`` for it (its DeprecationMessage at v8.2.20)."""
POINT_PRIORITY_STEP = 10
"""Child attachment points are numbered 10, 20, ... in the order stacks are listed, leaving
room to insert one between two without renumbering."""


def _lookup(
    point: str, parent: pulumi.Resource, after: Sequence[pulumi.Resource] = ()
) -> pulumi.Output[str]:
    opts = pulumi.InvokeOutputOptions(parent=parent, depends_on=list(after) or None)
    return avx.get_dcf_attachment_point(point, opts)


@dataclass(frozen=True, kw_only=True)
class DcfRulebaseArgs:
    rulebase: Rulebase
    name_prefix: str
    """This stack's controller-scope prefix: names its rulesets and its attachment points
    (the rulebase's groups already carry it)."""
    k8s_cluster_id: pulumi.Input[str] | None = None
    """The onboarded cluster's id for Kubernetes selectors (defaults to the compiled value)."""
    attachment_points: Mapping[Layer, pulumi.Input[str]] | None = None
    """Ids of this stack's own attachment points, per layer, where the controller's name
    lookup is unreliable; the others are looked up by name."""
    points_declared_by: Sequence[pulumi.Resource] = ()
    """What declares this stack's attachment points when it is in the same program (the
    owner's :class:`DcfController`): the lookups wait for it."""


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
        owned = [r for r in rulebase.rules if r.layer in TERRAFORM_LAYERS]
        refs: dict[str, pulumi.Input[str]] = {
            g.name: g.uuid for g in rulebase.smart_groups if g.managed and g.uuid
        }
        self._name = name
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
                f"{self._name}-sg-{group.name}",
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
                f"{self._name}-wg-{wg.name}",
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
        """One ruleset per Terraform layer, on this stack's own attachment point there."""
        out: dict[Layer, avx.DcfRuleset] = {}
        for layer in TERRAFORM_LAYERS:
            rules = [r for r in owned if r.layer is layer]
            if not rules:
                continue
            attach_to = (args.attachment_points or {}).get(layer)
            if attach_to is None:
                point = names.attachment_point(args.name_prefix, layer)
                attach_to = _lookup(point, self, args.points_declared_by)
            out[layer] = avx.DcfRuleset(
                f"{name}-{layer.label}",
                avx.DcfRulesetArgs(
                    name=names.ruleset(args.name_prefix, layer),
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


# --- the controller-wide objects ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DcfControllerArgs:
    name_prefix: str
    """The owner's prefix: names the policy groups of the tree."""
    environments: Sequence[str]
    """The name prefixes of every stack on the controller, the owner's first: each gets its
    own attachment point under every Terraform point, evaluated in this order."""
    layers: Sequence[Layer] = (Layer.BEFORE_UI, Layer.AFTER_UI)
    """The Terraform layers the controller has (``Layer.AFTER_KUBERNETES`` only where it has
    ``TERRAFORM_AFTER_K8S_MANAGED``)."""
    default_action: str = "DENY"
    """The DCF default action (the controller's own default is PERMIT any to any)."""
    attachment_points: Mapping[Layer, pulumi.Input[str]] = field(default_factory=dict)
    """Ids of the controller's Terraform attachment points, where the name lookup is
    unreliable; the others are looked up by name once DCF is enabled."""
    protect: bool = True
    """Protect the DCF switch: deleting it disables DCF for every stack on the controller.
    Follows the owner stack's protection (production unless configured otherwise)."""


class DcfController(pulumi.ComponentResource):
    """DCF switched on, its default action, and the top of the policy tree: declared by the
    one stack per controller that owns controller-wide objects."""

    switch: avx.ConfigFeature
    default_action: avx.DistributedFirewallingDefaultActionRule
    policy_groups: dict[Layer, avx.DcfPolicyGroup]

    def __init__(
        self, name: str, args: DcfControllerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(CONTROLLER_COMPONENT, name, None, opts)
        if len(set(args.environments)) != len(args.environments):
            raise ValueError(f"environments must be distinct: {list(args.environments)}")
        # Deleting the switch disables DCF for every stack on the controller.
        self.switch = avx.ConfigFeature(
            f"{name}-dcf",
            avx.ConfigFeatureArgs(feature_name=DCF_FEATURE, is_enabled=True),
            pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.default_action = avx.DistributedFirewallingDefaultActionRule(
            f"{name}-default-action",
            avx.DistributedFirewallingDefaultActionRuleArgs(
                action=args.default_action, logging=True
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.switch]),
        )
        self.policy_groups = {layer: self._policy_group(name, args, layer) for layer in args.layers}
        self.register_outputs(
            {
                "policyGroups": {
                    layer.label: group.id for layer, group in sorted(self.policy_groups.items())
                },
                "attachmentPoints": sorted(
                    names.attachment_point(env, layer)
                    for env in args.environments
                    for layer in args.layers
                ),
            }
        )

    def _policy_group(self, name: str, args: DcfControllerArgs, layer: Layer) -> avx.DcfPolicyGroup:
        # The lookup before DCF is enabled returns ids that orphan what is attached to them
        # (provider 8.2.10 release notes): it waits for the switch.
        attach_to = args.attachment_points.get(layer)
        if attach_to is None:
            attach_to = _lookup(str(layer.attachment_point), self, [self.switch])
        return avx.DcfPolicyGroup(
            f"{name}-{layer.label}",
            avx.DcfPolicyGroupArgs(
                name=names.policy_group(args.name_prefix, layer),
                attach_to=attach_to,
                attachment_points=[
                    avx.PolicyGroupAttachmentPointArgs(
                        name=names.attachment_point(env, layer),
                        priority=(i + 1) * POINT_PRIORITY_STEP,
                    )
                    for i, env in enumerate(args.environments)
                ],
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.switch]),
        )
