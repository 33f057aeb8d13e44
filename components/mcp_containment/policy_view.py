"""Rebuild the layered DCF policy from the resources a preview declares.

CrossGuard sees resources, not our spec; the rule policies therefore read the provider
resources back into the egress core's :class:`CompiledPolicy` (SmartGroups, WebGroups, the
rulesets before and after the Kubernetes band, the DCF default action, and the FirewallPolicy
objects that make up the band) and hand it to the same analysis the CLI runs.

Rules reference groups by controller UUID. For groups that already exist, a preview knows
their UUIDs; for groups created in the same preview it does not, and CrossGuard marks the rule
policies not applicable for that preview (``containment check`` still covers it offline).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any

from . import naming
from .egress import firewallpolicy
from .egress.model import (
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
from .egress.ruleset import MANAGED_GROUPS
from .spec import parse_version

if TYPE_CHECKING:
    from .policies import Resource

SMART_GROUP = "aviatrix:index/smartGroup:SmartGroup"
WEB_GROUP = "aviatrix:index/webGroup:WebGroup"
DEFAULT_ACTION = (
    "aviatrix:index/distributedFirewallingDefaultActionRule:DistributedFirewallingDefaultActionRule"
)
TRANSIT_ATTACHMENT = "aviatrix:index/spokeTransitAttachment:SpokeTransitAttachment"
RULESET_TYPES = frozenset(
    {
        "aviatrix:index/dcfRuleset:DcfRuleset",
        "aviatrix:index/distributedFirewallingPolicyList:DistributedFirewallingPolicyList",
    }
)
FIREWALL_POLICY = "kubernetes:networking.aviatrix.com/v1alpha1:FirewallPolicy"

_KIND = {
    "cidr": SelectorKind.CIDR,
    "subnet": SelectorKind.SUBNET,
    "k8s": SelectorKind.K8S,
}


def _selector(m: Mapping[str, Any], subnet_cidrs: Mapping[str, str]) -> Selector:
    if m.get("external"):
        return Selector(
            SelectorKind.EXTERNAL,
            external=m["external"],
            ext_args=tuple(sorted((m.get("extArgs") or {}).items())),
        )
    if m.get("cidr") and not m.get("type"):
        kind = SelectorKind.ANYWHERE if m["cidr"] == "0.0.0.0/0" else SelectorKind.CIDR
        return Selector(kind, cidr=m["cidr"])
    kind = _KIND.get(str(m.get("type")), SelectorKind.CIDR)
    return Selector(
        kind,
        # Subnet selectors name a subnet; its range comes from the subnet resource itself.
        cidr=m.get("cidr") or subnet_cidrs.get(str(m.get("name"))),
        account_name=m.get("accountName"),
        name=m.get("name"),
        region=m.get("region"),
        k8s_cluster_id=m.get("k8sClusterId"),
        k8s_namespace=m.get("k8sNamespace"),
        tags=tuple(sorted((m.get("tags") or {}).items())),
    )


def _subnet_cidrs(resources: Sequence[Resource]) -> dict[str, str]:
    from .policies import _cidr, subnet_role  # noqa: PLC0415 - shared resource helpers

    out: dict[str, str] = {}
    for r in resources:
        role = subnet_role(r)
        cidr = _cidr(r.props)
        if role and cidr:
            out[role] = cidr
            out[str(r.props.get("subnetName") or r.name)] = cidr
    return out


def _rules(r: Resource) -> list[Mapping[str, Any]]:
    return list(r.props.get("rules") or r.props.get("policies") or [])


def _layer(r: Resource) -> Layer:
    where = " ".join(str(r.props.get(k) or "") for k in ("attachTo", "attachmentPoint", "name"))
    return Layer.AFTER_KUBERNETES if "after" in where.lower() else Layer.BEFORE_KUBERNETES


def compiled_from_resources(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> CompiledPolicy | None:
    """The layered policy the resources declare; None when they declare no DCF ruleset."""
    rulesets = [r for r in resources if r.type in RULESET_TYPES]
    policies = [r for r in resources if r.type == FIREWALL_POLICY]
    if not rulesets and not policies:
        return None
    subnets = _subnet_cidrs(resources)
    groups: list[SmartGroup] = list(MANAGED_GROUPS)
    names: dict[str, str] = {g.uuid: g.name for g in MANAGED_GROUPS if g.uuid}
    for r in resources:
        if r.type == SMART_GROUP:
            name = str(r.props.get("name") or r.name)
            matches = (r.props.get("selector") or {}).get("matchExpressions") or []
            groups.append(SmartGroup(name, tuple(_selector(m, subnets) for m in matches)))
            if r.props.get("uuid"):
                names[str(r.props["uuid"])] = name
    web_groups: list[WebGroup] = []
    for r in resources:
        if r.type == WEB_GROUP:
            name = str(r.props.get("name") or r.name)
            matches = (r.props.get("selector") or {}).get("matchExpressions") or []
            web_groups.append(
                WebGroup(
                    name, tuple(str(m.get("snifilter")) for m in matches if m.get("snifilter"))
                )
            )
            if r.props.get("uuid"):
                names[str(r.props["uuid"])] = name

    def resolve(refs: Any) -> tuple[str, ...]:
        return tuple(names.get(str(u), str(u)) for u in refs or ())

    before: list[Rule] = []
    after: list[Rule] = []
    for rs in rulesets:
        layer = _layer(rs)
        for raw in sorted(_rules(rs), key=lambda x: float(x.get("priority") or 0)):
            decrypt = raw.get("decryptPolicy")
            rule = Rule(
                name=str(raw.get("name")),
                priority=int(raw.get("priority") or 0),
                layer=layer,
                action=Action.DENY if str(raw.get("action")).upper() == "DENY" else Action.PERMIT,
                src=resolve(raw.get("srcSmartGroups")),
                dst=resolve(raw.get("dstSmartGroups")),
                protocol=Protocol(str(raw.get("protocol") or "ANY").upper()),
                ports=tuple(
                    PortRange(int(p["lo"]), int(p.get("hi") or p["lo"]))
                    for p in raw.get("portRanges") or ()
                ),
                web_groups=resolve(raw.get("webGroups")),
                decrypt_policy=Decrypt(decrypt) if decrypt else None,
                tls_required=raw.get("flowAppRequirement") == "TLS_REQUIRED",
                watch=bool(raw.get("watch")),
                logging=bool(raw.get("logging")),
            )
            (after if layer is Layer.AFTER_KUBERNETES else before).append(rule)
    band: list[Rule] = []
    mcp_namespace = None
    for r in sorted(
        policies,
        key=lambda p: (
            str((p.props.get("metadata") or {}).get("namespace")),
            str((p.props.get("metadata") or {}).get("name")),
        ),
    ):
        manifest = {"metadata": r.props.get("metadata") or {}, "spec": r.props.get("spec") or {}}
        if not manifest["spec"].get("rules"):
            continue
        translated = firewallpolicy.to_rules(manifest)
        groups += translated.smart_groups
        web_groups += translated.web_groups
        band += translated.rules
        mcp_namespace = manifest["metadata"].get("namespace")
    defaults = [r for r in resources if r.type == DEFAULT_ACTION]
    if defaults:
        d = defaults[0].props
        default = DefaultAction(
            Action.DENY if str(d.get("action")).upper() == "DENY" else Action.PERMIT,
            bool(d.get("logging")),
        )
    else:
        # Owned by the one stack per controller that owns controller-wide objects.
        default = DefaultAction(Action.DENY, True)
    pods = subnets.get(naming.POD_SUBNET) or subnets.get(naming.AGENT_SUBNET)
    version = str(config.get("controllerVersion") or "")
    return CompiledPolicy(
        smart_groups=tuple(groups),
        web_groups=tuple(web_groups),
        rules=(*before, *band, *after),
        default_action=default,
        transit_attached=any(r.type == TRANSIT_ATTACHMENT for r in resources),
        mcp_namespace=mcp_namespace,
        mcp_pod_ranges=(str(IPv4Network(pods)),) if pods and mcp_namespace else (),
        controller_version=parse_version(version) if version else None,
        production=bool(config.get("production")),
    )


def urn_of_rule(resources: Sequence[Resource], rule: str | None) -> str | None:
    """The resource that declares ``rule`` (a ruleset, or a server's FirewallPolicy)."""
    if rule is None:
        return None
    for r in _declaring(resources, rule):
        return r.urn
    return None


def _declaring(resources: Sequence[Resource], rule: str) -> Iterator[Resource]:
    for r in resources:
        if r.type in RULESET_TYPES and any(x.get("name") == rule for x in _rules(r)):
            yield r
        if r.type == FIREWALL_POLICY:
            meta = r.props.get("metadata") or {}
            if rule.startswith(f"{meta.get('namespace')}/{meta.get('name')}:"):
                yield r


__all__ = ["compiled_from_resources", "urn_of_rule"]
