"""Declared against running: the drift between a stack's MCP servers and what enforces them.

Inputs are the two answers the real systems give: ``kubectl get firewallpolicies -A -o json``
(a ``List``; keys sorted, as the API server returns custom resources) and Obot's
``GET /api/mcp-catalogs/default/entries/all-servers`` (``{"items": [...]}``, Go field order,
``needsUpdate`` omitted when false). Each running server is joined to its controller-written
FirewallPolicy (by the ``obot.ai/mcp-server-name`` label: the policy's own name is generated)
and to the catalog entry it was launched from; the expected policy is recomputed with the
controller's translation and compared by content.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from . import crd, npc
from .band import KIND
from .obot import POD_RUNTIMES, catalog_entry_id, network_policy, runtime_of


class DriftKind(StrEnum):
    POLICY_MISSING = "policy-missing"
    """A running server (or a declared workload) has no FirewallPolicy."""
    ALLOW_ALL = "allow-all"
    """A policy permits every domain (``*``, Obot's allow-all)."""
    DOMAINS_DIFFER = "domains-differ"
    """A policy permits other domains than the declaration."""
    SPEC_DIFFERS = "spec-differs"
    """Same domains, but groups or rules differ from the translation (edited by hand)."""
    UPDATE_PENDING = "update-pending"
    """Obot holds a changed entry the server has not taken yet (``needsUpdate``)."""
    FOREIGN_POLICY = "foreign-policy"
    """A FirewallPolicy the controller did not write selects pods of Obot's MCP namespace."""
    CRD_INVALID = "crd-invalid"
    """An object the FirewallPolicy CRD would refuse."""
    OBOT_SETTINGS = "obot-settings"
    """Obot's network-policy settings differ from the stack's (live mode only)."""


_ORDER = {kind: i for i, kind in enumerate(DriftKind)}


@dataclass(frozen=True, slots=True)
class Drift:
    kind: DriftKind
    subject: str
    """What drifted: a server (``server:ms1...``) or a FirewallPolicy (``NAMESPACE/NAME``)."""
    message: str
    entry: str | None = None
    """The declared catalog entry key (or workload) it belongs to, when there is one."""
    expected: Any = None
    actual: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "entry": self.entry,
            "message": self.message,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass(frozen=True, slots=True)
class Declared:
    """What the stack declares, as verify needs it."""

    mcp_namespace: str
    default_deny_all_egress: bool
    entries: Mapping[str, Mapping[str, Any]]
    """Entry key -> the rendered catalog entry."""
    workloads: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Workload name -> the FirewallPolicy the library declares for it."""


@dataclass(frozen=True, slots=True)
class Report:
    drifts: tuple[Drift, ...]
    servers: int
    policies: int

    @property
    def clean(self) -> bool:
        return not self.drifts

    def to_json(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "checked": {"servers": self.servers, "firewallPolicies": self.policies},
            "drifts": [d.to_json() for d in self.drifts],
        }


# --- input shapes ---------------------------------------------------------------------------


class InputError(ValueError):
    """An input that is not the answer of the API it claims to be; ``issues`` name the keys."""

    def __init__(self, issues: Sequence[tuple[str, str]]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(f"{p}: {m}" for p, m in self.issues))


def _list_items(doc: Any, source: str, kinds: tuple[str, ...] | None) -> list[Any]:
    if not isinstance(doc, Mapping):
        raise InputError([(source, "is not a JSON object")])
    if kinds is not None and doc.get("kind") not in kinds:
        raise InputError([(f"{source}: kind", f"{doc.get('kind')!r} is not one of {kinds}")])
    if "items" not in doc:
        raise InputError([(f"{source}: items", "is missing")])
    listed = doc["items"]
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise InputError([(f"{source}: items", "is not a list")])
    return listed


def parse_policies(doc: Any, source: str = "--policies") -> list[dict[str, Any]]:
    """The items of ``kubectl get firewallpolicies -A -o json`` (or the API's own list)."""
    items = _list_items(doc, source, ("List", "FirewallPolicyList"))
    issues = [issue for i, item in enumerate(items) for issue in _policy_shape(source, i, item)]
    if issues:
        raise InputError(issues)
    return [dict(item) for item in items]


def _policy_shape(source: str, i: int, item: Any) -> Iterator[tuple[str, str]]:
    where = f"{source}: items[{i}]"
    if not isinstance(item, Mapping):
        yield where, "is not an object"
        return
    if item.get("kind") != KIND:
        yield f"{where}.kind", f"{item.get('kind')!r} is not {KIND}"
    meta = item.get("metadata")
    if not isinstance(meta, Mapping):
        yield f"{where}.metadata", "is missing"
        return
    for key in ("name", "namespace"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            yield f"{where}.metadata.{key}", "is missing"
    if not isinstance(item.get("spec", {}), Mapping):
        yield f"{where}.spec", "is not an object"


def parse_servers(doc: Any, source: str = "--servers") -> list[dict[str, Any]]:
    """The items of Obot's servers list (``{"items": [...]}``, ``null`` when empty)."""
    items = _list_items(doc, source, None)
    issues = [issue for i, item in enumerate(items) for issue in _server_shape(source, i, item)]
    if issues:
        raise InputError(issues)
    return [dict(item) for item in items]


def _server_shape(source: str, i: int, item: Any) -> Iterator[tuple[str, str]]:
    where = f"{source}: items[{i}]"
    if not isinstance(item, Mapping):
        yield where, "is not an object"
        return
    if item.get("type") != "mcpserver":
        yield f"{where}.type", f"{item.get('type')!r} is not 'mcpserver'"
    if not isinstance(item.get("id"), str) or not item["id"]:
        yield f"{where}.id", "is missing"
    if not isinstance(item.get("catalogEntryID", ""), str):
        yield f"{where}.catalogEntryID", "is not a string"
    if not isinstance(item.get("needsUpdate", False), bool):
        yield f"{where}.needsUpdate", "is not a boolean"
    manifest = item.get("manifest")
    if not isinstance(manifest, Mapping) or not isinstance(manifest.get("runtime"), str):
        yield f"{where}.manifest.runtime", "is missing"


# --- the comparison -------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """Content only: key order, and empty lists/maps the API server may drop, do not count."""
    if isinstance(value, Mapping):
        kept = {k: _canonical(v) for k, v in value.items()}
        return {k: v for k, v in sorted(kept.items()) if v not in (None, [], {})}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _domains(obj: Mapping[str, Any]) -> list[str]:
    groups = (obj.get("spec") or {}).get("webGroups") or []
    return [d for w in groups for d in w.get("domains") or []]


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def _selects_namespace(obj: Mapping[str, Any], namespace: str) -> bool:
    if (obj.get("metadata") or {}).get("namespace") == namespace:
        return True
    groups = (obj.get("spec") or {}).get("smartGroups") or []
    return any(
        sel.get("k8sNamespace") == namespace for g in groups for sel in g.get("selectors") or []
    )


def _entry_index(declared: Declared) -> dict[str, str]:
    """Obot entry id and entry name -> the declared entry key. The id is derived from the
    entry's name as Obot derives it; the name is the fallback should that derivation differ."""
    index = {f"name:{m.get('name')}": k for k, m in declared.entries.items()}
    index.update({catalog_entry_id(str(m.get("name"))): k for k, m in declared.entries.items()})
    return index


def _entry_of(server: Mapping[str, Any], index: Mapping[str, str]) -> str | None:
    """The declared entry a server was launched from."""
    found = index.get(str(server.get("catalogEntryID") or ""))
    return found or index.get(f"name:{(server.get('manifest') or {}).get('name')}")


def _compare(
    subject: str, entry: str | None, want: Mapping[str, Any], live: Mapping[str, Any]
) -> Iterator[Drift]:
    """One live policy against the one it should be."""
    have_domains, want_domains = sorted(_domains(live)), sorted(_domains(want))
    if npc.ALLOW_ALL in have_domains:
        yield Drift(
            DriftKind.ALLOW_ALL,
            subject,
            f"{_name(live)} permits every domain ('*') on TCP/443",
            entry,
            actual=have_domains,
        )
    if have_domains != want_domains:
        yield Drift(
            DriftKind.DOMAINS_DIFFER,
            subject,
            f"{_name(live)} permits {have_domains or 'nothing'}, the declaration "
            f"{want_domains or 'nothing'}",
            entry,
            expected=want_domains,
            actual=have_domains,
        )
    elif _canonical(live.get("spec")) != _canonical(want.get("spec")):
        yield Drift(
            DriftKind.SPEC_DIFFERS,
            subject,
            f"{_name(live)}: groups or rules differ from the controller's translation",
            entry,
            expected=_canonical(want.get("spec")),
            actual=_canonical(live.get("spec")),
        )


def _servers(
    declared: Declared, servers: Sequence[Mapping[str, Any]], by_server: Mapping[str, list[Any]]
) -> Iterator[Drift]:
    index = _entry_index(declared)
    for server in servers:
        sid = str(server["id"])
        subject = f"server:{sid}"
        entry = _entry_of(server, index)
        manifest = declared.entries[entry] if entry else server["manifest"]
        if server.get("needsUpdate"):
            yield Drift(
                DriftKind.UPDATE_PENDING,
                subject,
                f"server {sid} waits for its catalog entry's update (trigger-update, or "
                "`pulumi up`)",
                entry,
            )
        if runtime_of(server["manifest"]) not in POD_RUNTIMES or server.get("nanobotAgentID"):
            continue
        live = by_server.get(sid, [])
        if not live:
            yield Drift(
                DriftKind.POLICY_MISSING,
                subject,
                f"server {sid} runs pods in {declared.mcp_namespace} with no controller-written "
                "FirewallPolicy",
                entry,
            )
        for obj in live:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            policy = network_policy(
                sid,
                manifest,
                declared.default_deny_all_egress,
                name=str(labels.get(npc.POLICY_NAME_LABEL) or ""),
            )
            if policy is not None:
                want = npc.to_firewall_policy(policy, declared.mcp_namespace)
                yield from _compare(subject, entry, want, obj)


def _policies(declared: Declared, policies: Sequence[Mapping[str, Any]]) -> Iterator[Drift]:
    live_by_name = {_name(p): p for p in policies}
    for obj in policies:
        subject = _name(obj)
        for err in crd.errors(obj):
            yield Drift(DriftKind.CRD_INVALID, subject, f"{subject}: {err}")
        if not npc.is_controller_written(obj) and _selects_namespace(obj, declared.mcp_namespace):
            yield Drift(
                DriftKind.FOREIGN_POLICY,
                subject,
                f"{subject} selects pods of Obot's MCP namespace {declared.mcp_namespace} but "
                "was not written by the network-policy controller",
            )
    for workload, want in sorted(declared.workloads.items()):
        live = live_by_name.get(_name(want))
        subject = _name(want)
        if live is None:
            yield Drift(
                DriftKind.POLICY_MISSING, subject, f"{subject} is declared but absent", workload
            )
        else:
            yield from _compare(subject, workload, want, live)


def compare(
    declared: Declared,
    policies: Sequence[Mapping[str, Any]],
    servers: Sequence[Mapping[str, Any]],
    version: Mapping[str, Any] | None = None,
) -> Report:
    """Every drift between the declaration and the running policies and servers."""
    by_server: dict[str, list[Any]] = {}
    for obj in policies:
        server = npc.server_of(obj)
        if server is not None and npc.is_controller_written(obj):
            by_server.setdefault(server, []).append(obj)
    drifts = [*_settings(declared, version), *_servers(declared, servers, by_server)]
    drifts += _policies(declared, policies)
    drifts.sort(key=lambda d: (_ORDER[d.kind], d.subject, d.message))
    return Report(tuple(drifts), len(servers), len(policies))


def _settings(declared: Declared, version: Mapping[str, Any] | None) -> Iterator[Drift]:
    if version is None:
        return
    if version.get("mcpNetworkPolicyEnabled") is not True:
        yield Drift(
            DriftKind.OBOT_SETTINGS,
            "obot",
            "Obot's network-policy provider is off: no MCP server's egress is contained",
            expected=True,
            actual=version.get("mcpNetworkPolicyEnabled"),
        )
    deny = version.get("mcpDefaultDenyAllEgress")
    if deny is not declared.default_deny_all_egress:
        yield Drift(
            DriftKind.OBOT_SETTINGS,
            "obot",
            f"Obot runs with mcpDefaultDenyAllEgress={json.dumps(deny)}, the stack declares "
            f"{json.dumps(declared.default_deny_all_egress)}",
            expected=declared.default_deny_all_egress,
            actual=deny,
        )
