"""The rulesets and groups a ``DcfRulebase`` creates hold exactly the rulebase it registers.

The DCF policies judge the rulebase a component declares (its ``rulebase`` output); what the
gateway enforces is the component's children. This check holds the two together: rule by rule
(names in order, priority, action, protocol, ports, mode, logging, decryption, TLS) and group
by group (selectors, domains). Rules reference groups by UUID: a UUID that is known must be the
declared group's; one that is not (a group the same preview creates) must stand where the
declaration names such a group. That residue, which of the groups being created a reference
points at, is checked exactly once every UUID is known: by the update's own run of the pack
(stack policies run last, after the change) and by every later preview.
A Kubernetes selector's cluster id is the caller's to set (``DcfRulebaseArgs``) and is not
compared, nor a subnet selector's range, which the wire form does not carry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from ...core import names
from ...core.model import Layer, Rule, Rulebase, Selector, SelectorKind
from .. import resources as res
from ..readback import raw_rules, ruleset_layer, ruleset_rules
from ..resources import Resource, is_unknown
from .dcf import rulebase_components

PENDING: Final = "(a group created in this preview)"
"""What a rule's reference to a group with a still unknown UUID resolves to."""
_REFS: Final = (("srcSmartGroups", "src"), ("dstSmartGroups", "dst"), ("webGroups", "web_groups"))
_FIELDS: Final = (
    ("priority", "priority"),
    ("action", "action"),
    ("protocol", "protocol"),
    ("ports", "ports"),
    ("mode", "monitor"),
    ("logging", "logging"),
    ("decryption", "decrypt_policy"),
    ("TLS requirement", "tls_required"),
)
_NOT_IN_RULESETS: Final = frozenset({Layer.KUBERNETES, Layer.DEFAULT})
"""Layers no ruleset of the component holds (the FirewallPolicy band, the default action)."""


def check_rulesets_match(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    for component, rulebase in rulebase_components(resources):
        children = [r for r in resources if r.parent == component.urn]
        uuids, pending = _group_refs(children)
        yield from _groups_match(rulebase, children)
        yield from _rulesets_match(component, rulebase, children, uuids, pending)


def _group_refs(children: Sequence[Resource]) -> tuple[dict[str, str], set[str]]:
    """UUID -> group name for the groups whose UUID is known; names of those whose is not."""
    uuids = {g.uuid: g.name for g in names.MANAGED_GROUPS if g.uuid}
    pending: set[str] = set()
    for r in children:
        if r.type not in (res.SMART_GROUP, res.WEB_GROUP):
            continue
        uuid = r.props.get("uuid")
        if is_unknown(uuid):
            pending.add(str(r.props.get("name")))
        elif uuid:
            uuids[str(uuid)] = str(r.props.get("name"))
    return uuids, pending


def _comparable(s: Selector) -> Selector:
    return replace(s, cidr=None if s.kind is SelectorKind.SUBNET else s.cidr, k8s_cluster_id=None)


def _groups_match(rulebase: Rulebase, children: Sequence[Resource]) -> Iterator[tuple[str, str]]:
    declared_smart = {g.name: g for g in rulebase.smart_groups}
    declared_web = {w.name: w for w in rulebase.web_groups}
    for r in children:
        name = str(r.props.get("name"))
        matches = (r.props.get("selector") or {}).get("matchExpressions") or []
        if r.type == res.WEB_GROUP:
            domains = tuple(str(m.get("snifilter")) for m in matches)
            web = declared_web.get(name)
            if web is None or web.domains != domains:
                want = list(web.domains) if web else "no such WebGroup"
                yield (
                    f"WebGroup {name!r} matches {list(domains)}; the rulebase declares {want}",
                    r.urn,
                )
        elif r.type == res.SMART_GROUP:
            selectors = tuple(_comparable(Selector.from_wire(m)) for m in matches)
            smart = declared_smart.get(name)
            if smart is None or tuple(_comparable(s) for s in smart.selectors) != selectors:
                want = "its selectors differ" if smart else "the rulebase declares no such group"
                yield f"SmartGroup {name!r} does not match its declaration: {want}", r.urn


def _rulesets_match(
    component: Resource,
    rulebase: Rulebase,
    children: Sequence[Resource],
    uuids: Mapping[str, str],
    pending: set[str],
) -> Iterator[tuple[str, str]]:
    held: set[Layer] = set()
    for rs in children:
        if rs.type not in res.RULESET_TYPES:
            continue
        layer = ruleset_layer(rs)
        held.add(layer)
        expected = [r for r in rulebase.rules if r.layer is layer]
        actual = ruleset_rules(_resolved(rs, uuids), {})
        for message in _compare(expected, actual, pending):
            yield f"ruleset {rs.props.get('name')!r}: {message}", rs.urn
    for layer in sorted({r.layer for r in rulebase.rules} - held - _NOT_IN_RULESETS):
        yield (
            f"the rulebase declares {layer.label} rules but no ruleset of the component holds them",
            component.urn,
        )


def _resolved(rs: Resource, uuids: Mapping[str, str]) -> Resource:
    """The ruleset with its group references replaced by group names."""

    def resolve(refs: Any) -> list[str]:
        return [PENDING if is_unknown(u) else uuids.get(str(u), str(u)) for u in refs or ()]

    rules = [
        {**raw, **{wire: resolve(raw.get(wire)) for wire, _ in _REFS}} for raw in raw_rules(rs)
    ]
    return replace(rs, props={**rs.props, "rules": rules})


def _compare(expected: list[Rule], actual: list[Rule], pending: set[str]) -> Iterator[str]:
    want, have = [r.name for r in expected], [r.name for r in actual]
    if want != have:
        yield f"holds rules {have}; the rulebase declares {want}, in this order"
        return
    for e, a in zip(expected, actual, strict=True):
        diffs = [
            f"{label} {getattr(a, attr)!r} (declared {getattr(e, attr)!r})"
            for label, attr in _FIELDS
            if getattr(a, attr) != getattr(e, attr)
        ]
        for wire, attr in _REFS:
            got, decl = getattr(a, attr), getattr(e, attr)
            if len(got) != len(decl) or any(
                g != d and not (g == PENDING and d in pending)
                for g, d in zip(got, decl, strict=True)
            ):
                diffs.append(f"{wire} {list(got)} (declared {list(decl)})")
        if diffs:
            yield f"rule {e.name!r} differs from the declared rulebase: {'; '.join(diffs)}"
