"""The compiled rulebase as JSON (the shapes `containment plan --json` prints) and as a table."""

from __future__ import annotations

from typing import Any

from .model import Rule, Rulebase, SmartGroup, WebGroup


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
    }


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
