"""First-match evaluation of flows against a rulebase.

:class:`Evaluator` is built once per rulebase and answers many flows: group membership is
memoised per endpoint, WebGroup membership per hostname comes from one compiled domain trie,
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

from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Network
from typing import Any

from . import fqdn
from .groups import Endpoint, ThreatFeed, group_contains, is_public
from .model import Action, Layer, Protocol, Rule, Rulebase, SelectorKind, SmartGroup


class FlowError(ValueError):
    """A flow that cannot be evaluated (unknown group, malformed address, bad port...)."""


# --- evaluation -------------------------------------------------------------------------------

NO_MATCH = -1
MEMO_LIMIT = 20_000
_ICMP = Protocol.ICMP.code  # ICMP has no ports


@dataclass(frozen=True, slots=True)
class PreparedSource:
    """A source resolved once: its group mask and the rules whose sources contain it."""

    mask: int
    rules: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PreparedDestination:
    """A destination resolved once: its group mask and, for hostnames, its WebGroup mask."""

    mask: int
    web: int


class Evaluator:
    """A compiled rulebase prepared for fast first-match evaluation.

    Per distinct source, the few rules whose sources contain it are listed once (an MCP pod
    sees the base rules and its own FirewallPolicy, not every server's); per distinct
    destination, group membership is derived from the kinds of destination group (anywhere,
    public, threat, CIDR, service tag) and WebGroup membership from one reversed-label trie.
    A verdict is then a short loop over a handful of rules.
    """

    def __init__(self, rulebase: Rulebase) -> None:
        self.rulebase = rulebase
        self.threat = ThreatFeed(rulebase.threat_feed)
        self._groups = rulebase.smart_groups
        bit = {g.name: 1 << i for i, g in enumerate(self._groups)}
        wg_bit = {w.name: 1 << i for i, w in enumerate(rulebase.web_groups)}
        self._domains = fqdn.DomainIndex(
            (d, wg_bit[w.name]) for w in rulebase.web_groups for d in w.domains
        )
        self.rules = rulebase.rules
        self._proto: list[int] = []
        self._ports: list[tuple[tuple[int, int], ...]] = []
        self._src: list[int] = []
        self._dst: list[int] = []
        self._wg: list[int] = []
        for r in self.rules:
            self._proto.append(r.protocol.code)
            self._ports.append(tuple((p.lo, p.hi) for p in r.ports))
            self._src.append(_mask(bit, r.src, r.name, "source"))
            self._dst.append(_mask(bit, r.dst, r.name, "destination"))
            self._wg.append(_mask(wg_bit, r.web_groups, r.name, "WebGroup"))
        self._src_kinds = _SourceKinds(self._groups, _union(self._src))
        self._dst_kinds = _DestinationKinds(self._groups, _union(self._dst))
        self._src_memo: dict[Endpoint, PreparedSource] = {}
        self._dst_memo: dict[Endpoint, PreparedDestination] = {}

    # -- preparing endpoints (memoised) --------------------------------------------------------

    def prepare_source(self, ep: Endpoint) -> PreparedSource:
        hit = self._src_memo.get(ep)
        if hit is None:
            if len(self._src_memo) >= MEMO_LIMIT:
                self._src_memo.clear()
            mask = self._src_kinds.mask(ep, self.threat)
            rules = tuple(i for i, m in enumerate(self._src) if m & mask)
            hit = self._src_memo[ep] = PreparedSource(mask, rules)
        return hit

    def prepare_destination(self, ep: Endpoint) -> PreparedDestination:
        hit = self._dst_memo.get(ep)
        if hit is None:
            if len(self._dst_memo) >= MEMO_LIMIT:
                # Long replays see endless one-off names: a bounded memo keeps memory flat.
                self._dst_memo.clear()
            web = self._domains.match_normalized(ep.host) if ep.host is not None else 0
            hit = self._dst_memo[ep] = PreparedDestination(
                self._dst_kinds.mask(ep, self.threat), web
            )
        return hit

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
        rp, rpo, rd, rw = self._proto, self._ports, self._dst, self._wg
        dmask, web = dst.mask, dst.web
        for i in src.rules:
            p = rp[i]
            if p and p != proto:
                continue
            if not rd[i] & dmask:
                continue
            w = rw[i]
            if w and not w & web:
                continue
            ports = rpo[i]
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
        return tuple(
            g.name
            for i, g in enumerate(self._groups)
            if mask >> i & 1
            and not g.managed
            and not all(s.kind is SelectorKind.ANYWHERE for s in g.selectors)
        )


def _union(masks: list[int]) -> int:
    out = 0
    for m in masks:
        out |= m
    return out


class _SourceKinds:
    """Source membership by kind of group: an IP never needs the Kubernetes label groups, and
    a pod only needs the label groups of its own namespace."""

    def __init__(self, groups: tuple[SmartGroup, ...], used: int) -> None:
        self.by_name: dict[str, int] = {}
        self.k8s: dict[str | None, list[tuple[SmartGroup, int]]] = {}
        self.other: list[tuple[SmartGroup, int]] = []
        for i, g in enumerate(groups):
            if not used >> i & 1:
                continue
            b = 1 << i
            self.by_name[g.name] = b
            if g.selectors and all(s.kind is SelectorKind.K8S for s in g.selectors):
                for ns in {s.k8s_namespace for s in g.selectors}:
                    self.k8s.setdefault(ns, []).append((g, b))
            else:
                self.other.append((g, b))

    def mask(self, ep: Endpoint, threat: ThreatFeed) -> int:
        m = self.by_name.get(ep.member_of, 0) if ep.member_of else 0
        candidates = list(self.other)
        if ep.namespace is not None:
            candidates += self.k8s.get(ep.namespace, [])
        for g, b in candidates:
            if group_contains(g, ep, threat):
                m |= b
        return m


class _DestinationKinds:
    """Destination membership by kind of group, so a new destination costs a few checks
    rather than one test per group."""

    def __init__(self, groups: tuple[SmartGroup, ...], used: int) -> None:
        self.anywhere = self.public = self.threat = 0
        self.cidrs: list[tuple[IPv4Network, int]] = []
        self.tags: dict[str, int] = {}
        for i, g in enumerate(groups):
            if not used >> i & 1:
                continue
            b = 1 << i
            for sel in g.selectors:
                kind = sel.kind
                if kind is SelectorKind.ANYWHERE:
                    self.anywhere |= b
                elif kind is SelectorKind.PUBLIC_INTERNET:
                    self.public |= b
                elif kind is SelectorKind.THREAT:
                    self.threat |= b
                elif kind in (SelectorKind.CIDR, SelectorKind.SUBNET) and sel.cidr:
                    self.cidrs.append((IPv4Network(sel.cidr), b))
                elif kind is SelectorKind.EXTERNAL:
                    tag = dict(sel.ext_args).get("service_name")
                    if tag:
                        self.tags[tag.lower()] = self.tags.get(tag.lower(), 0) | b

    def mask(self, ep: Endpoint, threat: ThreatFeed) -> int:
        m = self.anywhere
        if ep.svctag is not None:
            m |= self.public | self.tags.get(ep.svctag.lower(), 0)
        elif ep.ip is None and ep.host is not None:
            if not fqdn.is_internal(ep.host):
                m |= self.public
        elif ep.ip is not None:
            # A recorded flow knows its address: the address, not the name, decides L3 groups.
            if is_public(ep.ip):
                m |= self.public
            for net, b in self.cidrs:
                if ep.ip in net:
                    m |= b
        if self.threat and threat.contains(ep):
            m |= self.threat
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
