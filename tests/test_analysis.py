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


def policy(name: str, *, skip_version_validation: bool = False, **changes: Any) -> Rulebase:
    raw = with_changes(raw_stack(name), **changes)
    return compile_rulebase(validate(raw, skip_version_validation=skip_version_validation))


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
        layer=Layer.BEFORE_UI,
        action=Action.PERMIT,
        src=("prod-foundry-agents",),
        dst=("Public Internet",),
        protocol=Protocol.TCP,
        ports=(PortRange(443, 443),),
        web_groups=("prod-foundry-tool-calls", "prod-aca-requirements-fqdns"),
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
    # Compiled: at the point after the UI's rules (which may precede the band) it denies the
    # nodes only, which hold no MCP pod.
    deny = p.rule("default-deny-internet")
    assert deny.layer is Layer.AFTER_UI and deny.src == ("prod-aks-cluster-nodes",)
    assert Code.DEFAULT_DENY_BEFORE_KUBERNETES not in codes(p)
    # Sourced from the pods too, it shadows every server's permit.
    early = edit(p, "default-deny-internet", src=(*deny.src, "prod-aks-cluster-pods"))
    (finding,) = findings(early, Code.DEFAULT_DENY_BEFORE_KUBERNETES)
    assert "(after-ui)" in finding.message
    shadowed = {f.rule for f in findings(early, Code.SHADOWED)}
    assert "obot-mcp/obot-github-fw:allow-approved-egress" in shadowed
    # After the band, the same sources are fine.
    late = edit(early, "default-deny-internet", layer=Layer.AFTER_KUBERNETES)
    late = replace(late, rules=tuple(sorted(late.rules, key=lambda r: r.layer)))
    assert Code.DEFAULT_DENY_BEFORE_KUBERNETES not in codes(late)
    gone = replace(p, rules=tuple(r for r in p.rules if r.name != "default-deny-internet"))
    (missing,) = findings(gone, Code.DEFAULT_DENY_MISSING)
    assert "network.podSubnet" in missing.message
    assert "controller.afterKubernetesPoint" in missing.message


def test_a_deny_that_may_precede_the_band_must_not_reach_server_permits() -> None:
    p = policy("obot-aks")
    block = Rule(
        name="block-web",
        priority=9,
        layer=Layer.AFTER_UI,
        action=Action.DENY,
        src=("prod-aks-cluster-pods",),
        dst=("Public Internet",),
        protocol=Protocol.TCP,
        ports=(PortRange(443, 443),),
    )
    early = replace(p, rules=tuple(sorted((*p.rules, block), key=lambda r: r.layer)))
    (finding,) = findings(early, Code.SHADOWS_SERVER_PERMIT)
    assert finding.rule == "block-web" and finding.severity is Severity.ERROR
    assert "atlassian, brave-search, github" in finding.message
    # Elsewhere than TCP/443, or after the band, it decides nothing a server permits.
    udp = edit(early, "block-web", protocol=Protocol.UDP, ports=())
    assert Code.SHADOWS_SERVER_PERMIT not in codes(udp)
    late = edit(early, "block-web", layer=Layer.AFTER_KUBERNETES)
    assert Code.SHADOWS_SERVER_PERMIT not in codes(replace(late, rules=sorted_rules(late)))
    # The threat-intel deny comes first by design and is never reported.
    assert p.rule("deny-threat-intel").layer is Layer.BEFORE_UI
    assert Code.SHADOWS_SERVER_PERMIT not in codes(p)


def sorted_rules(p: Rulebase) -> tuple[Rule, ...]:
    return tuple(sorted(p.rules, key=lambda r: r.layer))


def test_pods_on_the_node_subnet_get_no_default_deny_before_the_band() -> None:
    shared = {"network__podSubnet": None}
    p = policy("obot-aks", **shared)
    assert "default-deny-internet" not in {r.name for r in p.rules}
    assert Code.DEFAULT_DENY_MISSING in codes(p, Severity.ERROR)
    assert not {Code.SHADOWS_SERVER_PERMIT, Code.DEFAULT_DENY_BEFORE_KUBERNETES} & codes(p)
    # With the controller's point after the band, the deny covers every workload there.
    after = policy("obot-aks", controller__afterKubernetesPoint=True, **shared)
    deny = after.rule("default-deny-internet")
    assert deny.layer is Layer.AFTER_KUBERNETES and deny.src == ("prod-aks-cluster-nodes",)
    assert Code.DEFAULT_DENY_MISSING not in codes(after)


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
    raw["mcpServers"].append({"name": "open", "runtime": "npx", "npxConfig": {"package": "o"}})
    allow_all = compile_rulebase(
        validate(with_changes(raw, kubernetes__obot={"defaultDenyAllEgress": False}))
    )
    hits = findings(allow_all, Code.PERMIT_ALL_INTERNET)
    assert [f.rule for f in hits] == ["obot-mcp/obot-open-fw:allow-approved-egress"]


def test_blueprint_demo_rule_permitting_all_web_is_flagged() -> None:
    p = policy("foundry-prod")
    demo = Rule(
        name="allow-all-web",
        priority=5,
        layer=Layer.BEFORE_UI,
        action=Action.PERMIT,
        src=("prod-foundry-agents",),
        dst=("Public Internet",),
        protocol=Protocol.TCP,
        ports=(PortRange(80, 80), PortRange(443, 443)),
    )
    p = replace(p, rules=(*p.layer(Layer.BEFORE_UI), demo, *p.layer(Layer.AFTER_UI)))
    assert [f.rule for f in findings(p, Code.PERMIT_ALL_INTERNET)] == ["allow-all-web"]


def test_storage_exposed_to_mcp_pods() -> None:
    # Without a separate pod subnet, pods share the node subnet: the node-scoped platform
    # permit (with S3 in it) now reaches MCP server pods.
    p = policy(
        "obot-eks",
        network__podSubnet=None,
        network__haPodSubnet=None,
        mcpWorkloads=None,
        mcpServers=[
            {
                "name": "github",
                "runtime": "npx",
                "npxConfig": {"package": "@modelcontextprotocol/server-github"},
                "egressDomains": ["api.github.com"],
            }
        ],
    )
    exposed = findings(p, Code.STORAGE_EXPOSED_TO_MCP)
    assert [f.rule for f in exposed] == ["allow-cluster-infra"]
    assert exposed[0].severity is Severity.ERROR
    assert "s3" in exposed[0].message
    declared = findings(policy("obot-aks"), Code.STORAGE_EXPOSED_TO_MCP)
    assert [(f.rule, f.severity) for f in declared] == [
        ("obot-mcp/obot-github-fw:allow-approved-egress", Severity.WARNING)
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
        p, rules=tuple(r for r in p.rules if r.name != "obot-mcp/obot-github-fw:deny-all-external")
    )
    assert [f.rule for f in findings(cut, Code.SERVER_WITHOUT_DENY)] == [
        "obot-mcp/obot-github-fw:allow-approved-egress"
    ]


# --- private paths: every Foundry dependency resolves inside the spoke --------------------------


def _private(spec_name: str, **changes: Any) -> list[analysis.PrivatePath]:
    """Each dependency of the stack with the complete chain the components declare."""
    spec = validate(with_changes(raw_stack(spec_name), **changes))
    return [
        analysis.PrivatePath(
            dependency=d,
            endpoint=f"{d.key}-pe",
            group_ids=(d.service.group_id,),
            subnet_cidr=spec.network.private_endpoint_subnet,
            zones=d.service.zones,
            linked_zones=d.service.zones,
        )
        for d in spec.private_dependencies()
    ]


def test_a_complete_private_path_needs_no_rule_and_gives_no_finding() -> None:
    paths = _private("foundry-prod")
    assert [p.dependency.key for p in paths] == [
        "foundryAccount",
        "storage",
        "aiSearch",
        "cosmosDb",
        "decryptionCaVault",
    ]
    # allow-aca-fqdn permits *.blob.core.windows.net, but the storage account resolves to
    # its endpoint inside the spoke: that permit never carries it.
    assert analysis.private_path_findings(policy("foundry-prod"), paths, "10.40.0.0/16", True) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"endpoint": None}, "no private endpoint"),
        ({"group_ids": ("file",)}, "not 'blob'"),
        ({"subnet_cidr": "10.99.0.0/26"}, "not in a subnet of the spoke"),
        ({"zones": ()}, "does not register in privatelink.blob.core.windows.net"),
        ({"linked_zones": ()}, "privatelink.blob.core.windows.net not linked to the spoke VNet"),
    ],
)
def test_each_broken_link_of_the_chain_is_named(change: dict[str, Any], problem: str) -> None:
    paths = [
        replace(p, **change) if p.dependency.key == "storage" else p
        for p in _private("foundry-prod")
    ]
    found = analysis.private_path_findings(policy("foundry-prod"), paths, "10.40.0.0/16", True)
    not_private = [f for f in found if f.code is Code.DEPENDENCY_NOT_PRIVATE]
    assert len(not_private) == 1 and problem in not_private[0].message
    assert "storage (Azure Storage (blob) prodagentsfiles)" in not_private[0].message
    assert not_private[0].severity is Severity.ERROR
    # Without the private path the platform's *.blob.core.windows.net permit carries it.
    via = [f for f in found if f.code is Code.DEPENDENCY_VIA_GATEWAY]
    assert [f.rule for f in via] == ["allow-aca-fqdn"]


def test_outside_production_the_same_findings_are_warnings() -> None:
    paths = [replace(p, endpoint=None) for p in _private("foundry-dev")]
    found = analysis.private_path_findings(policy("foundry-dev"), paths, "10.30.0.0/16", False)
    assert found and {f.severity for f in found} == {Severity.WARNING}


def test_a_permit_naming_a_dependency_is_reported_even_with_its_path_in_place() -> None:
    rb = policy(
        "foundry-prod",
        egress__toolCalls__domains=["api.github.com", "prod-agents-search.search.windows.net"],
    )
    found = analysis.private_path_findings(rb, _private("foundry-prod"), "10.40.0.0/16", True)
    assert [(f.code, f.rule) for f in found] == [(Code.DEPENDENCY_VIA_GATEWAY, "allow-tool-calls")]
    assert "prod-agents-search.search.windows.net" in found[0].message


def test_a_service_tag_permit_carries_a_dependency_without_its_endpoint() -> None:
    rb = policy("foundry-prod")
    tag = SmartGroup(
        "svctag-cosmos",
        (
            Selector(
                SelectorKind.EXTERNAL,
                external="azureips",
                ext_args=(("service_name", "AzureCosmosDB"),),
            ),
        ),
    )
    permit = replace(rb.rule("allow-aca-svctag"), name="allow-cosmos", dst=(tag.name,), priority=9)
    rb = replace(rb, smart_groups=(*rb.smart_groups, tag), rules=(*rb.rules, permit))
    paths = [
        replace(p, endpoint=None) if p.dependency.key == "cosmosDb" else p
        for p in _private("foundry-prod")
    ]
    via = [
        f
        for f in analysis.private_path_findings(rb, paths, "10.40.0.0/16", True)
        if f.code is Code.DEPENDENCY_VIA_GATEWAY
    ]
    assert [f.rule for f in via] == ["allow-cosmos"]
    assert "service tag" in via[0].message


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
    github_pods = next(g for g in base.smart_groups if g.name.endswith("/obot-github-pods"))
    sel = github_pods.selectors[0]
    extra_groups = (
        # Same label as the github pods: covers them, found through the (namespace, label) index.
        SmartGroup("label-github", (replace(sel, k8s_cluster_id=None),)),
        # One more label: narrower, covers nothing of github's.
        SmartGroup("label-github-tier", (replace(sel, tags=(*sel.tags, ("tier", "x"))),)),
        # /32s (pod CIDR identity of a self-managed workload on EKS): cover a group of the
        # same addresses only, never a label-selected Obot server.
        SmartGroup(
            "one-pod",
            (
                Selector(SelectorKind.CIDR, cidr="10.80.64.40/32"),
                Selector(SelectorKind.CIDR, cidr="10.80.64.41/32"),
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
    assert found["obot-mcp/obot-github-fw:allow-approved-egress"] == "label-first"
    if stack == "obot-eks":
        workload = "search-tools/internal-search-egress:allow-approved-egress"
        assert found[workload] == "pod-first"
