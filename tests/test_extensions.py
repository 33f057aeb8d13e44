"""Extension points: rules of your own in a named band, and entries added to the platform
lists, without forking. They go through the same compiler, analysis, simulator and pack as
the library's own rules."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_containment.compile.flows import simulate
from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.validate import validate
from mcp_containment.core.analysis import Code, analyze
from mcp_containment.core.model import Layer
from mcp_containment.crossguard.registry import Level
from mcp_containment.offline import runner, runtime

from .helpers import paths, raw_stack, stack_config_of, with_changes

MIRROR = {
    "name": "allow-package-mirror",
    "action": "PERMIT",
    "source": "nodes",
    "domains": ["mirror.corp.example.com"],
}


def _aks(**changes: Any) -> dict[str, Any]:
    return with_changes(raw_stack("obot-aks"), **changes)


def test_a_platform_rule_sits_with_the_platform_permits_before_the_band() -> None:
    spec = validate(_aks(egress__extraRules=[MIRROR]))
    rulebase = compile_rulebase(spec)
    names = [r.name for r in rulebase.rules]
    rule = rulebase.rule("allow-package-mirror")
    assert rule.layer is Layer.BEFORE_UI and rule.origin == "extra"
    # After every library permit, before anything of the band.
    assert names.index("allow-package-mirror") == names.index("allow-obot-remote-mcp") + 1
    assert rule.web_groups == ("prod-aks-extra-allow-package-mirror",)
    assert rulebase.web_group(rule.web_groups[0]).domains == ("mirror.corp.example.com",)
    # The nodes reach the mirror through it; an MCP server pod does not.
    node = simulate(spec, "10.70.4.9", "mirror.corp.example.com", rulebase=rulebase)
    assert (node.verdict.value, node.rule and node.rule.name) == ("PERMIT", rule.name)
    pod = simulate(spec, "pod:obot-mcp/github", "mirror.corp.example.com", rulebase=rulebase)
    assert pod.verdict.value == "DENY"


def test_a_platform_rule_is_deployed_in_the_stacks_ruleset() -> None:
    capture = runtime.plan(validate(_aks(egress__extraRules=[MIRROR])))
    (before,) = [
        r
        for r in capture.of_type("aviatrix:index/dcfRuleset:DcfRuleset")
        if r.inputs["name"].endswith("-before-ui-rules")
    ]
    rule = next(x for x in before.inputs["rules"] if x["name"] == "allow-package-mirror")
    assert (rule["action"], rule["protocol"], rule["flowAppRequirement"]) == (
        "PERMIT",
        "TCP",
        "TLS_REQUIRED",
    )


def test_a_permit_to_everything_is_refused_by_the_same_analysis_and_pack() -> None:
    everything = {
        "name": "allow-everything",
        "action": "PERMIT",
        "band": "terminal",
        "source": "workloads",
        "cidrs": ["0.0.0.0/0"],
        "protocol": "any",
    }
    spec = validate(_aks(egress__extraRules=[everything]))
    codes = {f.code for f in analyze(compile_rulebase(spec))}
    assert {Code.PERMIT_ALL_INTERNET, Code.SHADOWED} <= codes
    violations = runner.check(runtime.plan(spec), [], stack_config_of(spec))
    mandatory = {v.policy for v in violations if v.level is Level.MANDATORY}
    assert {"dcf-containment-breadth", "dcf-rule-ordering"} <= mandatory


def test_a_terminal_deny_over_the_pods_before_the_band_is_flagged() -> None:
    # obot-aks has no controller point after the band: a deny of every workload at the
    # terminal band precedes the servers' permits.
    deny = {
        "name": "deny-legacy-range",
        "action": "DENY",
        "band": "terminal",
        "source": "workloads",
        "domains": ["*.githubusercontent.com"],
    }
    codes = {f.code for f in analyze(compile_rulebase(validate(_aks(egress__extraRules=[deny]))))}
    assert Code.SHADOWS_SERVER_PERMIT in codes


def test_platform_lists_take_a_stacks_own_entries() -> None:
    spec = validate(
        _aks(egress__platform={"clusterInfra": ["registry.corp.example.com"], "obotSystem": []})
    )
    rulebase = compile_rulebase(spec)
    assert "registry.corp.example.com" in rulebase.web_group("prod-aks-cluster-infra-fqdns").domains
    foundry = validate(
        with_changes(
            raw_stack("foundry-dev"), egress__platform={"acaFqdns": ["*.corp-proxy.example.com"]}
        )
    )
    aca = compile_rulebase(foundry).rule("allow-aca-fqdn").web_groups[0]
    assert "*.corp-proxy.example.com" in compile_rulebase(foundry).web_group(aca).domains


def test_rule_modes_may_name_an_extra_rule() -> None:
    spec = validate(
        _aks(egress__extraRules=[MIRROR], egress__ruleModes={"allow-package-mirror": "monitor"})
    )
    assert compile_rulebase(spec).rule("allow-package-mirror").monitor


@pytest.mark.parametrize(
    ("rule", "path", "reason"),
    [
        ({**MIRROR, "name": "deny-threat-intel"}, "egress.extraRules[0].name", "library"),
        ({**MIRROR, "cidrs": ["10.9.0.0/16"]}, "egress.extraRules[0]", "one of them"),
        ({k: v for k, v in MIRROR.items() if k != "domains"}, "egress.extraRules[0]", "one of"),
        ({**MIRROR, "protocol": "udp"}, "egress.extraRules[0].protocol", "TCP only"),
        ({**MIRROR, "domains": ["*.com"]}, "egress.extraRules[0].domains[0]", "*.com"),
        ({**MIRROR, "ports": [0]}, "egress.extraRules[0].ports[0]", "greater"),
        ({**MIRROR, "name": "Not A Name"}, "egress.extraRules[0].name", "pattern"),
    ],
)
def test_bad_extra_rules_are_refused_with_the_key(
    rule: dict[str, Any], path: str, reason: str
) -> None:
    found = paths(_aks(egress__extraRules=[rule]))
    assert path in found, found
    assert reason.lower() in found[path].lower()


def test_two_extra_rules_of_one_name_and_obot_sources_without_kubernetes() -> None:
    found = paths(_aks(egress__extraRules=[MIRROR, MIRROR]))
    assert "also egress.extraRules[0]" in found["egress.extraRules[1].name"]
    foundry = with_changes(
        raw_stack("foundry-dev"), egress__extraRules=[{**MIRROR, "source": "obot-system"}]
    )
    assert "kubernetes" in paths(foundry)["egress.extraRules[0].source"]
