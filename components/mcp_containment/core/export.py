"""The compiled rulebase as JSON (the shapes `containment plan --json` prints) and as a table.

The JSON round-trips (:func:`rulebase_from_json`): a component registers its rulebase as an
output in this form, so the policy pack can judge the rulebase a preview declares by name,
before any group has the UUID its rules will reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import (
    Action,
    Decrypt,
    DefaultAction,
    Layer,
    PortRange,
    Protocol,
    Rule,
    Rulebase,
    Selector,
    SelectorKind,
    SmartGroup,
    WebGroup,
)


def rule_json(order: int, rule: Rule) -> dict[str, Any]:
    return {
        "order": order,
        "priority": rule.priority,
        "name": rule.name,
        "layer": rule.layer.label,
        "action": rule.action.value,
        "protocol": rule.protocol.value,
        "ports": [str(p) for p in rule.ports],
        "src": list(rule.src),
        "dst": list(rule.dst),
        "webGroups": list(rule.web_groups),
        "decryptPolicy": rule.decrypt_policy.value if rule.decrypt_policy else None,
        "tlsRequired": rule.tls_required,
        "watch": rule.monitor,
        "logging": rule.logging,
        "origin": rule.origin,
        "firewallPolicy": rule.firewall_policy,
    }


def smart_group_json(group: SmartGroup) -> dict[str, Any]:
    selectors = []
    for s in group.selectors:
        sel: dict[str, Any] = {"type": s.kind.value}
        for key, value in (
            ("cidr", s.cidr),
            ("accountName", s.account_name),
            ("name", s.name),
            ("region", s.region),
            ("k8sClusterId", s.k8s_cluster_id),
            ("k8sNamespace", s.k8s_namespace),
            ("external", s.external),
        ):
            if value is not None:
                sel[key] = value
        if s.tags:
            sel["tags"] = dict(s.tags)
        if s.ext_args:
            sel["extArgs"] = dict(s.ext_args)
        selectors.append(sel)
    out: dict[str, Any] = {"name": group.name, "selectors": selectors, "managed": group.managed}
    if group.uuid:
        out["uuid"] = group.uuid
    return out


def web_group_json(group: WebGroup) -> dict[str, Any]:
    return {"name": group.name, "domains": list(group.domains)}


def rulebase_json(rulebase: Rulebase) -> dict[str, Any]:
    return {
        "ruleset": [rule_json(i + 1, r) for i, r in enumerate(rulebase.rules)],
        "defaultAction": {
            "action": rulebase.default_action.action.value,
            "logging": rulebase.default_action.logging,
        },
        "smartGroups": [smart_group_json(g) for g in rulebase.smart_groups],
        "webGroups": [web_group_json(w) for w in rulebase.web_groups],
        "firewallPolicies": list(rulebase.firewall_policies),
        "platformVersion": rulebase.platform_version,
        "threatFeed": list(rulebase.threat_feed),
        "transitAttached": rulebase.transit_attached,
        "mcpNamespace": rulebase.mcp_namespace,
        "mcpPodRanges": list(rulebase.mcp_pod_ranges),
        "controllerVersion": (
            list(rulebase.controller_version) if rulebase.controller_version else None
        ),
        "production": rulebase.production,
    }


# --- reading it back ---------------------------------------------------------------------------

_LAYERS = {layer.label: layer for layer in Layer}
_SELECTOR_FIELDS = {
    "cidr": "cidr",
    "accountName": "account_name",
    "name": "name",
    "region": "region",
    "k8sClusterId": "k8s_cluster_id",
    "k8sNamespace": "k8s_namespace",
    "external": "external",
}


def _port_range(text: str) -> PortRange:
    lo, _, hi = str(text).partition("-")
    return PortRange(int(lo), int(hi or lo))


def _rule(raw: Mapping[str, Any]) -> Rule:
    decrypt = raw.get("decryptPolicy")
    return Rule(
        name=str(raw["name"]),
        priority=int(raw["priority"]),
        layer=_LAYERS[str(raw["layer"])],
        action=Action(str(raw["action"])),
        src=tuple(raw.get("src") or ()),
        dst=tuple(raw.get("dst") or ()),
        protocol=Protocol(str(raw.get("protocol") or "ANY")),
        ports=tuple(_port_range(p) for p in raw.get("ports") or ()),
        web_groups=tuple(raw.get("webGroups") or ()),
        decrypt_policy=Decrypt(decrypt) if decrypt else None,
        tls_required=bool(raw.get("tlsRequired")),
        monitor=bool(raw.get("watch")),
        logging=bool(raw.get("logging")),
        origin=str(raw.get("origin") or "base"),
        firewall_policy=raw.get("firewallPolicy"),
    )


def _smart_group(raw: Mapping[str, Any]) -> SmartGroup:
    selectors = tuple(
        Selector(
            SelectorKind(str(s["type"])),
            tags=tuple(sorted((s.get("tags") or {}).items())),
            ext_args=tuple(sorted((s.get("extArgs") or {}).items())),
            **{field: s[key] for key, field in _SELECTOR_FIELDS.items() if s.get(key) is not None},
        )
        for s in raw.get("selectors") or ()
    )
    return SmartGroup(str(raw["name"]), selectors, bool(raw.get("managed")), raw.get("uuid"))


def rulebase_from_json(doc: Mapping[str, Any]) -> Rulebase:
    """The inverse of :func:`rulebase_json`; raises KeyError or ValueError on another shape."""
    version = doc.get("controllerVersion")
    default = doc.get("defaultAction") or {}
    return Rulebase(
        smart_groups=tuple(_smart_group(g) for g in doc.get("smartGroups") or ()),
        web_groups=tuple(
            WebGroup(str(w["name"]), tuple(w.get("domains") or ()))
            for w in doc.get("webGroups") or ()
        ),
        rules=tuple(_rule(r) for r in doc.get("ruleset") or ()),
        default_action=DefaultAction(
            Action(str(default.get("action", "DENY"))), bool(default.get("logging", True))
        ),
        firewall_policies=tuple(dict(p) for p in doc.get("firewallPolicies") or ()),
        threat_feed=tuple(doc.get("threatFeed") or ()),
        platform_version=str(doc.get("platformVersion") or ""),
        transit_attached=bool(doc.get("transitAttached")),
        mcp_namespace=doc.get("mcpNamespace"),
        mcp_pod_ranges=tuple(doc.get("mcpPodRanges") or ()),
        controller_version=tuple(int(v) for v in version) if version else None,
        production=bool(doc.get("production")),
    )


def ruleset_rows(rulebase: Rulebase) -> list[tuple[str, ...]]:
    """One row per rule for people: order, pri, name, layer, action, match, TLS, mode."""
    rows: list[tuple[str, ...]] = []
    for i, r in enumerate(rulebase.rules, 1):
        proto = r.protocol.value + (f"/{','.join(map(str, r.ports))}" if r.ports else "")
        dst = ", ".join(r.web_groups) if r.web_groups else ", ".join(r.dst)
        rows.append(
            (
                str(i),
                str(r.priority),
                r.name,
                r.layer.label,
                r.action.value,
                f"{', '.join(r.src)} -> {dst} {proto}",
                r.decrypt_policy.value if r.decrypt_policy else "",
                "monitor" if r.monitor else "enforce",
            )
        )
    action = rulebase.default_action
    rows.append(
        ("", "", "DCF default action", "default", action.action.value, "any -> any", "", "enforce")
    )
    return rows
