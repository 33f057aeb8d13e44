"""Analysis findings: each one triggered by a policy that has exactly that defect."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.validate import validate
from mcp_containment.core import analysis
from mcp_containment.core.analysis import Code, Finding, Severity, analyze
from mcp_containment.core.groups import group_covers
from mcp_containment.core.model import (
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

from .helpers import EXAMPLE_STACKS, raw_stack, with_changes


def policy(name: str, **changes: Any) -> Rulebase:
    return compile_rulebase(validate(with_changes(raw_stack(name), **changes)))


def codes(p: Rulebase, severity: Severity | None = None) -> set[Code]:
    return {f.code for f in analyze(p) if severity is None or f.severity is severity}


def findings(p: Rulebase, code: Code) -> list[Finding]:
    return [f for f in analyze(p) if f.code is code]


def edit(p: Rulebase, rule_name: str, /, **changes: Any) -> Rulebase:
    return replace(
        p, rules=tuple(replace(r, **changes) if r.name == rule_name else r for r in p.rules)
    )


def move(p: Rulebase, name: str, index: int) -> Rulebase:
    rules = [r for r in p.rules if r.name != name]
    rules.insert(index, p.rule(name))
    return replace(p, rules=tuple(rules))


@pytest.mark.parametrize("name", EXAMPLE_STACKS)
def test_examples_have_no_errors(name: str) -> None:
    assert codes(policy(name), Severity.ERROR) == set()


def test_duplicate_name_and_priority() -> None:
    p = policy("foundry-prod")
    p = edit(p, "allow-aca-svctag", name="allow-aca-fqdn", priority=2)
    assert {Code.DUPLICATE_NAME, Code.DUPLICATE_PRIORITY} <= codes(p)
    dup = findings(p, Code.DUPLICATE_PRIORITY)[0]
    assert "priority 2" in dup.message


def test_shadowed_rule_names_the_covering_rule() -> None:
    p = policy("foundry-prod")
    broad = Rule(
        name="allow-https",
        priority=2,
        layer=Layer.BEFORE_KUBERNETES,
        action=Action.PERMIT,
        src=("foundry-agents",),
        dst=("Public Internet",),
        protocol=Protocol.TCP,
        ports=(PortRange(443, 443),),
        web_groups=("foundry-tool-calls", "aca-requirements-fqdns"),
    )
    p = replace(p, rules=(p.rules[0], broad, *p.rules[1:]))
    shadowed = {f.rule: f for f in findings(p, Code.SHADOWED)}
    assert shadowed["allow-aca-fqdn"].related == "allow-https"
    assert shadowed["allow-tool-calls"].related == "allow-https"
    assert shadowed["allow-aca-fqdn"].severity is Severity.WARNING  # same action: redundant
    assert "allow-aca-svctag" not in shadowed  # different destination groups


def test_deny_shadowing_a_permit_is_an_error() -> None:
    p = move(policy("foundry-prod"), "default-deny-internet", 1)
    shadowed = {f.rule: f for f in findings(p, Code.SHADOWED)}
    assert shadowed["allow-aca-fqdn"].severity is Severity.ERROR
    assert shadowed["allow-aca-fqdn"].related == "default-deny-internet"


def test_threat_intel_missing_and_late() -> None:
    p = policy("foundry-prod")
    missing = replace(p, rules=tuple(r for r in p.rules if r.name != "deny-threat-intel"))
    assert Code.THREAT_INTEL_MISSING in codes(missing)
    late = move(p, "deny-threat-intel", 3)
    late_findings = findings(late, Code.PERMIT_BEFORE_THREAT_INTEL)
    assert {f.rule for f in late_findings} == {
        "allow-aca-fqdn",
        "allow-aca-svctag",
        "allow-tool-calls",
    }


def test_platform_permit_after_default_deny() -> None:
    p = move(policy("foundry-prod"), "allow-aca-fqdn", 5)
    assert [f.rule for f in findings(p, Code.PLATFORM_AFTER_DEFAULT_DENY)] == ["allow-aca-fqdn"]


def test_default_deny_before_the_kubernetes_band() -> None:
    p = policy("obot-aks")
    early = edit(
        move(p, "default-deny-internet", 4), "default-deny-internet", layer=Layer.BEFORE_KUBERNETES
    )
    assert Code.DEFAULT_DENY_BEFORE_KUBERNETES in codes(early)
    # ...and it shadows every server's permit
    shadowed = {f.rule for f in findings(early, Code.SHADOWED)}
    assert "obot-mcp/github-egress:allow-approved-egress" in shadowed
    gone = replace(p, rules=tuple(r for r in p.rules if r.name != "default-deny-internet"))
    assert Code.DEFAULT_DENY_MISSING in codes(gone)


def test_default_action_permit() -> None:
    p = policy("foundry-prod", egress__defaultAction="PERMIT")
    assert Code.DEFAULT_ACTION_NOT_DENY in codes(p, Severity.ERROR)


def test_east_west_missing_when_transit_attached() -> None:
    p = policy("obot-aks")
    no_ew = replace(p, rules=tuple(r for r in p.rules if r.name != "deny-east-west"))
    assert Code.EAST_WEST_MISSING in codes(no_ew)
    assert Code.EAST_WEST_MISSING not in codes(replace(no_ew, transit_attached=False))


def test_overbroad_and_permit_all_internet() -> None:
    p = policy("obot-aks", kubernetes__obot={"defaultDenyAllEgress": False})
    p = replace(p, web_groups=(*p.web_groups, WebGroup("wide", ("*.com",))))
    assert Code.OVERBROAD_DOMAIN in codes(p)
    raw = raw_stack("obot-aks")
    raw["mcpServers"].append({"name": "open"})
    allow_all = compile_rulebase(
        validate(with_changes(raw, kubernetes__obot={"defaultDenyAllEgress": False}))
    )
    hits = findings(allow_all, Code.PERMIT_ALL_INTERNET)
    assert [f.rule for f in hits] == ["obot-mcp/open-egress:allow-approved-egress"]


def test_blueprint_demo_rule_permitting_all_web_is_flagged() -> None:
    p = policy("foundry-prod")
    demo = Rule(
        name="allow-all-web",
        priority=5,
        layer=Layer.BEFORE_KUBERNETES,
        action=Action.PERMIT,
        src=("foundry-agents",),
        dst=("Public Internet",),
        protocol=Protocol.TCP,
        ports=(PortRange(80, 80), PortRange(443, 443)),
    )
    p = replace(
        p, rules=(*p.layer(Layer.BEFORE_KUBERNETES), demo, *p.layer(Layer.AFTER_KUBERNETES))
    )
    assert [f.rule for f in findings(p, Code.PERMIT_ALL_INTERNET)] == ["allow-all-web"]


def test_storage_exposed_to_mcp_pods() -> None:
    # Without a separate pod subnet, pods share the node subnet: the node-scoped platform
    # permit (with S3 in it) now reaches MCP server pods.
    p = policy(
        "obot-eks",
        network__podSubnet=None,
        kubernetes__podIdentity="labels",
        mcpServers=[{"name": "github", "egressDomains": ["api.github.com"]}],
    )
    exposed = findings(p, Code.STORAGE_EXPOSED_TO_MCP)
    assert [f.rule for f in exposed] == ["allow-cluster-infra"]
    assert exposed[0].severity is Severity.ERROR
    assert "s3" in exposed[0].message
    declared = findings(policy("obot-aks"), Code.STORAGE_EXPOSED_TO_MCP)
    assert [(f.rule, f.severity) for f in declared] == [
        ("obot-mcp/github-egress:allow-approved-egress", Severity.WARNING)
    ]


def test_not_logged() -> None:
    p = edit(policy("foundry-prod"), "allow-tool-calls", logging=False)
    p = replace(p, default_action=DefaultAction(Action.DENY, logging=False))
    assert len(findings(p, Code.NOT_LOGGED)) == 2


def test_decryption_scope() -> None:
    p = edit(policy("foundry-prod"), "allow-aca-fqdn", decrypt_policy=Decrypt.ALLOWED)
    assert Code.ACA_DECRYPTED in codes(p)
    assert [f.rule for f in findings(p, Code.DECRYPT_OUTSIDE_TOOL_CALLS)] == ["allow-aca-fqdn"]
    # Validation refuses Foundry on 8.1; a program that declares the rules itself is caught here.
    old = replace(policy("foundry-prod"), controller_version=(8, 1, 3))
    assert Code.DECRYPT_NEEDS_CONTROLLER_8_2 in codes(old, Severity.ERROR)
    assert Code.DECRYPT_NEEDS_CONTROLLER_8_2 not in codes(policy("foundry-prod"))


def test_monitor_mode_is_reported() -> None:
    assert len(findings(policy("foundry-dev"), Code.MONITOR_MODE)) == 5


def test_server_policy_must_end_with_deny() -> None:
    p = policy("obot-aks")
    cut = replace(
        p, rules=tuple(r for r in p.rules if r.name != "obot-mcp/github-egress:deny-all-external")
    )
    assert [f.rule for f in findings(cut, Code.SERVER_WITHOUT_DENY)] == [
        "obot-mcp/github-egress:allow-approved-egress"
    ]


def test_every_finding_code_is_exercised() -> None:
    # A finding no test triggers is a finding nobody knows works.
    source = Path(__file__).read_text()
    missing = [
        c.name for c in Code if f"Code.{c.name}" not in source.split("def test_every_finding")[0]
    ]
    assert missing == []


def test_kubernetes_selector_groups_cover_only_their_own_labels() -> None:
    a = SmartGroup("a", (Selector(SelectorKind.K8S, k8s_namespace="ns", tags=(("app", "x"),)),))
    b = SmartGroup("b", (Selector(SelectorKind.K8S, k8s_namespace="ns", tags=(("app", "y"),)),))
    assert not group_covers(a, b)
    assert group_covers(SmartGroup("ns", (Selector(SelectorKind.K8S, k8s_namespace="ns"),)), a)


def _brute_force_shadows(p: Rulebase) -> dict[str, str]:
    """The definition: the first earlier rule that covers each rule, comparing every pair."""
    ctx = analysis._Context(p)
    out = {}
    for j, b in enumerate(p.rules):
        for a in p.rules[:j]:
            if analysis._rule_covers(ctx, a, b):
                out[b.name] = a.name
                break
    return out


def _pod_rule(name: str, group: str, action: Action = Action.DENY) -> Rule:
    return Rule(
        name=name,
        priority=1,
        layer=Layer.KUBERNETES,
        action=action,
        src=(group,),
        dst=("Anywhere",),
        firewall_policy=f"obot-mcp/{name}",
    )


@pytest.mark.parametrize("stack", ["obot-aks", "obot-eks"])
def test_indexed_shadow_check_agrees_with_every_pair(stack: str) -> None:
    base = policy(stack)
    github_pods = next(g for g in base.smart_groups if g.name.endswith("github-egress-pods"))
    sel = github_pods.selectors[0]
    extra_groups = (
        # Same label as the github pods: covers them, found through the (namespace, label) index.
        SmartGroup("label-github", (replace(sel, k8s_cluster_id=None),)),
        # One more label: narrower, covers nothing of github's.
        SmartGroup("label-github-tier", (replace(sel, tags=(*sel.tags, ("tier", "x"))),)),
        # /32s (EKS pod CIDR identity): cover a group of the same addresses only.
        SmartGroup(
            "one-pod",
            (
                Selector(SelectorKind.CIDR, cidr="10.80.64.10/32"),
                Selector(SelectorKind.CIDR, cidr="10.80.64.11/32"),
            ),
        ),
        SmartGroup("whole-namespace", (Selector(SelectorKind.K8S, k8s_namespace="obot-mcp"),)),
    )
    extra = [
        _pod_rule("tier-first", "label-github-tier"),
        _pod_rule("label-first", "label-github"),
        _pod_rule("pod-first", "one-pod"),
        _pod_rule("namespace-last", "whole-namespace"),
    ]
    band_start = next(i for i, r in enumerate(base.rules) if r.layer is Layer.KUBERNETES)
    rules = (*base.rules[:band_start], *extra[:3], *base.rules[band_start:], extra[3])
    p = replace(base, smart_groups=(*base.smart_groups, *extra_groups), rules=rules)
    found = {f.rule: f.related for f in analyze(p) if f.code is Code.SHADOWED}
    assert found == _brute_force_shadows(p)
    if stack == "obot-aks":
        assert found["obot-mcp/github-egress:allow-approved-egress"] == "label-first"
    else:
        assert found["obot-mcp/github-egress:allow-approved-egress"] == "pod-first"
