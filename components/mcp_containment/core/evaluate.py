"""First-match evaluation of flows against a rulebase.

:class:`Evaluator` is built once per rulebase and answers many flows: group membership is
memoised per endpoint, WebGroup membership per hostname comes from one compiled domain index,
and each source maps to the short list of rules that could match it, so a verdict never
scans every rule or every domain. :func:`decide` gives one flow's verdict with the audit
record a SOC would read.

Semantics: protocol ANY matches all; no port ranges match every port; the source must be in a
source group and the destination in a destination group; a rule with WebGroups also needs
the flow's hostname (SNI) to match one of their entries, so a flow to a bare IP never matches
it. A matching rule in monitor mode permits, reports the action it would take, and stops
evaluation; when nothing matches, the default action applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Network
from typing import Any

from . import fqdn
from .cache import Recent
from .groups import (
    CidrIndex,
    Endpoint,
    ThreatFeed,
    group_contains,
    is_public,
    is_public_value,
    network,
)
from .model import Action, Layer, Protocol, Rule, Rulebase, Selector, SelectorKind, SmartGroup


class FlowError(ValueError):
    """A flow that cannot be evaluated (unknown group, malformed address, bad port...)."""


# --- evaluation -------------------------------------------------------------------------------

NO_MATCH = -1
MEMO_LIMIT = 20_000
"""Endpoints each memo keeps (sources, destinations); the least recently used go first."""
_ICMP = Protocol.ICMP.code  # ICMP has no ports


@dataclass(frozen=True, slots=True, eq=False)
class PreparedSource:
    """A source resolved once: its group mask and the rules whose sources contain it. One
    value per mask (:meth:`Evaluator.source`), compared and hashed by identity."""

    mask: int
    rules: tuple[int, ...]
    tests: tuple[_Test, ...] = ()
    """What each of ``rules`` needs of a flow, side by side (the inner loop reads only this)."""


_Test = tuple[int, int, int, "frozenset[int] | None", tuple[tuple[int, int], ...]]
"""(rule index, protocol code or 0, destination kinds, WebGroups or None, port ranges)."""


@dataclass(frozen=True, slots=True, eq=False)
class PreparedDestination:
    """A destination resolved once: the kinds of destination group it belongs to and, for
    hostnames, its WebGroups. Shared by every destination of the same kinds and WebGroups,
    compared and hashed by identity."""

    mask: int
    webs: frozenset[int] = frozenset()
    """The WebGroups whose domains match the hostname, by index."""


class Evaluator:
    """A compiled rulebase prepared for fast first-match evaluation.

    Nothing a flow costs grows with the number of servers. A source's groups come from
    indexes (label groups by namespace and label, ranges by prefix length, the rest by kind),
    and its rules from the groups' rule lists: an MCP pod sees the base rules and its own
    FirewallPolicy, not every server's. A destination's groups come from the kinds of
    destination group (anywhere, public, threat, CIDR, service tag) and its WebGroups from one
    domain index, a bare name's prepared value by its class. A verdict is then a short loop
    over a handful of rules.
    """

    def __init__(self, rulebase: Rulebase) -> None:
        self.rulebase = rulebase
        self.threat = ThreatFeed(rulebase.threat_feed)
        self._groups = rulebase.smart_groups
        bit = {g.name: 1 << i for i, g in enumerate(self._groups)}
        wg_bit = {w.name: 1 << i for i, w in enumerate(rulebase.web_groups)}
        self._domains = _NameIndex(rulebase, wg_bit, self.threat)
        self.rules = rulebase.rules
        self._proto: list[int] = []
        self._ports: list[tuple[tuple[int, int], ...]] = []
        self._src: list[int] = []
        self._dst: list[int] = []
        self._wg: list[frozenset[int] | None] = []
        by_source_group: dict[int, list[int]] = {}
        for i, r in enumerate(self.rules):
            self._proto.append(r.protocol.code)
            self._ports.append(tuple((p.lo, p.hi) for p in r.ports))
            self._src.append(_mask(bit, r.src, r.name, "source"))
            self._dst.append(_mask(bit, r.dst, r.name, "destination"))
            web = _mask(wg_bit, r.web_groups, r.name, "WebGroup")
            self._wg.append(frozenset(_bits(web)) if web else None)
            for name in set(r.src):
                by_source_group.setdefault(bit[name].bit_length() - 1, []).append(i)
        self._rules_of_group = by_source_group
        self._identity = [_is_identity(g) for g in self._groups]
        self._src_kinds = _SourceIndex(self._groups, _union(self._src))
        self._dst_kinds = _DestinationKinds(self._groups, _union(self._dst), self.threat)
        # A rule's destinations as kinds of destination, not groups: small masks, and the
        # thousands of per-server "any destination" groups are one kind.
        self._dst = [self._dst_kinds.kinds_of(m) for m in self._dst]
        self._src_memo: Recent[Endpoint, PreparedSource] = Recent(MEMO_LIMIT)
        self._dst_memo: Recent[Endpoint, PreparedDestination] = Recent(MEMO_LIMIT)
        self._rule_lists: Recent[int, PreparedSource] = Recent(MEMO_LIMIT)
        self._kinds: Recent[tuple[int, frozenset[int]], PreparedDestination] = Recent(MEMO_LIMIT)
        # A bare name's value by its kinds (anywhere, +public, +threat) and its one WebGroup
        # (the last slot: none).
        slots = len(rulebase.web_groups) + 1
        self._named_rows: list[list[PreparedDestination | None]] = [
            [None] * slots for _ in range(4)
        ]
        self._name_class = self._domains.classify
        self._by_name_class: dict[int, PreparedDestination] = {}
        self._unnamed: dict[int, PreparedDestination] = {}

    # -- preparing endpoints -------------------------------------------------------------------

    def prepare_source(self, ep: Endpoint) -> PreparedSource:
        """:meth:`source`, memoised per endpoint."""
        return self._src_memo.find(ep) or self._src_memo.put(ep, self.source(ep))

    def prepare_destination(self, ep: Endpoint) -> PreparedDestination:
        """:meth:`destination`, memoised per endpoint."""
        return self._dst_memo.find(ep) or self._dst_memo.put(ep, self.destination(ep))

    def source(self, ep: Endpoint) -> PreparedSource:
        """A source's groups and candidate rules (not memoised: for callers that cache on the
        text they resolved the endpoint from)."""
        mask = self._src_kinds.mask(ep, self.threat)
        # Sources of the same groups share one value: callers may key on it.
        hit = self._rule_lists.find(mask)
        if hit is None:
            hit = self._rule_lists.put(mask, PreparedSource(mask, *self._rules_for(mask)))
        return hit

    def destination(self, ep: Endpoint) -> PreparedDestination:
        """A destination's groups and WebGroups (not memoised, as :meth:`source`)."""
        if ep.host is not None and fqdn.normalize(ep.host) != ep.host:
            # WebGroups match the name as given, the internal and threat checks normalise it.
            webs = self._domains.webs(ep.host)
            internal, listed = fqdn.is_internal(ep.host), self.threat.contains_host(ep.host)
            address = int(ep.ip) if ep.ip is not None else None
            kinds = self._dst_kinds.mask(ep.host, address, ep.svctag, internal, listed)
            return self._shared(kinds, webs)
        return self.destination_of(ep.host, int(ep.ip) if ep.ip is not None else None, ep.svctag)

    def destination_of(
        self, host: str | None, address: int | None = None, svctag: str | None = None
    ) -> PreparedDestination:
        """:meth:`destination` of the endpoint with these fields (a log's destination needs
        no :class:`Endpoint`): ``host`` normalised (:func:`fqdn.normalize`), ``address`` an
        IPv4 address as an integer."""
        if host is None:
            kinds = self._dst_kinds.mask(None, address, svctag, False, False)
            hit = self._unnamed.get(kinds)  # an address: one value per kinds
            if hit is None:
                hit = self._unnamed[kinds] = PreparedDestination(kinds, _NONE)
            return hit
        if address is None and svctag is None and host[:2] != "*.":
            # The usual destination, a bare name: its value depends only on which patterns
            # match it, so names share one value per set of patterns (as many as the policy
            # has, whatever the log brings).
            cls = self._name_class(host)
            hit = self._by_name_class.get(cls)
            if hit is None:
                hit = self._by_name_class[cls] = self._named(host)
            return hit
        _, webs, internal, listed = self._domains.match(host)
        return self._shared(self._dst_kinds.mask(host, address, svctag, internal, listed), webs)

    def _named(self, host: str) -> PreparedDestination:
        """:meth:`destination_of` a bare name (no address, no service tag)."""
        one, webs, internal, listed = self._domains.match(host)
        if one < 0:
            return self._shared(self._dst_kinds.mask(host, None, None, internal, listed), webs)
        # A name in at most one WebGroup: its value is one of a few per WebGroup
        # (_DestinationKinds.mask for a bare name, inlined).
        kinds = _ANYWHERE if internal else _ANYWHERE | _PUBLIC
        if listed and self._dst_kinds.threat:
            kinds |= _THREAT
        row = self._named_rows[kinds >> 1]
        hit = row[one]
        if hit is None:
            hit = row[one] = PreparedDestination(kinds, webs)
        return hit

    def _shared(self, kinds: int, webs: frozenset[int]) -> PreparedDestination:
        # Destinations come in few kinds (a server's names share its WebGroup): one value
        # per kind keeps a cache of a million names small.
        key = (kinds, webs)
        hit = self._kinds.find(key)
        if hit is None:
            hit = self._kinds.put(key, PreparedDestination(kinds, webs))
        return hit

    def _rules_for(self, mask: int) -> tuple[tuple[int, ...], tuple[_Test, ...]]:
        """The rules whose sources intersect ``mask``, in evaluation order, and their tests."""
        found: set[int] = set()
        by_group = self._rules_of_group
        for i in _bits(mask):
            found.update(by_group.get(i, ()))
        rules = tuple(sorted(found))
        tests = tuple((i, self._proto[i], self._dst[i], self._wg[i], self._ports[i]) for i in rules)
        return rules, tests

    def source_mask(self, ep: Endpoint) -> int:
        return self.prepare_source(ep).mask

    # -- matching ------------------------------------------------------------------------------

    def first_match(self, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol) -> int:
        """Index of the first matching rule, or NO_MATCH (the default action applies)."""
        return self.match_prepared(
            self.prepare_source(src), self.prepare_destination(dst), port, protocol.code
        )

    def match_prepared(
        self, src: PreparedSource, dst: PreparedDestination, port: int, proto: int
    ) -> int:
        """The inner loop: ``proto`` is a :attr:`Protocol.code` (1 tcp, 2 udp, 3 icmp)."""
        dmask, webs = dst.mask, dst.webs
        # The checks in the order that rejects soonest: most candidates of a flow fail on
        # the destination's kind, then on its WebGroup.
        for i, p, kinds, w, ports in src.tests:
            if not kinds & dmask:
                continue
            if w is not None and w.isdisjoint(webs):
                continue
            if p and p != proto:
                continue
            if ports and proto != _ICMP:
                for lo, hi in ports:
                    if lo <= port <= hi:
                        break
                else:
                    continue
            return i
        return NO_MATCH

    def identity_groups(self, mask: int) -> tuple[str, ...]:
        """The groups that say who a source is: no managed or catch-all (0.0.0.0/0) groups."""
        n = len(self._groups)
        return tuple(
            self._groups[i].name for i in sorted(_bits(mask)) if i < n and self._identity[i]
        )


def _is_identity(g: SmartGroup) -> bool:
    return not g.managed and not all(s.kind is SelectorKind.ANYWHERE for s in g.selectors)


def _bits(mask: int) -> list[int]:
    """Indexes of the set bits of ``mask`` (highest first): a few per endpoint."""
    out = []
    while mask:
        i = mask.bit_length() - 1
        out.append(i)
        mask ^= 1 << i
    return out


def _union(masks: list[int]) -> int:
    out = 0
    for m in masks:
        out |= m
    return out


Labelled = tuple[tuple[tuple[str, str], ...], int]
"""A labelled pod selector's tags, and the bit of its group."""


class _SourceIndex:
    """Source membership (:func:`groups.group_contains` for every group used as a source),
    indexed by kind so that a source costs a few lookups whatever the number of groups:
    Kubernetes selectors by namespace and by their rarest label, ranges by prefix length,
    service tags by name."""

    def __init__(self, groups: tuple[SmartGroup, ...], used: int) -> None:
        self.by_name: dict[str, int] = {}
        self.anywhere = self.public = self.threat = 0
        self.tags: dict[str, int] = {}
        self.namespaces: dict[str, int] = {}
        """Kubernetes selectors without labels: every pod of the namespace."""
        self.labels: dict[tuple[str, str, str], list[Labelled]] = {}
        self.lazy: list[tuple[SmartGroup, int]] = []
        """Groups with a range that does not parse: tested in full, as before indexing, so
        the error surfaces exactly where it did."""
        ranges: list[tuple[IPv4Network, int]] = []
        labelled: list[tuple[str, tuple[tuple[str, str], ...], int]] = []
        for i, g in enumerate(groups):
            if not used >> i & 1:
                continue
            b = 1 << i
            self.by_name[g.name] = b
            for sel in g.selectors:
                if sel.kind is SelectorKind.K8S:
                    if sel.k8s_namespace is None:
                        continue  # selects no pod: a pod always has a namespace
                    if sel.tags:
                        labelled.append((sel.k8s_namespace, sel.tags, b))
                    else:
                        ns = sel.k8s_namespace
                        self.namespaces[ns] = self.namespaces.get(ns, 0) | b
                elif sel.kind in (SelectorKind.CIDR, SelectorKind.SUBNET):
                    if sel.cidr is None:
                        continue
                    try:
                        ranges.append((network(sel.cidr), b))
                    except ValueError:
                        self.lazy.append((g, b))
                else:
                    self._add_kind(sel, b)
        self.ranges = CidrIndex(ranges)
        self._index_labels(labelled)

    def _add_kind(self, sel: Selector, b: int) -> None:
        kind = sel.kind
        if kind is SelectorKind.ANYWHERE:
            self.anywhere |= b
        elif kind is SelectorKind.PUBLIC_INTERNET:
            self.public |= b
        elif kind is SelectorKind.THREAT:
            self.threat |= b
        elif kind is SelectorKind.EXTERNAL:
            tag = dict(sel.ext_args).get("service_name")
            if tag is not None:
                self.tags[tag.lower()] = self.tags.get(tag.lower(), 0) | b

    def _index_labels(self, labelled: list[tuple[str, tuple[tuple[str, str], ...], int]]) -> None:
        # Each selector under its rarest label: a pod then meets only the selectors that
        # could match it (all of a selector's labels are checked on the pod).
        counts: dict[tuple[str, str, str], int] = {}
        for ns, tags, _ in labelled:
            for k, v in tags:
                counts[(ns, k, v)] = counts.get((ns, k, v), 0) + 1
        for ns, tags, b in labelled:
            key = min(((ns, k, v) for k, v in tags), key=lambda t: counts[t])
            self.labels.setdefault(key, []).append((tags, b))

    def mask(self, ep: Endpoint, threat: ThreatFeed) -> int:
        m = self.by_name.get(ep.member_of, 0) if ep.member_of else 0
        m |= self.anywhere
        if self.public and _public_source(ep):
            m |= self.public
        if self.ranges:
            if ep.ip is not None:
                m |= self.ranges.of_address(ep.ip)
            elif ep.network is not None:
                m |= self.ranges.of_network(ep.network)
        if ep.namespace is not None:
            m |= self._pods(ep.namespace, ep.labels)
        if self.threat and threat.contains(ep):
            m |= self.threat
        if ep.svctag is not None and self.tags:
            m |= self.tags.get(ep.svctag.lower(), 0)
        for g, b in self.lazy:
            if group_contains(g, ep, threat):
                m |= b
        return m

    def _pods(self, namespace: str, pod_labels: tuple[tuple[str, str], ...]) -> int:
        m = self.namespaces.get(namespace, 0)
        if pod_labels and self.labels:
            labels = dict(pod_labels)
            for k, v in labels.items():
                for tags, b in self.labels.get((namespace, k, v), ()):
                    if all(labels.get(tk) == tv for tk, tv in tags):
                        m |= b
        return m


def _public_source(ep: Endpoint) -> bool:
    """:func:`groups.selector_contains` for a Public Internet selector."""
    if ep.host is not None:
        return not fqdn.is_internal(ep.host)
    if ep.svctag is not None:
        return True
    return ep.ip is not None and is_public(ep.ip)


_NONE: frozenset[int] = frozenset()


class _NameIndex:
    """One lookup per hostname answers its WebGroups, whether it is an internal name
    (:func:`fqdn.is_internal`) and whether the threat feed lists it: the three sets of patterns
    share one :class:`fqdn.DomainIndex`, the two flags on the two bits after the WebGroups'."""

    def __init__(self, rulebase: Rulebase, wg_bit: dict[str, int], threat: ThreatFeed) -> None:
        n = self._groups = len(rulebase.web_groups)
        self._feed = threat
        entries = [(d, wg_bit[w.name]) for w in rulebase.web_groups for d in w.domains]
        entries += [(p, 1 << n) for p in fqdn.internal_patterns()]
        entries += [(d, 1 << (n + 1)) for d in threat.domains]
        self._index = fqdn.DomainIndex(entries)
        self.classify: Callable[[str], int] = self._index.classify
        """A normalised hostname's class: names of one class get the same answers from
        :meth:`match` (but for a name starting ``*.``)."""
        self._one = [frozenset((i,)) for i in range(n)] + [_NONE, _NONE]

    def match(self, host: str) -> tuple[int, frozenset[int], bool, bool]:
        """(its one WebGroup's index, the number of WebGroups when it is in none, -1 when in
        several; its WebGroups; internal; threat-listed) of a normalised hostname."""
        n = self._groups
        bits = self._index.match_normalized(host)
        if host.startswith("*."):
            # is_internal drops a leading '*.': ask it (and the feed) directly (rare).
            webs = self._webs_of(bits)
            one = n if not webs else next(iter(webs)) if len(webs) == 1 else -1
            return one, webs, fqdn.is_internal(host), self._feed.contains_host(host)
        if not bits:
            return n, _NONE, False, False
        if bits.bit_count() == 1:  # the usual case: one WebGroup, or one flag
            i = bits.bit_length() - 1
            if i < n:
                return i, self._one[i], False, False
            return n, _NONE, i == n, i == n + 1
        found = _bits(bits)
        webs = frozenset(i for i in found if i < n)
        one = n if not webs else next(iter(webs)) if len(webs) == 1 else -1
        return one, webs, n in found, n + 1 in found

    def webs(self, host: str) -> frozenset[int]:
        """The WebGroups whose patterns match ``host`` as given."""
        return self._webs_of(self._index.match_normalized(host))

    def _webs_of(self, bits: int) -> frozenset[int]:
        n = self._groups
        return frozenset(i for i in _bits(bits) if i < n)


_ANYWHERE, _PUBLIC, _THREAT = 1, 2, 4
"""Kinds of destination shared by every group of the kind; a group with ranges or service
tags is a kind of its own (the bits from 8 up)."""


class _DestinationKinds:
    """Destination membership by kind of group: a new destination costs a few checks rather
    than one test per group, and is described by a small mask of kinds (anywhere, public,
    threat, each group with ranges or service tags) that rules are tested against."""

    def __init__(self, groups: tuple[SmartGroup, ...], used: int, threat: ThreatFeed) -> None:
        self._feed = threat
        self._kinds: dict[int, int] = {}
        """Group index -> its kinds."""
        ranges: list[tuple[IPv4Network, int]] = []
        self.tags: dict[str, int] = {}
        own = 8
        for i, g in enumerate(groups):
            if not used >> i & 1:
                continue
            kinds = 0
            for sel in g.selectors:
                kind = sel.kind
                if kind is SelectorKind.ANYWHERE:
                    kinds |= _ANYWHERE
                elif kind is SelectorKind.PUBLIC_INTERNET:
                    kinds |= _PUBLIC
                elif kind is SelectorKind.THREAT:
                    kinds |= _THREAT
                elif kind in (SelectorKind.CIDR, SelectorKind.SUBNET) and sel.cidr:
                    ranges.append((network(sel.cidr), own))
                    kinds |= own
                elif kind is SelectorKind.EXTERNAL:
                    tag = dict(sel.ext_args).get("service_name")
                    if tag:
                        self.tags[tag.lower()] = self.tags.get(tag.lower(), 0) | own
                        kinds |= own
            self._kinds[i] = kinds
            if kinds & own:
                own <<= 1
        self.ranges = CidrIndex(ranges)
        self.threat = any(k & _THREAT for k in self._kinds.values())
        # Bound once: an address costs these lookups, not the attribute walks to them.
        self._has_ranges = bool(self.ranges)
        self._in_ranges = self.ranges.of_value
        self._listed = threat.contains_value

    def kinds_of(self, groups: int) -> int:
        """The kinds of destination a mask of groups admits."""
        out = 0
        for i in _bits(groups):
            out |= self._kinds.get(i, 0)
        return out

    def mask(
        self,
        host: str | None,
        address: int | None,
        svctag: str | None,
        internal: bool,
        host_listed: bool,
    ) -> int:
        """The destination's kinds. ``internal`` and ``host_listed`` answer
        :func:`fqdn.is_internal` and the threat feed for ``host`` (from the name walk)."""
        m = _ANYWHERE
        if svctag is not None:
            m |= _PUBLIC | self.tags.get(svctag.lower(), 0)
        elif address is None and host is not None:
            if not internal:
                m |= _PUBLIC
        elif address is not None:
            # A recorded flow knows its address: the address, not the name, decides L3 groups.
            if is_public_value(address):
                m |= _PUBLIC
            if self._has_ranges:
                m |= self._in_ranges(address)
        if self.threat:
            # The feed is asked about the name when there is one (ThreatFeed.contains).
            if host is not None:
                if host_listed:
                    m |= _THREAT
            elif address is not None and self._listed(address):
                m |= _THREAT
        return m


def _mask(bits: dict[str, int], names: tuple[str, ...], rule: str, what: str) -> int:
    mask = 0
    for n in names:
        if n not in bits:
            raise FlowError(f"rule {rule!r} references unknown {what} group {n!r}")
        mask |= bits[n]
    return mask


# --- one flow, with its audit record -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: Action
    rule: Rule | None
    layer: Layer
    enforced: bool
    would_action: Action
    source: Endpoint
    destination: Endpoint
    source_groups: tuple[str, ...]
    port: int
    protocol: Protocol
    timestamp: datetime

    def audit(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "source": {"identity": self.source.identity, "groups": list(self.source_groups)},
            "destination": self.destination.identity,
            "port": self.port,
            "protocol": self.protocol.value,
            "rule": self.rule.name if self.rule else "default-action",
            "action": self.would_action.value,
            "enforced": self.enforced,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "rule": self.rule.name if self.rule else None,
            "layer": self.layer.label,
            "enforced": self.enforced,
            "wouldAction": self.would_action.value,
            "audit": self.audit(),
        }


def decide(
    ev: Evaluator,
    src: Endpoint,
    dst: Endpoint,
    port: int,
    protocol: Protocol,
    now: datetime | None = None,
) -> Verdict:
    smask = ev.source_mask(src)
    idx = ev.first_match(src, dst, port, protocol)
    ts = now or datetime.now(UTC)
    groups = ev.identity_groups(smask)
    if idx == NO_MATCH:
        action = ev.rulebase.default_action.action
        return Verdict(
            action, None, Layer.DEFAULT, True, action, src, dst, groups, port, protocol, ts
        )
    rule = ev.rules[idx]
    if rule.monitor:
        return Verdict(
            Action.PERMIT,
            rule,
            rule.layer,
            False,
            rule.action,
            src,
            dst,
            groups,
            port,
            protocol,
            ts,
        )
    return Verdict(
        rule.action, rule, rule.layer, True, rule.action, src, dst, groups, port, protocol, ts
    )
