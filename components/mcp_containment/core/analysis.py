"""Static analysis of a compiled rulebase over its combined, layered order.

Every finding the CLI prints and every CrossGuard violation about rules comes from here: the
policy pack rebuilds a :class:`Rulebase` from the resources it sees and asks this module,
so a rule about rules is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Network

from . import fqdn, names
from .groups import group_covers
from .model import (
    Action,
    Decrypt,
    Layer,
    Protocol,
    Rule,
    Rulebase,
    Selector,
    SelectorKind,
    SmartGroup,
)
from .platform import platform
from .privatelink import Dependency
from .versions import MIN_DECRYPT_CONTROLLER


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(StrEnum):
    DUPLICATE_NAME = "duplicate-name"
    DUPLICATE_PRIORITY = "duplicate-priority"
    SHADOWED = "shadowed"
    THREAT_INTEL_MISSING = "threat-intel-missing"
    PERMIT_BEFORE_THREAT_INTEL = "permit-before-threat-intel"
    DEFAULT_DENY_MISSING = "default-deny-missing"
    PLATFORM_AFTER_DEFAULT_DENY = "platform-permit-after-default-deny"
    DEFAULT_DENY_BEFORE_KUBERNETES = "default-deny-before-kubernetes"
    SHADOWS_SERVER_PERMIT = "shadows-server-permit"
    DEFAULT_ACTION_NOT_DENY = "default-action-not-deny"
    EAST_WEST_MISSING = "east-west-deny-missing"
    OVERBROAD_DOMAIN = "overbroad-domain"
    PERMIT_ALL_INTERNET = "permit-all-internet"
    STORAGE_EXPOSED_TO_MCP = "storage-exposed-to-mcp"
    NOT_LOGGED = "not-logged"
    ACA_DECRYPTED = "aca-decryption"
    DECRYPT_OUTSIDE_TOOL_CALLS = "decrypt-outside-tool-calls"
    DECRYPT_NEEDS_CONTROLLER_8_2 = "decrypt-needs-controller-8.2"
    MONITOR_MODE = "monitor-mode"
    SERVER_WITHOUT_DENY = "server-policy-without-final-deny"
    DEPENDENCY_NOT_PRIVATE = "dependency-without-private-path"
    DEPENDENCY_VIA_GATEWAY = "dependency-via-gateway"


@dataclass(frozen=True, slots=True)
class Finding:
    code: Code
    severity: Severity
    message: str
    rule: str | None = None
    related: str | None = None
    """The other rule involved (the covering rule of a shadowed one, say)."""

    def to_json(self) -> dict[str, str | None]:
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "rule": self.rule,
            "related": self.related,
            "message": self.message,
        }


class _Context:
    """Lookups shared by the checks, built once per analysis."""

    def __init__(self, rulebase: Rulebase) -> None:
        self.rulebase = rulebase
        self.groups: dict[str, SmartGroup] = {g.name: g for g in rulebase.smart_groups}
        self.webs = {w.name: w for w in rulebase.web_groups}
        self._covers: dict[tuple[str, str], bool] = {}
        self.pod_ranges = (
            {rulebase.mcp_namespace: tuple(IPv4Network(c) for c in rulebase.mcp_pod_ranges)}
            if rulebase.mcp_namespace
            else None
        )
        self.public = frozenset(
            g.name
            for g in rulebase.smart_groups
            if any(
                s.kind in (SelectorKind.ANYWHERE, SelectorKind.PUBLIC_INTERNET) for s in g.selectors
            )
        )
        self.threat_groups = frozenset(
            g.name
            for g in rulebase.smart_groups
            if any(s.kind is SelectorKind.THREAT for s in g.selectors)
        )
        self._web_index: dict[tuple[str, ...], fqdn.DomainIndex] = {}
        self._tuple_covers: dict[tuple[tuple[str, ...], tuple[str, ...]], bool] = {}

    def is_threat_deny(self, rule: Rule) -> bool:
        return rule.action is Action.DENY and any(d in self.threat_groups for d in rule.dst)

    def group_covers(self, a: str, b: str) -> bool:
        key = (a, b)
        hit = self._covers.get(key)
        if hit is None:
            ga, gb = self.groups.get(a), self.groups.get(b)
            hit = ga is not None and gb is not None and group_covers(ga, gb, self.pod_ranges)
            self._covers[key] = hit
        return hit

    def groups_cover(self, a: tuple[str, ...], b: tuple[str, ...]) -> bool:
        # Rules share a handful of source/destination tuples: memoising per tuple pair keeps
        # the pairwise shadow check near-linear in practice for hundreds of server policies.
        key = (a, b)
        hit = self._tuple_covers.get(key)
        if hit is None:
            hit = all(any(self.group_covers(x, y) for x in a) for y in b)
            self._tuple_covers[key] = hit
        return hit

    def domains(self, web_groups: tuple[str, ...]) -> list[str]:
        return [d for w in web_groups if w in self.webs for d in self.webs[w].domains]

    def domains_cover(self, a: tuple[str, ...], b: tuple[str, ...]) -> bool:
        index = self._web_index.get(a)
        if index is None:
            index = self._web_index[a] = fqdn.DomainIndex((d, 1) for d in self.domains(a))
        wild_a = [d for d in self.domains(a) if d.startswith("*") or "*" in d]
        for d in self.domains(b):
            if "*" not in d:
                if not index.match(d):
                    return False
            elif not any(fqdn.covers(x, d) for x in wild_a):
                return False
        return True


def _ports_cover(a: Rule, b: Rule) -> bool:
    if not a.ports:
        return True
    if not b.ports:
        return False
    return all(any(pa.lo <= pb.lo and pb.hi <= pa.hi for pa in a.ports) for pb in b.ports)


def _rule_covers(ctx: _Context, a: Rule, b: Rule) -> bool:
    """Every flow ``b`` matches is matched by ``a`` (conservative)."""
    if a.protocol is not Protocol.ANY and a.protocol is not b.protocol:
        return False
    if a.protocol is not Protocol.ICMP and not _ports_cover(a, b):
        return False
    if not ctx.groups_cover(a.src, b.src):
        return False
    # A WebGroup rule only ever matches public hostnames, so any rule whose destination is the
    # Public Internet (or Anywhere) covers its destinations, whatever groups it names.
    web_only_public = bool(b.web_groups) and any(d in ctx.public for d in a.dst)
    if not web_only_public and not ctx.groups_cover(a.dst, b.dst):
        return False
    if a.web_groups:
        return bool(b.web_groups) and ctx.domains_cover(a.web_groups, b.web_groups)
    return True


def _names_and_priorities(ctx: _Context) -> Iterator[Finding]:
    rules = ctx.rulebase.rules
    seen: dict[str, int] = {}
    for r in rules:
        if r.name in seen:
            yield Finding(
                Code.DUPLICATE_NAME,
                Severity.ERROR,
                f"rule name {r.name!r} is used more than once",
                r.name,
            )
        seen[r.name] = 1
    # Priorities are unique within one ruleset: the base rulesets share a numbering, each
    # FirewallPolicy numbers its own rules.
    by_ruleset: dict[str | None, dict[int, str]] = {}
    for r in rules:
        if r.layer is Layer.DEFAULT:
            continue
        space = by_ruleset.setdefault(r.firewall_policy, {})
        if r.priority in space:
            yield Finding(
                Code.DUPLICATE_PRIORITY,
                Severity.ERROR,
                f"priority {r.priority} of {r.name!r} is also used by {space[r.priority]!r}",
                r.name,
                space[r.priority],
            )
        else:
            space[r.priority] = r.name


_Anchor = tuple[str | None, object]


def _anchor(sel: Selector) -> _Anchor | None:
    """What a narrow source selector is pinned to: one label in a namespace, or one address."""
    if sel.kind is SelectorKind.K8S and sel.tags:
        return (sel.k8s_namespace, min(sel.tags))
    if sel.kind is SelectorKind.CIDR and sel.cidr is not None and sel.cidr.endswith("/32"):
        return ("/32", sel.cidr)
    return None


def _anchors(ctx: _Context, src: tuple[str, ...]) -> list[_Anchor] | None:
    """The anchors of a rule whose sources are all narrow, or None for any broader source
    (subnets, wider CIDRs, Anywhere, whole namespaces, unknown groups)."""
    keys: list[_Anchor] = []
    for name in src:
        group = ctx.groups.get(name)
        if group is None or not group.selectors:
            return None
        for sel in group.selectors:
            key = _anchor(sel)
            if key is None:
                return None
            keys.append(key)
    return keys or None


def _lookups(sel: Selector) -> list[_Anchor]:
    """Anchors of the narrow selectors that could cover ``sel``."""
    if sel.kind is SelectorKind.K8S:
        # A /32 can cover a namespace whose pods all draw from it: check every /32 rule.
        return [(sel.k8s_namespace, tag) for tag in sel.tags] + [("/32", None)]
    key = _anchor(sel)
    return [key] if key is not None else []


def _candidates(ctx: _Context) -> Iterator[tuple[Rule, list[Rule]]]:
    """Each rule with the earlier rules that could cover its sources, in order.

    A labelled pod selector only covers a pod selector in the same namespace that carries all
    its labels (:func:`groups.selector_covers`), so a rule sourced from one MCP server's pods
    can only be shadowed by a broad rule or by a rule anchored on one of its labels. Indexing
    by (namespace, label) keeps the check near-linear for thousands of server rules instead of
    comparing every pair.
    """
    broad: list[int] = []
    anchored: dict[_Anchor, list[int]] = {}
    every_32: list[int] = []
    rules = ctx.rulebase.rules
    for j, b in enumerate(rules):
        found = set(broad)
        # A rule covering b covers b's first source selector: look up what could.
        first = ctx.groups.get(b.src[0]) if b.src else None
        if first is not None and first.selectors:
            for key in _lookups(first.selectors[0]):
                found.update(every_32 if key == ("/32", None) else anchored.get(key, ()))
        else:
            found.update(i for ids in anchored.values() for i in ids)
        yield b, [rules[i] for i in sorted(found)]
        keys = _anchors(ctx, b.src)
        if keys is None:
            broad.append(j)
            continue
        for key in set(keys):
            anchored.setdefault(key, []).append(j)
            if key[0] == "/32":
                every_32.append(j)


def _shadowed(ctx: _Context) -> Iterator[Finding]:
    for b, earlier in _candidates(ctx):
        for a in earlier:
            if _rule_covers(ctx, a, b):
                same = a.action is b.action
                yield Finding(
                    Code.SHADOWED,
                    Severity.WARNING if same else Severity.ERROR,
                    f"{b.name!r} can never match: {a.name!r} comes first and matches every "
                    f"flow it would" + ("" if same else f" ({a.action} instead of {b.action})"),
                    b.name,
                    a.name,
                )
                break


def _threat_intel_first(ctx: _Context) -> Iterator[Finding]:
    rules = ctx.rulebase.rules
    threat = next((i for i, r in enumerate(rules) if ctx.is_threat_deny(r)), None)
    if threat is None:
        yield Finding(
            Code.THREAT_INTEL_MISSING,
            Severity.ERROR,
            "no rule denies the threat-intelligence group",
        )
        return
    for r in rules[:threat]:
        if r.action is Action.PERMIT:
            yield Finding(
                Code.PERMIT_BEFORE_THREAT_INTEL,
                Severity.ERROR,
                f"permit {r.name!r} is evaluated before the threat-intel deny "
                f"{rules[threat].name!r}",
                r.name,
                rules[threat].name,
            )


def _default_deny_placement(ctx: _Context) -> Iterator[Finding]:
    """Platform permits before the default deny; the default deny never where it may precede
    the Kubernetes band while it reaches MCP server pods."""
    rules = ctx.rulebase.rules
    position = {r.name: i for i, r in enumerate(rules)}
    deny = position.get(names.DEFAULT_DENY_INTERNET)
    band = [r for r in rules if r.layer is Layer.KUBERNETES]
    if deny is None:
        hint = (
            "; with MCP pods on the node subnet it can only sit after the Kubernetes band: give "
            "pods their own subnet (network.podSubnet) or declare the controller's point after "
            "the band (controller.afterKubernetesPoint)"
            if band or ctx.rulebase.mcp_namespace
            else ""
        )
        yield Finding(
            Code.DEFAULT_DENY_MISSING,
            Severity.ERROR,
            f"no {names.DEFAULT_DENY_INTERNET!r} rule{hint}",
        )
        return
    deny_rule = rules[deny]
    for name in sorted(names.PLATFORM_PERMITS):
        if name in position and position[name] > deny:
            yield Finding(
                Code.PLATFORM_AFTER_DEFAULT_DENY,
                Severity.ERROR,
                f"platform permit {name!r} comes after {deny_rule.name!r} and never applies",
                name,
                deny_rule.name,
            )
    early = deny_rule.layer < Layer.KUBERNETES or bool(band and position[band[-1].name] > deny)
    if early and ctx.rulebase.mcp_pod_ranges and _reaches_mcp(ctx, deny_rule):
        yield Finding(
            Code.DEFAULT_DENY_BEFORE_KUBERNETES,
            Severity.ERROR,
            f"{deny_rule.name!r} reaches MCP server pods at a point that may precede the "
            f"Kubernetes band ({deny_rule.layer.label}); there it shadows every MCP server permit",
            deny_rule.name,
        )


def _overlaps(ctx: _Context, early: Rule, permit: Rule) -> bool:
    """Some flow ``permit`` (a server's TCP/443 WebGroup permit) allows also matches ``early``."""
    if early.protocol is not Protocol.ANY and early.protocol is not permit.protocol:
        return False
    if early.ports and permit.ports:
        spans = [(p.lo, p.hi) for p in permit.ports]
        if not any(a.lo <= hi and lo <= a.hi for a in early.ports for lo, hi in spans):
            return False
    if not any(ctx.group_covers(a, b) for a in early.src for b in permit.src):
        return False
    # A server permit matches public hostnames only: an early rule overlaps it through a
    # public destination, and through its WebGroups when it has some.
    if not any(d in ctx.public for d in early.dst):
        return False
    if not early.web_groups:
        return True
    theirs = ctx.domains(permit.web_groups)
    return any(
        fqdn.covers(a, b) or fqdn.covers(b, a)
        for a in ctx.domains(early.web_groups)
        for b in theirs
    )


def _precedes_band(ctx: _Context) -> Iterator[Finding]:
    """Denies at a point that may precede the Kubernetes band and that would decide flows an
    MCP server's own policy permits. The threat-intel deny comes first by design, and the
    default deny has its own finding."""
    permits = [
        r for r in ctx.rulebase.rules if r.layer is Layer.KUBERNETES and r.action is Action.PERMIT
    ]
    if not permits:
        return
    for r in ctx.rulebase.rules:
        if (
            r.layer >= Layer.KUBERNETES
            or r.action is not Action.DENY
            or ctx.is_threat_deny(r)
            or r.name == names.DEFAULT_DENY_INTERNET
        ):
            continue
        hit = sorted({p.origin.removeprefix("server:") for p in permits if _overlaps(ctx, r, p)})
        if hit:
            shown = ", ".join(hit[:3]) + (f" and {len(hit) - 3} more" if len(hit) > 3 else "")
            yield Finding(
                Code.SHADOWS_SERVER_PERMIT,
                Severity.ERROR,
                f"{r.name!r} sits at a point that may precede the Kubernetes band "
                f"({r.layer.label}) and denies flows the policies of MCP server(s) {shown} "
                "permit; scope it away from MCP pods or move it after the band",
                r.name,
            )


def _default_action_and_east_west(ctx: _Context) -> Iterator[Finding]:
    rulebase = ctx.rulebase
    if rulebase.default_action.action is not Action.DENY:
        yield Finding(
            Code.DEFAULT_ACTION_NOT_DENY,
            Severity.ERROR,
            f"DCF default action is {rulebase.default_action.action}, not DENY",
        )
    if rulebase.transit_attached and not any(
        r.name == names.DENY_EAST_WEST for r in rulebase.rules
    ):
        yield Finding(
            Code.EAST_WEST_MISSING,
            Severity.ERROR,
            "the spoke is attached to a transit but no deny-east-west rule protects adjacent "
            "spokes (set egress.eastWest)",
        )


def _reaches_all_internet(ctx: _Context, r: Rule) -> bool:
    wide = any(
        s.kind in (SelectorKind.ANYWHERE, SelectorKind.PUBLIC_INTERNET)
        for d in r.dst
        if d in ctx.groups
        for s in ctx.groups[d].selectors
    )
    if not wide:
        return False
    return not r.web_groups or fqdn.MATCH_ALL in ctx.domains(r.web_groups)


def _reaches_mcp(ctx: _Context, r: Rule) -> bool:
    ranges = [IPv4Network(c) for c in ctx.rulebase.mcp_pod_ranges]
    for name in r.src:
        for s in ctx.groups[name].selectors if name in ctx.groups else ():
            if s.kind is SelectorKind.ANYWHERE:
                return True
            if (
                s.cidr
                and s.kind in (SelectorKind.CIDR, SelectorKind.SUBNET)
                and any(IPv4Network(s.cidr).overlaps(n) for n in ranges)
            ):
                return True
            if (
                s.kind is SelectorKind.K8S
                and ctx.rulebase.mcp_namespace is not None
                and (s.k8s_namespace in (None, ctx.rulebase.mcp_namespace))
            ):
                return True
    return False


def _breadth(ctx: _Context) -> Iterator[Finding]:
    storage = platform().storage_like
    for w in ctx.rulebase.web_groups:
        for d in w.domains:
            if fqdn.is_overbroad(d):
                yield Finding(
                    Code.OVERBROAD_DOMAIN,
                    Severity.WARNING,
                    f"WebGroup {w.name!r} contains {d!r}, which matches far too much",
                )
    for r in ctx.rulebase.rules:
        if r.action is not Action.PERMIT:
            continue
        if _reaches_all_internet(ctx, r):
            yield Finding(
                Code.PERMIT_ALL_INTERNET,
                Severity.ERROR,
                f"{r.name!r} permits all of the internet; containment is void for its sources",
                r.name,
            )
        if ctx.rulebase.mcp_pod_ranges and _reaches_mcp(ctx, r):
            hits = sorted(
                {
                    d
                    for d in ctx.domains(r.web_groups)
                    if d != fqdn.MATCH_ALL
                    for s in storage
                    if fqdn.covers(s, d) or fqdn.covers(d, s)
                }
            )
            if hits:
                declared = r.origin.startswith("server:")
                yield Finding(
                    Code.STORAGE_EXPOSED_TO_MCP,
                    Severity.WARNING if declared else Severity.ERROR,
                    f"{r.name!r} lets MCP server pods reach storage or user content "
                    f"({', '.join(hits)}): an exfiltration path"
                    + (
                        " declared by the server"
                        if declared
                        else "; scope platform permits to nodes"
                    ),
                    r.name,
                )


def _audit_and_tls(ctx: _Context) -> Iterator[Finding]:
    rulebase = ctx.rulebase
    for r in rulebase.rules:
        if not r.logging:
            yield Finding(Code.NOT_LOGGED, Severity.ERROR, f"{r.name!r} does not log", r.name)
        if r.name in names.ACA_RULES and r.decrypt_policy is not Decrypt.NOT_ALLOWED:
            yield Finding(
                Code.ACA_DECRYPTED,
                Severity.ERROR,
                f"{r.name!r} must be DECRYPT_NOT_ALLOWED: Microsoft pins these certificates and "
                "decryption breaks the agent runtime",
                r.name,
            )
        if r.decrypt_policy is Decrypt.ALLOWED and r.name != names.ALLOW_TOOL_CALLS:
            yield Finding(
                Code.DECRYPT_OUTSIDE_TOOL_CALLS,
                Severity.ERROR,
                f"{r.name!r} allows decryption; only {names.ALLOW_TOOL_CALLS!r} may",
                r.name,
            )
    if not rulebase.default_action.logging:
        yield Finding(Code.NOT_LOGGED, Severity.ERROR, "the DCF default action does not log")
    version = rulebase.controller_version
    if version is not None and version[:2] < MIN_DECRYPT_CONTROLLER:
        with_decrypt = [r.name for r in rulebase.rules if r.decrypt_policy is not None]
        if with_decrypt:
            shown = ".".join(map(str, version))
            yield Finding(
                Code.DECRYPT_NEEDS_CONTROLLER_8_2,
                Severity.ERROR,
                f"controller {shown} cannot enforce per-rule decryption (needs 8.2+), "
                f"used by {', '.join(with_decrypt)}",
                with_decrypt[0],
            )


def _modes(ctx: _Context) -> Iterator[Finding]:
    for r in ctx.rulebase.rules:
        if r.monitor:
            yield Finding(
                Code.MONITOR_MODE,
                Severity.WARNING,
                f"{r.name!r} is in monitor mode: it logs {r.action} but permits",
                r.name,
            )
    yield from unterminated_policies(ctx.rulebase.rules)


def unterminated_policies(rules: Iterable[Rule]) -> Iterator[Finding]:
    """FirewallPolicies (Kubernetes band) whose last rule is not a deny: whatever the server's
    permits do not name would fall through to later rules instead of being denied."""
    last: dict[str, Rule] = {}
    for r in rules:
        if r.firewall_policy is not None:
            last[r.firewall_policy] = r
    for name, rule in last.items():
        if rule.action is not Action.DENY:
            yield Finding(
                Code.SERVER_WITHOUT_DENY,
                Severity.ERROR,
                f"FirewallPolicy {name} does not end with its deny rule: egress it does not "
                "list would be allowed",
                rule.name,
            )


_CHECKS = (
    _names_and_priorities,
    _threat_intel_first,
    _default_deny_placement,
    _precedes_band,
    _default_action_and_east_west,
    _breadth,
    _audit_and_tls,
    _modes,
    _shadowed,
)


def analyze(rulebase: Rulebase) -> list[Finding]:
    """Every finding for ``rulebase``, in a stable order."""
    ctx = _Context(rulebase)
    out: list[Finding] = []
    for check in _CHECKS:
        out.extend(check(ctx))
    return out


# --- private paths (Foundry dependencies) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrivatePath:
    """What a plan gives one dependency of the agents: its endpoint and the DNS chain that
    makes its public names resolve to that endpoint."""

    dependency: Dependency
    endpoint: str | None = None
    """The planned private endpoint to it; None when there is none."""
    group_ids: tuple[str, ...] = ()
    subnet_cidr: str | None = None
    """The endpoint's subnet range; None when that subnet is not one of this stack's."""
    zones: tuple[str, ...] = ()
    """The zones the endpoint's DNS zone group registers its address in."""
    linked_zones: tuple[str, ...] = ()
    """Of those, the zones linked to the spoke VNet (where the agents resolve names)."""

    def problems(self, spoke_cidr: str) -> list[str]:
        """Why the dependency's names would not resolve to an address inside the spoke."""
        service = self.dependency.service
        if self.endpoint is None:
            return ["no private endpoint"]
        out = []
        if service.group_id not in self.group_ids:
            out.append(
                f"endpoint {self.endpoint} connects to {list(self.group_ids)}, not "
                f"{service.group_id!r}"
            )
        if self.subnet_cidr is None or not IPv4Network(self.subnet_cidr).subnet_of(
            IPv4Network(spoke_cidr)
        ):
            out.append(f"endpoint {self.endpoint} is not in a subnet of the spoke {spoke_cidr}")
        missing = [z for z in service.zones if z not in self.zones]
        if missing:
            out.append(f"its DNS zone group does not register in {', '.join(missing)}")
        unlinked = [z for z in service.zones if z in self.zones and z not in self.linked_zones]
        if unlinked:
            out.append(f"{', '.join(unlinked)} not linked to the spoke VNet")
        return out


def private_path_findings(
    rulebase: Rulebase | None,
    paths: Sequence[PrivatePath],
    spoke_cidr: str,
    production: bool,
) -> list[Finding]:
    """Every dependency resolves to a private address inside the spoke, so no rule is needed
    for it; a dependency that does not, or a permit that would carry it through the gateway,
    is a finding (an error in production).

    A permit *would* carry it when the dependency has no private path and the permit matches
    its public names (a WebGroup domain, all of the internet, one of its service tags); a
    permit naming the dependency's own host is reported even with the path in place: it only
    exists to send that traffic through the gateway, and it silently takes over the day the
    zone is unlinked.
    """
    severity = Severity.ERROR if production else Severity.WARNING
    out: list[Finding] = []
    ctx = _Context(rulebase) if rulebase is not None else None
    for path in paths:
        dep = path.dependency
        what = f"{dep.key} ({dep.service.label} {dep.name})"
        problems = path.problems(spoke_cidr)
        if problems:
            out.append(
                Finding(
                    Code.DEPENDENCY_NOT_PRIVATE,
                    severity,
                    f"{what} does not resolve to a private address inside the spoke: "
                    f"{'; '.join(problems)}; its traffic would go to the spoke gateway",
                    related=dep.key,
                )
            )
        if ctx is None:
            continue
        for rule, how in _permits_reaching(ctx, dep, private=not problems):
            out.append(
                Finding(
                    Code.DEPENDENCY_VIA_GATEWAY,
                    severity,
                    f"{rule.name!r} {how} {what} through the spoke gateway; it must stay on its "
                    "private endpoint (remove the permit)",
                    rule.name,
                    dep.key,
                )
            )
    return out


def _permits_reaching(ctx: _Context, dep: Dependency, private: bool) -> Iterator[tuple[Rule, str]]:
    own = (*dep.hostnames, *(f"{dep.name.lower()}.{zone}" for zone in dep.service.zones))
    tags = {t.lower() for t in dep.service.service_tags}
    for rule in ctx.rulebase.rules:
        if rule.action is not Action.PERMIT:
            continue
        domains = ctx.domains(rule.web_groups)
        named = sorted({h for h in own for d in domains if "*" not in d and fqdn.covers(d, h)})
        if named:
            yield rule, f"names {', '.join(named)}: it would carry"
            continue
        if private:
            continue
        if any(fqdn.covers(d, h) for d in domains for h in dep.hostnames):
            yield rule, "matches the public name of"
        elif _reaches_all_internet(ctx, rule):
            yield rule, "permits all of the internet, including"
        elif any(
            dict(s.ext_args).get("service_name", "").lower() in tags
            for g in rule.dst
            if g in ctx.groups
            for s in ctx.groups[g].selectors
            if s.kind is SelectorKind.EXTERNAL
        ):
            yield rule, "permits a service tag of"
