"""What a SmartGroup contains: the one definition the simulator and the analysis share.

Sources and destinations are resolved into :class:`Endpoint` values; a group contains an
endpoint when any of its selectors does. ``selector_covers`` answers the static question the
analysis needs (is everything one selector matches also matched by another), conservatively:
it may miss a cover, it never invents one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from . import fqdn
from .model import Selector, SelectorKind, SmartGroup

_CGNAT = IPv4Network("100.64.0.0/10")

PodRanges = Mapping[str, tuple[IPv4Network, ...]] | None


def is_public(ip: IPv4Address) -> bool:
    """Public Internet: outside RFC 1918 and every reserved, loopback or link-local range."""
    return ip.is_global and ip not in _CGNAT


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A resolved source or destination of a flow.

    Exactly one of ``ip``, ``network`` (a group's range), ``host``, ``svctag`` identifies it;
    ``namespace``/``labels`` carry Kubernetes identity for pods.
    """

    identity: str
    ip: IPv4Address | None = None
    network: IPv4Network | None = None
    host: str | None = None
    svctag: str | None = None
    namespace: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    member_of: str | None = None
    """Set for ``group:NAME`` sources: the group the source is a member of by definition."""


class ThreatFeed:
    """The simulated content of the Aviatrix-managed threat group."""

    __slots__ = ("_domains", "_networks")

    def __init__(self, entries: tuple[str, ...]) -> None:
        self._networks: list[IPv4Network] = []
        self._domains = fqdn.DomainIndex()
        for entry in entries:
            try:
                net = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                self._domains.add(entry, 1)
            else:
                if isinstance(net, IPv4Network):
                    self._networks.append(net)

    def contains(self, ep: Endpoint) -> bool:
        if ep.host is not None:
            return self._domains.match(ep.host) != 0
        if ep.ip is not None:
            return any(ep.ip in n for n in self._networks)
        return False


def _in_range(ep: Endpoint, cidr: str | None) -> bool:
    if cidr is None:
        return False
    net = IPv4Network(cidr)
    if ep.ip is not None:
        return ep.ip in net
    if ep.network is not None:
        return ep.network.subnet_of(net)
    return False


def selector_contains(sel: Selector, ep: Endpoint, threat: ThreatFeed) -> bool:
    kind = sel.kind
    if kind is SelectorKind.ANYWHERE:
        return True
    if kind is SelectorKind.PUBLIC_INTERNET:
        if ep.host is not None:
            return not fqdn.is_internal(ep.host)
        if ep.svctag is not None:
            return True
        return ep.ip is not None and is_public(ep.ip)
    if kind in (SelectorKind.CIDR, SelectorKind.SUBNET):
        return _in_range(ep, sel.cidr)
    if kind is SelectorKind.K8S:
        if ep.namespace is None or ep.namespace != sel.k8s_namespace:
            return False
        labels = dict(ep.labels)
        return all(labels.get(k) == v for k, v in sel.tags)
    if kind is SelectorKind.THREAT:
        return threat.contains(ep)
    if kind is SelectorKind.EXTERNAL:
        tag = dict(sel.ext_args).get("service_name")
        return ep.svctag is not None and tag is not None and ep.svctag.lower() == tag.lower()
    return False


def group_contains(group: SmartGroup, ep: Endpoint, threat: ThreatFeed) -> bool:
    if ep.member_of == group.name:
        return True
    return any(selector_contains(s, ep, threat) for s in group.selectors)


def selector_covers(a: Selector, b: Selector, pod_ranges: PodRanges = None) -> bool:
    """Everything ``b`` matches is matched by ``a`` (conservative).

    ``pod_ranges`` maps a namespace to the address ranges its pods draw from; with it, a CIDR
    or subnet selector covers a Kubernetes selector whose pods all get addresses inside it.
    """
    if a.kind is SelectorKind.ANYWHERE:
        return True
    if a == b:
        return True
    if (
        a.kind in (SelectorKind.CIDR, SelectorKind.SUBNET)
        and b.kind is SelectorKind.K8S
        and a.cidr is not None
        and pod_ranges
        and b.k8s_namespace is not None
        and b.k8s_namespace in pod_ranges
    ):
        outer = IPv4Network(a.cidr)
        ranges = pod_ranges[b.k8s_namespace]
        return bool(ranges) and all(r.subnet_of(outer) for r in ranges)
    if a.kind in (SelectorKind.CIDR, SelectorKind.SUBNET) and b.kind in (
        SelectorKind.CIDR,
        SelectorKind.SUBNET,
    ):
        return (
            a.cidr is not None
            and b.cidr is not None
            and IPv4Network(b.cidr).subnet_of(IPv4Network(a.cidr))
        )
    if a.kind is SelectorKind.K8S and b.kind is SelectorKind.K8S:
        return (
            a.k8s_namespace == b.k8s_namespace
            and a.k8s_cluster_id in (None, b.k8s_cluster_id)
            and set(a.tags) <= set(b.tags)
        )
    if a.kind is SelectorKind.PUBLIC_INTERNET:
        # Threat destinations and service tags are public addresses; a public CIDR is too.
        if b.kind in (SelectorKind.THREAT, SelectorKind.EXTERNAL):
            return True
        if b.kind is SelectorKind.CIDR and b.cidr is not None:
            net = IPv4Network(b.cidr)
            return is_public(net.network_address) and is_public(net.broadcast_address)
    return False


def group_covers(a: SmartGroup, b: SmartGroup, pod_ranges: PodRanges = None) -> bool:
    """Every member of ``b`` is a member of ``a`` (conservative)."""
    if a.name == b.name:
        return True
    return all(
        any(selector_covers(sa, sb, pod_ranges) for sa in a.selectors)
        or _pods_covered(a.selectors, sb, pod_ranges)
        for sb in b.selectors
    )


def _pods_covered(outer: tuple[Selector, ...], sb: Selector, pod_ranges: PodRanges) -> bool:
    """Pods of one namespace may draw from several ranges (a pod subnet per zone), each inside
    a different selector of the covering group: covered when every range is in one of them."""
    namespace = sb.k8s_namespace
    if sb.kind is not SelectorKind.K8S or not pod_ranges or namespace is None:
        return False
    nets = [
        IPv4Network(s.cidr)
        for s in outer
        if s.kind in (SelectorKind.CIDR, SelectorKind.SUBNET) and s.cidr is not None
    ]
    ranges = pod_ranges.get(namespace, ())
    return bool(ranges) and all(any(r.subnet_of(n) for n in nets) for r in ranges)
