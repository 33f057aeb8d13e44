"""Replay recorded flows against a stack's ruleset as if every rule were enforced.

The brief's operating rule is to deploy rules in monitor mode and promote them one by one
once production traffic shows nothing legitimate would be cut. This module answers that
question from the gateway's flow log: for each rule, which flows would change from permit to
deny when it is enforced, from whom, to where, and which allowlist entries would keep them
working.

The log is read by :mod:`mcp_containment.core.flowlog`; memory holds the per-rule aggregates
(with distinct sources/destinations capped), never the flows.

Semantics: a flow's first-matching rule is the same whether rules monitor or enforce (a
matching monitor rule stops evaluation), so one evaluation gives both verdicts: the current
one (a monitoring rule permits) and the promoted one (its own action). A flow changes when its
rule monitors and denies. The verdict is ours, computed from the stack; the gateway's
logged action is only compared, so a log recorded under an older ruleset still replays against
the one about to be promoted.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, cast

from ..config.schema import Spec
from ..core import fqdn, names
from ..core.cache import Recent
from ..core.evaluate import NO_MATCH, Evaluator, FlowError, PreparedDestination, PreparedSource
from ..core.flowlog import (
    Flow,
    FlowRecord,
    LogError,
    LogStreamError,
    Progress,
    destination_fields,
    logged_action,
    parse_flow,
    parse_time,
    port_field,
    protocol_field,
    read_records,
    shown,
    source_field,
)
from ..core.groups import CidrIndex, Endpoint, address_value, network
from ..core.model import Action, Protocol, Rule, Rulebase
from .flows import Directory, resolve_source
from .ruleset import compile_rulebase

BAD_LINE_SAMPLES = 10
DISTINCT_CAP = 10_000
"""Distinct sources/destinations kept per rule; beyond it counts are reported as lower bounds."""
LISTED = 20
"""How many distinct sources/destinations a report lists per rule (sorted)."""
_CACHE_LIMIT = 20_000
"""Entries per cache (sources, verdicts by raw fields); the least recently used go first."""
SUGGESTION_CAP = 20_000
"""Allowlist entries (suggested or not) kept over all workloads; beyond it they are counted."""


@dataclass(slots=True)
class _Capped:
    values: set[str] = field(default_factory=set)
    overflow: bool = False

    def add(self, value: str) -> None:
        if value in self.values:
            return
        if len(self.values) >= DISTINCT_CAP:
            self.overflow = True
            return
        self.values.add(value)

    def to_json(self) -> dict[str, Any]:
        return {
            "count": len(self.values),
            "atLeast": self.overflow,
            "sample": sorted(self.values)[:LISTED],
        }


@dataclass(slots=True)
class RuleChange:
    """Flows a rule would cut once enforced."""

    rule: Rule
    flows: int = 0
    sources: _Capped = field(default_factory=_Capped)
    destinations: _Capped = field(default_factory=_Capped)
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    def add(self, flow: Flow, source: str, destination: str) -> None:
        self.flows += 1
        if source not in self.sources.values:
            self.sources.add(source)
        if destination not in self.destinations.values:
            self.destinations.add(destination)
        ts = flow.timestamp
        if self.first_seen is None:
            self.first_seen = self.last_seen = ts
        elif ts < self.first_seen:
            self.first_seen = ts
        elif self.last_seen is not None and ts > self.last_seen:
            self.last_seen = ts

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.name,
            "layer": self.rule.layer.label,
            "action": self.rule.action.value,
            "flows": self.flows,
            "sources": self.sources.to_json(),
            "destinations": self.destinations.to_json(),
            "firstSeen": _iso(self.first_seen),
            "lastSeen": _iso(self.last_seen),
        }


@dataclass(slots=True)
class Suggestion:
    """Allowlist entries that would keep one workload's cut flows working."""

    workload: str
    config_key: str
    add: _Capped = field(default_factory=_Capped)
    unsuggestable: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "configKey": self.config_key,
            "add": sorted(self.add.values),
            "unsuggestable": [
                {"destination": d, "reason": r} for d, r in sorted(self.unsuggestable.items())
            ],
        }


@dataclass(slots=True)
class ReplayReport:
    stack: str
    lines: int = 0
    flows: int = 0
    unchanged: int = 0
    disagreements: int = 0
    """Flows whose logged action differs from the current (as-deployed) verdict."""
    bad_lines: int = 0
    bad_samples: list[tuple[int, str]] = field(default_factory=list)
    changes: dict[str, RuleChange] = field(default_factory=dict)
    suggestions: dict[str, Suggestion] = field(default_factory=dict)
    incomplete: str | None = None
    """Why the log stopped being readable before its end (corrupt or truncated gzip)."""
    suggestion_entries: int = 0
    suggestions_omitted: int = 0
    """Entries beyond SUGGESTION_CAP: counted, not kept (memory stays flat)."""

    @property
    def changed(self) -> int:
        return sum(c.flows for c in self.changes.values())

    def unreadable(self, line: int, error: LogError) -> None:
        self.bad(line, str(error))
        if isinstance(error, LogStreamError):
            self.incomplete = f"line {line}: {error}"

    def bad(self, line: int, reason: str) -> None:
        self.bad_lines += 1
        if len(self.bad_samples) < BAD_LINE_SAMPLES:
            self.bad_samples.append((line, reason))

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "lines": self.lines,
            "flows": self.flows,
            "wouldChange": self.changed,
            "unchanged": self.unchanged,
            "disagreements": self.disagreements,
            "badLines": self.bad_lines,
            "badLineSamples": [{"line": n, "reason": r} for n, r in self.bad_samples],
            "incomplete": self.incomplete,
            "rules": [c.to_json() for c in self._ordered_changes()],
            "suggestions": [s.to_json() for _, s in sorted(self.suggestions.items())],
            "suggestionsOmitted": self.suggestions_omitted,
        }

    def _ordered_changes(self) -> list[RuleChange]:
        order = {}
        for c in self.changes.values():
            order[c.rule.name] = (-c.flows, c.rule.layer, c.rule.priority, c.rule.name)
        return sorted(self.changes.values(), key=lambda c: order[c.rule.name])


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat().replace("+00:00", "Z") if ts else None


@dataclass(frozen=True, slots=True)
class _Outcome:
    rule: int
    workload: str
    config_key: str


@dataclass(frozen=True, slots=True)
class _Source:
    """A logged source, checked and resolved."""

    text: str
    prepared: PreparedSource
    workload: str
    config_key: str


@dataclass(frozen=True, slots=True)
class _Unresolved:
    """A logged source, checked, that names no workload of the stack (or why not)."""

    text: str
    reason: str


_Destination = tuple[str | None, str | None, PreparedDestination | str]
"""A logged destination: its checked name and address, then the destination prepared (or
why its address is refused). A tuple: a log can bring a new one on every line."""

_Verdict = tuple[int, _Destination, int, Protocol, str | None]
"""(first matching rule, destination, port, protocol, why it was not evaluated or None)."""

_Judged = int | _Verdict | str
"""A record's verdict as cached: the first matching rule when promotion leaves the flow as it
is (nearly every flow: the replay needs nothing more of it), the whole :data:`_Verdict` when
it would be cut or could not be evaluated, or why a field is refused."""


class Replayer:
    """Evaluates flows of one stack. Each logged source is checked and resolved once (a log
    has a few hundred), a record's verdict computed once per distinct raw fields; a flow is
    then one lookup. The caches are sized and keep what is used, so memory stays flat however
    long the log and a growing number of distinct endpoints never empties them at once.

    Destinations are not cached on their own: what preparing one costs is shared already (the
    evaluator keeps one value per class of name and kind of address), and a cache in front of
    it only paid off for a destination met again under another source group, port or
    protocol, while every one-off name paid for the lookup (6% of the standard log)."""

    def __init__(self, spec: Spec, rulebase: Rulebase | None = None) -> None:
        self.spec = spec
        self.rulebase = rulebase or compile_rulebase(spec)
        self.ev = Evaluator(self.rulebase)
        self.directory = Directory(spec, self.rulebase)
        self._owners = _Owners(spec)
        # A refusal is cached as its message, never as an exception: re-raising one object
        # grows its traceback with every raise (memory would grow with every repeated bad line).
        self.sources: Recent[str, _Source | _Unresolved | str] = Recent(_CACHE_LIMIT)
        """Logged source text -> the source checked and resolved, or why it is refused."""
        self.verdicts: Recent[tuple[Any, ...], _Judged] = Recent(_CACHE_LIMIT)
        """(source's groups, logged destination, destinationIp, port, protocol) -> verdict."""
        self.protocols = {p.value.lower(): p for p in (Protocol.TCP, Protocol.UDP, Protocol.ICMP)}
        """The usual spellings of a logged protocol (any other goes through protocol_field)."""
        self._shared_values: dict[Any, Any] = {}
        """Logged ports and protocols, one object per value (for cached keys)."""
        # Per first-matching rule (NO_MATCH last): whether promoting it cuts the flow.
        self.cuts = [rule.monitor and rule.action is Action.DENY for rule in self.ev.rules]
        self.cuts.append(False)

    def outcome(self, flow: Flow) -> _Outcome:
        src = self.source(flow.source)
        dst = self.destination(flow.destination, flow.destination_ip)
        if isinstance(src, str):
            raise LogError(src)
        if isinstance(dst, str):
            raise LogError(dst)
        idx = self.ev.match_prepared(src.prepared, dst, flow.port, flow.protocol.code)
        return _Outcome(idx, src.workload, src.config_key)

    def judge(self, record: FlowRecord) -> tuple[_Source | _Unresolved, _Judged] | str:
        """A record's checked source and verdict, or why a field is refused: the first, in
        the order :func:`~mcp_containment.core.flowlog.parse_fields` checks them."""
        get = record.get
        s = self.source_field(get("source"))
        if isinstance(s, str):
            return s
        raw_host, raw_ip = get("destination"), get("destinationIp")
        d = self.destination_field(raw_host, raw_ip)
        if isinstance(d, str):
            return d
        try:
            port = port_field(get("port"))
            protocol = protocol_field(get("protocol"))
        except LogError as exc:
            return str(exc)
        if type(s) is _Unresolved:  # reported after the time, as any resolution error
            return s, (NO_MATCH, d, port, protocol, s.reason)
        source = cast(_Source, s)
        key = (source.prepared, raw_host, raw_ip, get("port"), get("protocol"))  # as logged
        return s, self.verdict(source, key)

    def verdict(self, owner: _Source, key: tuple[Any, ...]) -> _Judged:
        """The verdict of a record whose source resolved to ``owner``, ``key`` its source's
        groups and raw destination, destinationIp, port and protocol (:data:`_Judged`).
        Cached when the fields are plain text."""
        _, raw_host, raw_ip, raw_port, raw_protocol = key
        d = self.destination_field(raw_host, raw_ip)
        v: _Judged
        if isinstance(d, str):
            v = d
        else:
            protocol = self.protocols.get(raw_protocol) if type(raw_protocol) is str else None
            try:  # the port first, as parse_fields checks it
                ok = type(raw_port) is int and 0 < raw_port < 65536
                port = raw_port if ok else port_field(raw_port)
                if protocol is None:
                    protocol = protocol_field(raw_protocol)
            except LogError as exc:
                v = str(exc)
            else:
                prepared = d[2]
                if isinstance(prepared, str):
                    v = NO_MATCH, d, port, protocol, prepared
                else:
                    idx = self.ev.match_prepared(owner.prepared, prepared, port, protocol.code)
                    v = (idx, d, port, protocol, None) if self.cuts[idx] else idx
        plain = type(raw_host) in _TEXT and type(raw_ip) in _TEXT and type(raw_protocol) is str
        if plain and type(raw_port) in _PORT:
            # Every line brings its own port and protocol objects; the cached key holds one
            # shared object per value, so a hit compares against memory every entry uses.
            self.verdicts.offer(
                (key[0], raw_host, raw_ip, *self._shared(raw_port, raw_protocol)), v
            )
        return v

    def _shared(self, port: Any, protocol: Any) -> tuple[Any, Any]:
        """One object per logged port and protocol value (a few dozen in a log; a hostile
        log's thousands are left as they are)."""
        shared = self._shared_values
        if len(shared) < _SHARED_LIMIT:
            return shared.setdefault(port, port), shared.setdefault(protocol, protocol)
        return shared.get(port, port), shared.get(protocol, protocol)

    def source_field(self, raw: Any) -> _Source | _Unresolved | str:
        """A logged ``source``, checked and resolved (cached on the raw text)."""
        hit = self.sources.find(raw) if type(raw) is str else None
        if hit is None:
            try:
                text = source_field(raw)
            except LogError as exc:
                hit = str(exc)
            else:
                hit = self.prepare_source(text)
            if type(raw) is str:
                self.sources.put(raw, hit)
        return hit

    def destination_field(self, raw_host: Any, raw_ip: Any) -> _Destination | str:
        """A logged ``destination``/``destinationIp``, checked and prepared."""
        try:
            host, ip = destination_fields(raw_host, raw_ip)
        except LogError as exc:
            return str(exc)
        if ip is None:  # a name alone: nothing to read (prepare_destination, one call less)
            return host, ip, self.ev.destination_of(host)
        return host, ip, self.prepare_destination(host, ip)

    def source(self, text: str) -> _Source | str:
        """A checked source, resolved and prepared (cached), or why it does not resolve."""
        hit = self.source_field(text)
        return hit.reason if isinstance(hit, _Unresolved) else hit

    def destination(self, host: str | None, ip_text: str | None) -> PreparedDestination | str:
        """A checked destination, prepared, or why its address is refused."""
        hit = self.destination_field(host, ip_text)
        return hit if isinstance(hit, str) else hit[2]

    def prepare_source(self, text: str) -> _Source | _Unresolved:
        """A checked source, resolved and prepared (not cached)."""
        try:
            ep = resolve_source(self.spec, self.rulebase, text, self.directory)
        except FlowError as exc:
            return _Unresolved(text, str(exc))
        prepared = self.ev.source(ep)
        workload, key = self._workload(ep, prepared.mask)
        return _Source(text, prepared, workload, key)

    def prepare_destination(
        self, host: str | None, ip_text: str | None
    ) -> PreparedDestination | str:
        """:meth:`destination`, not cached."""
        address = None
        if ip_text is not None:
            try:
                address = address_value(ip_text)
            except ValueError:
                return f"destinationIp: {shown(ip_text)} is not an IPv4 address"
        return self.ev.destination_of(host, address)

    def _workload(self, src: Endpoint, mask: int) -> tuple[str, str]:
        """Who the flow belongs to, and where an allowlist entry for it is declared."""
        owners = self._owners
        if src.identity.startswith("pod:"):
            namespace, _, name = src.identity.removeprefix("pod:").partition("/")
            index = owners.servers.get(name) if namespace == owners.mcp_namespace else None
            if index is not None:
                return f"mcp-server:{name}", f"mcpServers[{index}].egressDomains"
            index = owners.workloads.get((namespace, name))
            if index is not None:
                return f"mcp-workload:{name}", f"mcpWorkloads[{index}].egressDomains"
        groups = self.ev.identity_groups(mask)
        if owners.agents in groups:
            return "agent-subnet", "egress.toolCalls.domains"
        if src.ip is not None and owners.pod_ranges:
            hit = owners.pod_ranges.of_address(src.ip)
            if hit:
                index = (hit & -hit).bit_length() - 1
                name = self.spec.mcp_workloads[index].name
                return f"mcp-workload:{name}", f"mcpWorkloads[{index}].egressDomains"
        if groups:
            return f"group:{groups[0]}", "platform data (egress/data/platform.yaml)"
        return f"ip:{src.identity}", "no group: the source is outside this stack's workloads"

    def current_action(self, idx: int) -> Action:
        if idx == NO_MATCH:
            return self.rulebase.default_action.action
        rule = self.ev.rules[idx]
        return Action.PERMIT if rule.monitor else rule.action


class _Owners:
    """Where a source's allowlist entries are declared, indexed once per stack: servers by
    name, workloads by namespace and name, workload pod ranges by prefix (the first
    declared wins, as a scan in declaration order would find it)."""

    def __init__(self, spec: Spec) -> None:
        self.mcp_namespace = spec.kubernetes.obot.mcp_namespace
        self.servers: dict[str, int] = {}
        for index, server in enumerate(spec.mcp_servers):
            self.servers.setdefault(server.name, index)
        self.workloads: dict[tuple[str, str], int] = {}
        ranges: list[tuple[IPv4Network, int]] = []
        for index, w in enumerate(spec.mcp_workloads):
            self.workloads.setdefault((w.namespace, w.name), index)
            ranges += [(network(c), 1 << index) for c in w.pod_cidrs]
        self.pod_ranges = CidrIndex(ranges)
        self.agents = names.qualified(spec.name_prefix, names.FOUNDRY_AGENTS)


_SHARED_LIMIT = 1_024
"""Distinct port and protocol values given one shared object each."""

_TEXT = frozenset({str, type(None)})
_PORT = frozenset({int, str, type(None)})
"""Only plain text (and an integer port) is cached: 443.0 and 443, or True and 1, compare
equal but parse differently."""

_NO_TIME = object()


def replay(
    spec: Spec,
    records: Iterable[tuple[int, Mapping[str, Any] | FlowRecord | LogError]],
    *,
    rulebase: Rulebase | None = None,
) -> ReplayReport:
    """Aggregate what enforcing every rule would change, over a stream of records (as
    :func:`~mcp_containment.core.flowlog.read_records` gives them, or mappings)."""
    return _replayed(Replayer(spec, rulebase), map(_as_record, records))


def replay_file(spec: Spec, path: Path, progress: Progress | None = None) -> ReplayReport:
    return _replayed(Replayer(spec), read_records(path, progress))


def _as_record(
    item: tuple[int, Mapping[str, Any] | FlowRecord | LogError],
) -> tuple[int, FlowRecord | LogError]:
    number, record = item
    if isinstance(record, FlowRecord | LogError):
        return number, record
    return number, FlowRecord.of(record)


def _replayed(r: Replayer, records: Iterable[tuple[int, FlowRecord | LogError]]) -> ReplayReport:
    # A replay allocates millions of short-lived records and cache entries and no reference
    # cycles: the cyclic collector's passes would cost a tenth of it (as in offline.runner).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _replay(r, records)
    finally:
        if enabled:
            gc.enable()


def _replay(r: Replayer, records: Iterable[tuple[int, FlowRecord | LogError]]) -> ReplayReport:
    """:func:`replay`.

    Long because the per-line path is inlined (a call per line would cost a tenth of the
    replay): a line from a known source costs one lookup of the source's raw text and one of
    its verdict, keyed by the source's groups and the destination, port and protocol as
    logged; a flow that promotion leaves alone needs nothing more. Anything else takes the
    general path (:meth:`Replayer.judge`)."""
    report = ReplayReport(stack=r.spec.environment)
    cuts = _Cuts(r, report)
    current, actions = cuts.current, _Actions()
    sources: dict[Any, _Source | _Unresolved | str] = r.sources
    cached, recall = r.verdicts.get, r.verdicts.recall
    last_text: object = _NO_TIME
    last_time = datetime.min
    changed = unchanged = disagreements = number = 0
    rows = cast(Iterable[tuple[int, Any]], records)  # a FlowRecord, or a LogError
    for number, record in rows:
        try:
            src = record.source
        except AttributeError:
            report.unreadable(number, record)
            continue
        try:  # only text sources are cached; any other value is not found (or unhashable)
            s = sources.get(src)
        except TypeError:
            s = None
        if type(s) is _Source:
            port = record.port
            key = (s.prepared, record.destination, record.destinationIp, port, record.protocol)
            try:
                v = (cached(key) or recall(key)) if type(port) in _PORT else None
            except TypeError:  # an unhashable value (a list, an object): judged afresh
                v = None
            if v is None:
                v = r.verdict(s, key)
        else:
            judged = r.judge(record)
            if type(judged) is str:
                report.bad(number, judged)
                continue
            s, v = cast(tuple[_Source | _Unresolved, _Judged], judged)
        kept = type(v) is int  # evaluated, and promotion leaves it alone
        if not kept and type(v) is str:
            report.bad(number, v)
            continue
        raw_time = record.timestamp
        if raw_time != last_text:
            try:
                last_time = parse_time(raw_time)
            except LogError as exc:
                report.bad(number, str(exc))
                continue
            last_text = raw_time
        action = record.action
        if kept:
            unchanged += 1
            if action and actions.of(action) != current[v]:  # type: ignore[index]
                disagreements += 1
            continue
        idx, d, port, protocol, error = cast(_Verdict, v)
        if error is not None:
            report.bad(number, error)
            continue
        changed += 1
        logged = actions.of(action) if action else None
        if logged is not None and logged != current[idx]:
            disagreements += 1
        flow = Flow(last_time, s.text, d[0], d[1], port, protocol, logged)
        cuts.add(idx, cast(_Source, s), flow)
    report.lines, report.flows = number, unchanged + changed
    report.unchanged, report.disagreements = unchanged, disagreements
    return report


class _Actions(dict[str, object]):
    """Logged actions as compared (:func:`logged_action`), by the value logged: a log spells
    its few actions the same way on every line."""

    def of(self, value: Any) -> str | None:
        if type(value) is not str:  # True and 1 are one key, but not one action
            return logged_action(value)
        found = self.get(value, _NO_TIME)
        if found is _NO_TIME:
            found = logged_action(value)
            if len(self) < _CACHE_LIMIT:
                self[value] = found
        return cast(str | None, found)


class _Cuts:
    """The flows that promotion would cut: per rule, and as allowlist suggestions."""

    def __init__(self, r: Replayer, report: ReplayReport) -> None:
        self.report = report
        self.rules = r.ev.rules
        # Per first-matching rule (NO_MATCH last): today's action, and whether promotion cuts it.
        self.current = [r.current_action(i).value for i in range(len(self.rules))]
        self.current.append(r.rulebase.default_action.action.value)
        # (rule, workload, destination, port, protocol) already turned into a suggestion.
        self.suggested: set[tuple[int, str, str | None, str | None, int, Protocol]] = set()

    def add(self, idx: int, owner: _Source, flow: Flow) -> None:
        rule = self.rules[idx]
        change = self.report.changes.get(rule.name)
        if change is None:
            change = self.report.changes[rule.name] = RuleChange(rule)
        change.add(flow, flow.source, flow.destination or str(flow.destination_ip))
        workload = owner.workload
        key = (idx, workload, flow.destination, flow.destination_ip, flow.port, flow.protocol)
        if key not in self.suggested:
            if len(self.suggested) >= _CACHE_LIMIT:
                self.suggested.clear()
            self.suggested.add(key)
            _suggest(self.report, _Outcome(idx, workload, owner.config_key), flow, rule)


def _unsuggestable(flow: Flow, rule: Rule) -> tuple[str, str] | None:
    """(entry, reason) when no allowlist entry can keep this flow working."""
    if names.THREAT_GROUP in rule.dst:
        return flow.destination or str(flow.destination_ip), (
            "listed by threat intelligence: never allowlisted; investigate the workload"
        )
    if flow.destination is None:
        return str(flow.destination_ip), (
            "bare IP: the flow carried no hostname, and a WebGroup entry only matches SNI"
        )
    if flow.protocol is not Protocol.TCP or flow.port != 443:
        return f"{flow.destination}:{flow.port}/{flow.protocol.value.lower()}", (
            "allowlist entries permit TCP/443 only; this flow needs a rule of its own"
        )
    if "*" in flow.destination:
        return flow.destination, (
            "the SNI is a pattern: a workload picks its own SNI, so only names seen in full "
            "are suggested"
        )
    return None


def _suggest(report: ReplayReport, out: _Outcome, flow: Flow, rule: Rule) -> None:
    s = report.suggestions.get(out.workload)
    refused = _unsuggestable(flow, rule)
    entry = refused[0] if refused is not None else flow.destination or ""
    if s is not None and (entry in s.unsuggestable or (refused is None and entry in s.add.values)):
        return
    if report.suggestion_entries >= SUGGESTION_CAP:
        report.suggestions_omitted += 1
        return
    if s is None:
        s = report.suggestions[out.workload] = Suggestion(out.workload, out.config_key)
    report.suggestion_entries += 1
    if refused is not None:
        s.unsuggestable[entry] = refused[1]
        return
    try:
        # The same rules the config applies to egressDomains: what we suggest, it accepts.
        s.add.add(fqdn.check_egress_domain(entry))
    except fqdn.DomainError as exc:
        s.unsuggestable[entry] = str(exc)


__all__ = [
    "FlowRecord",
    "LogError",
    "ReplayReport",
    "Replayer",
    "parse_flow",
    "replay",
    "replay_file",
]
