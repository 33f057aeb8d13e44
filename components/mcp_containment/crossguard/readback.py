"""Read the layered rulebase back from the resources a preview declares.

The DCF policies judge the rulebase a ``DcfRulebase`` registers (known at preview);
``dcf-rulesets-match-rulebase`` reads its rulesets back with the helpers here (a ruleset's
layer, its rules as core :class:`~mcp_containment.core.model.Rule` values) to hold them to it.
:func:`rulebase_from_resources` rebuilds a whole rulebase from provider resources (SmartGroups,
WebGroups, the rulesets, the DCF default action, the FirewallPolicy band).

Rules reference groups by controller UUID. For groups that already exist, a preview knows
their UUIDs; for groups created in the same preview it does not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from ipaddress import IPv4Network
from typing import Any

from ..config import naming
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
    SmartGroup,
    WebGroup,
)
from ..core.versions import parse_controller_version
from . import resources as res
from .resources import Resource

_AFTER_SUFFIX = "-after-kubernetes"
"""The suffix the library gives the ruleset it attaches after the Kubernetes band."""


def _subnet_cidrs(resources: Sequence[Resource]) -> dict[str, str]:
    """Subnet name (and role) -> range: subnet selectors name a subnet, not its range."""
    out: dict[str, str] = {}
    for r in resources:
        role = res.subnet_role(r)
        cidr = res.cidr_of(r.props)
        if role and cidr:
            out[role] = cidr
            out[str(r.props.get("subnetName") or r.name)] = cidr
    return out


def _rules(r: Resource) -> list[Mapping[str, Any]]:
    return list(r.props.get("rules") or r.props.get("policies") or [])


def _layer(r: Resource) -> Layer:
    name = str(r.props.get("name") or r.name)
    return Layer.AFTER_KUBERNETES if name.endswith(_AFTER_SUFFIX) else Layer.BEFORE_KUBERNETES


def _groups(
    resources: Sequence[Resource], subnets: Mapping[str, str]
) -> tuple[list[SmartGroup], list[WebGroup], dict[str, str]]:
    """SmartGroups and WebGroups, and the UUID -> name map rules are resolved with."""
    smart: list[SmartGroup] = list(names.MANAGED_GROUPS)
    web: list[WebGroup] = []
    by_uuid: dict[str, str] = {g.uuid: g.name for g in names.MANAGED_GROUPS if g.uuid}
    for r in resources:
        if r.type not in (res.SMART_GROUP, res.WEB_GROUP):
            continue
        name = str(r.props.get("name") or r.name)
        matches = (r.props.get("selector") or {}).get("matchExpressions") or []
        if r.type == res.SMART_GROUP:
            smart.append(SmartGroup(name, tuple(Selector.from_wire(m, subnets) for m in matches)))
        else:
            domains = tuple(str(m["snifilter"]) for m in matches if m.get("snifilter"))
            web.append(WebGroup(name, domains))
        if r.props.get("uuid"):
            by_uuid[str(r.props["uuid"])] = name
    return smart, web, by_uuid


def _ruleset_rules(rs: Resource, by_uuid: Mapping[str, str]) -> list[Rule]:
    def resolve(refs: Any) -> tuple[str, ...]:
        return tuple(by_uuid.get(str(u), str(u)) for u in refs or ())

    layer = _layer(rs)
    out = []
    for raw in sorted(_rules(rs), key=lambda x: float(x.get("priority") or 0)):
        decrypt = raw.get("decryptPolicy")
        out.append(
            Rule(
                name=str(raw.get("name")),
                priority=int(raw.get("priority") or 0),
                layer=layer,
                action=Action.DENY if str(raw.get("action")).upper() == "DENY" else Action.PERMIT,
                src=resolve(raw.get("srcSmartGroups")),
                dst=resolve(raw.get("dstSmartGroups")),
                protocol=Protocol.parse(str(raw.get("protocol") or "ANY")) or Protocol.ANY,
                ports=tuple(
                    PortRange(int(p["lo"]), int(p.get("hi") or p["lo"]))
                    for p in raw.get("portRanges") or ()
                ),
                web_groups=resolve(raw.get("webGroups")),
                decrypt_policy=Decrypt(decrypt) if decrypt else None,
                tls_required=raw.get("flowAppRequirement") == "TLS_REQUIRED",
                monitor=bool(raw.get("watch")),
                logging=bool(raw.get("logging")),
            )
        )
    return out


def _manifests(resources: Sequence[Resource]) -> list[dict[str, Any]]:
    """FirewallPolicy objects with rules, ordered as the band is (namespace, then name)."""
    out = [
        {"metadata": r.props.get("metadata") or {}, "spec": r.props.get("spec") or {}}
        for r in resources
        if r.type == res.FIREWALL_POLICY
    ]
    out = [m for m in out if m["spec"].get("rules")]
    return sorted(
        out, key=lambda m: (str(m["metadata"].get("namespace")), str(m["metadata"].get("name")))
    )


def _default_action(resources: Sequence[Resource]) -> DefaultAction:
    for r in resources:
        if r.type == res.DEFAULT_ACTION:
            action = Action.DENY if str(r.props.get("action")).upper() == "DENY" else Action.PERMIT
            return DefaultAction(action, bool(r.props.get("logging")))
    # Owned by the one stack per controller that owns controller-wide objects.
    return DefaultAction(Action.DENY, True)


def rulebase_from_resources(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Rulebase | None:
    """The layered rulebase the resources declare; None when they declare no DCF ruleset."""
    rulesets = [r for r in resources if r.type in res.RULESET_TYPES]
    manifests = _manifests(resources)
    if not rulesets and not manifests:
        return None
    subnets = _subnet_cidrs(resources)
    smart, web, by_uuid = _groups(resources, subnets)
    rules = [rule for rs in rulesets for rule in _ruleset_rules(rs, by_uuid)]
    kubernetes: list[Rule] = []
    for manifest in manifests:
        translated = band.to_rules(manifest)
        smart += translated.smart_groups
        web += translated.web_groups
        kubernetes += translated.rules
    mcp_namespace = manifests[-1]["metadata"].get("namespace") if manifests else None
    pods = subnets.get(naming.POD_SUBNET) or subnets.get(naming.AGENT_SUBNET)
    version = str(config.get("controllerVersion") or "")
    return Rulebase(
        smart_groups=tuple(smart),
        web_groups=tuple(web),
        rules=(
            *(r for r in rules if r.layer is Layer.BEFORE_KUBERNETES),
            *kubernetes,
            *(r for r in rules if r.layer is Layer.AFTER_KUBERNETES),
        ),
        default_action=_default_action(resources),
        transit_attached=any(r.type == res.TRANSIT_ATTACHMENT for r in resources),
        mcp_namespace=mcp_namespace,
        mcp_pod_ranges=(str(IPv4Network(pods)),) if pods and mcp_namespace else (),
        controller_version=parse_controller_version(version) if version else None,
        production=bool(config.get("production")),
    )


def urn_of_rule(resources: Sequence[Resource], rule: str | None) -> str | None:
    """The resource that declares ``rule`` (a ruleset, or a server's FirewallPolicy)."""
    if rule is None:
        return None
    return next(_declaring(resources, rule), None)


def _declaring(resources: Sequence[Resource], rule: str) -> Iterator[str]:
    for r in resources:
        if r.type in res.RULESET_TYPES and any(x.get("name") == rule for x in _rules(r)):
            yield r.urn
        if r.type == res.FIREWALL_POLICY:
            meta = r.props.get("metadata") or {}
            if rule.startswith(f"{meta.get('namespace')}/{meta.get('name')}:"):
                yield r.urn


__all__ = ["rulebase_from_resources", "urn_of_rule"]
