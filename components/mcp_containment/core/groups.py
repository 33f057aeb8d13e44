"""What a SmartGroup contains: the one definition the simulator and the analysis share.

Sources and destinations are resolved into :class:`Endpoint` values; a group contains an
endpoint when any of its selectors does. ``selector_covers`` answers the static question the
analysis needs (is everything one selector matches also matched by another), conservatively:
it may miss a cover, it never invents one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
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


@lru_cache(maxsize=4096)
def network(cidr: str) -> IPv4Network:
    """``IPv4Network(cidr)``, parsed once per distinct text (selectors are tested per flow)."""
    return IPv4Network(cidr)


class CidrIndex:
    """IPv4 ranges, each with a bitmask, indexed by prefix length: the ranges that contain an
    address (or a whole range) cost one lookup per distinct prefix length, however many
    ranges there are."""

    __slots__ = ("_by_length",)

    def __init__(self, entries: Iterable[tuple[IPv4Network, int]] = ()) -> None:
        by_length: dict[int, dict[int, int]] = {}
        for net, bits in entries:
            table = by_length.setdefault(net.prefixlen, {})
            key = int(net.network_address)
            table[key] = table.get(key, 0) | bits
        # (prefix length, netmask, table), shortest prefix first.
        self._by_length = tuple(
            (length, (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF, table)
            for length, table in sorted(by_length.items())
        )

    def __bool__(self) -> bool:
        return bool(self._by_length)

    def of_address(self, ip: IPv4Address) -> int:
        """The OR of the bits of every range containing ``ip``."""
        value = int(ip)
        bits = 0
        for _, mask, table in self._by_length:
            hit = table.get(value & mask)
            if hit is not None:
                bits |= hit
        return bits

    def of_network(self, net: IPv4Network) -> int:
        """The OR of the bits of every range ``net`` is a subnet of."""
        value = int(net.network_address)
        bits = 0
        for length, mask, table in self._by_length:
            if length > net.prefixlen:
                break
            hit = table.get(value & mask)
            if hit is not None:
                bits |= hit
        return bits


class ThreatFeed:
    """The simulated content of the Aviatrix-managed threat group."""

    __slots__ = ("_domains", "_networks", "domains")

    def __init__(self, entries: tuple[str, ...]) -> None:
        networks: list[tuple[IPv4Network, int]] = []
        domains: list[str] = []
        for entry in entries:
            try:
                net = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                domains.append(entry)
            else:
                if isinstance(net, IPv4Network):
                    networks.append((net, 1))
        self.domains = tuple(domains)
        """The feed's names (the rest are ranges)."""
        self._domains = fqdn.DomainIndex((d, 1) for d in domains)
        self._networks = CidrIndex(networks)

    def contains(self, ep: Endpoint) -> bool:
        if ep.host is not None:
            return self.contains_host(ep.host)
        if ep.ip is not None:
            return self.contains_ip(ep.ip)
        return False

    def contains_host(self, host: str) -> bool:
        return bool(self.domains) and self._domains.match(host) != 0

    def contains_ip(self, ip: IPv4Address) -> bool:
        return self._networks.of_address(ip) != 0


def _in_range(ep: Endpoint, cidr: str | None) -> bool:
    if cidr is None:
        return False
    net = network(cidr)
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
    return all(any(selector_covers(sa, sb, pod_ranges) for sa in a.selectors) for sb in b.selectors)
