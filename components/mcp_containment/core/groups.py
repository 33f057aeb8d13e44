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
from socket import AF_INET, inet_pton

from . import fqdn
from .model import Selector, SelectorKind, SmartGroup

_CGNAT = IPv4Network("100.64.0.0/10")

PodRanges = Mapping[str, tuple[IPv4Network, ...]] | None


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
        return self.of_value(int(ip))

    def of_value(self, value: int) -> int:
        """:meth:`of_address` of the address with this integer value."""
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


def is_public(ip: IPv4Address) -> bool:
    """Public Internet: outside RFC 1918 and every reserved, loopback or link-local range
    (``ip.is_global``, outside 100.64.0.0/10), answered by :func:`_special_ranges` when it
    can be: the standard library tests up to 15 ranges one by one, a log has a million
    addresses."""
    return is_public_value(int(ip))


def is_public_value(value: int) -> bool:
    """:func:`is_public` of the address with this integer value."""
    special = _special_ranges()
    if special is None:
        ip = IPv4Address(value)
        return ip.is_global and ip not in _CGNAT
    octets, index = special
    if value >> 24 not in octets:
        return True
    return _PUBLIC_BY_HIT[index.of_value(value)]


# Bits of a special range: private (1), excepted from private (2), not global (4).
_PUBLIC_BY_HIT = tuple(not (hit & 4) and not (hit & 1 and not hit & 2) for hit in range(8))


@lru_cache(maxsize=1)
def _special_ranges() -> tuple[frozenset[int], CidrIndex] | None:
    """The ranges ``ipaddress`` decides ``is_global`` by (``is_global`` is ``not in
    _public_network and not is_private``; ``is_private`` is ``in _private_networks`` and, from
    Python 3.13, ``not in _private_networks_exceptions``), indexed, with the first octets they
    touch. Read from the standard library's own tables, then checked against it on every
    range's edges: both answers are constant between edges, so agreeing there is agreeing
    everywhere. None (ask ``ipaddress``) when the tables are not where this expects them or
    an answer differs."""
    constants = getattr(IPv4Address, "_constants", None)
    private = getattr(constants, "_private_networks", None)
    excepted = getattr(constants, "_private_networks_exceptions", ())
    not_global = getattr(constants, "_public_network", None)
    if not isinstance(private, list | tuple) or not isinstance(not_global, IPv4Network):
        return None
    ranges = [(n, 1) for n in private] + [(n, 2) for n in excepted]
    ranges += [(not_global, 4), (_CGNAT, 4)]
    if not all(isinstance(n, IPv4Network) for n, _ in ranges):
        return None
    index = CidrIndex(ranges)
    edges = {e for n, _ in ranges for e in _edges(n)}
    for value in edges:
        ip = IPv4Address(value)
        if _PUBLIC_BY_HIT[index.of_address(ip)] != (ip.is_global and ip not in _CGNAT):
            return None
    octets = frozenset(o for n, _ in ranges for o in range(_first_octet(n), _last_octet(n) + 1))
    return octets, index


def _edges(net: IPv4Network) -> list[int]:
    first, last = int(net.network_address), int(net.broadcast_address)
    return [v for v in (first - 1, first, last, last + 1) if 0 <= v <= 0xFFFFFFFF]


def _first_octet(net: IPv4Network) -> int:
    return int(net.network_address) >> 24


def _last_octet(net: IPv4Network) -> int:
    return int(net.broadcast_address) >> 24


def ipv4(text: str) -> IPv4Address:
    """``IPv4Address(text)``, read by :func:`address_value`."""
    return IPv4Address(address_value(text))


def address_value(text: str) -> int:
    """``int(IPv4Address(text))``, the usual dotted quad read in C by ``inet_pton``, whose
    grammar is ``ipaddress``'s (four decimal octets 0-255, no leading zeros, nothing else);
    anything it refuses is handed to ``ipaddress``, errors included."""
    try:
        return int.from_bytes(inet_pton(AF_INET, text), "big")
    except (OSError, ValueError, TypeError):  # UnicodeEncodeError is a ValueError
        return int(IPv4Address(text))


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
        return self._networks.of_value(int(ip)) != 0

    def contains_value(self, value: int) -> bool:
        """:meth:`contains_ip` of the address with this integer value."""
        return self._networks.of_value(value) != 0


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
