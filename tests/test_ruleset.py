"""The compiled ruleset: names, priorities, actions, decryption and layering of both deployments."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_containment.compile import firewallpolicy
from mcp_containment.compile.firewallpolicy import truncate_name
from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.schema import McpWorkload
from mcp_containment.config.validate import validate
from mcp_containment.core import crd
from mcp_containment.core.export import rulebase_from_json, rulebase_json
from mcp_containment.core.model import Action, Decrypt, Layer, PortRange, Protocol
from mcp_containment.core.platform import platform

from .helpers import EXAMPLE_STACKS, raw_stack, with_changes


def _spec(name: str, **changes: Any) -> Any:
    return validate(with_changes(raw_stack(name), **changes))


def test_foundry_ruleset_is_the_six_rules_of_the_design() -> None:
    policy = compile_rulebase(_spec("foundry-prod"))
    table = [
        (r.priority, r.name, r.action, r.protocol, r.decrypt_policy, r.layer) for r in policy.rules
    ]
    # No Kubernetes band here: the terminal denies sit at the point after the UI's rules.
    before, after = Layer.BEFORE_UI, Layer.AFTER_UI
    assert table == [
        (1, "deny-threat-intel", Action.DENY, Protocol.ANY, None, before),
        (2, "allow-aca-fqdn", Action.PERMIT, Protocol.TCP, Decrypt.NOT_ALLOWED, before),
        (3, "allow-aca-svctag", Action.PERMIT, Protocol.TCP, Decrypt.NOT_ALLOWED, before),
        (4, "allow-tool-calls", Action.PERMIT, Protocol.TCP, Decrypt.ALLOWED, before),
        (5, "default-deny-internet", Action.DENY, Protocol.ANY, None, after),
        (6, "deny-east-west", Action.DENY, Protocol.ANY, None, after),
    ]
    assert all(r.src == ("prod-foundry-agents",) for r in policy.rules)
    assert all(r.logging for r in policy.rules)
    assert policy.default_action.action is Action.DENY and policy.default_action.logging
    assert policy.rule("allow-aca-fqdn").ports == (PortRange(443, 443),)
    assert policy.rule("allow-aca-fqdn").tls_required


def test_foundry_groups_follow_the_blueprint() -> None:
    spec = _spec("foundry-prod")
    policy = compile_rulebase(spec)
    agents = policy.group("prod-foundry-agents").selectors[0]
    assert (agents.kind.value, agents.account_name, agents.name, agents.cidr) == (
        "subnet",
        "azure-prod",
        "agents",
        "10.40.1.0/24",
    )
    tags = {
        dict(policy.group(g).selectors[0].ext_args)["service_name"]
        for g in policy.rule("allow-aca-svctag").dst
    }
    assert tags == {
        "MicrosoftContainerRegistry",
        "AzureFrontDoorFirstParty",
        "AzureContainerRegistry",
        "AzureActiveDirectory",
    }
    assert all(
        policy.group(g).selectors[0].external == "azureips"
        for g in policy.rule("allow-aca-svctag").dst
    )
    aca = policy.web_group("prod-aca-requirements-fqdns").domains
    assert set(aca) == set(platform().aca_fqdns)
    assert "*.data.mcr.microsoft.com" in aca and "login.microsoft.com" in aca
    assert policy.web_group("prod-foundry-tool-calls").domains == tuple(
        sorted(spec.egress.tool_calls.domains)
    )
    assert [s.cidr for s in policy.group("prod-other-spoke-resources").selectors] == [
        "10.50.0.0/16",
        "10.60.0.0/16",
    ]


def test_rule_six_only_with_east_west() -> None:
    policy = compile_rulebase(_spec("foundry-dev"))
    assert [r.name for r in policy.rules][-1] == "default-deny-internet"
    assert "deny-east-west" not in {r.name for r in policy.rules}


def test_tool_call_decrypt_follows_config() -> None:
    policy = compile_rulebase(_spec("foundry-prod", egress__toolCalls={"domains": ["api.x.com"]}))
    assert policy.rule("allow-tool-calls").decrypt_policy is Decrypt.NOT_ALLOWED


def test_modes_from_mode_and_rule_modes() -> None:
    spec = _spec("foundry-dev", egress__ruleModes={"default-deny-internet": "enforce"})
    watch = {r.name: r.monitor for r in compile_rulebase(spec).rules}
    assert watch == {
        "deny-threat-intel": True,
        "allow-aca-fqdn": True,
        "allow-aca-svctag": True,
        "allow-tool-calls": True,
        "default-deny-internet": False,
    }


def test_kubernetes_layering() -> None:
    policy = compile_rulebase(_spec("obot-aks"))
    layers = [r.layer for r in policy.rules]
    assert layers == sorted(layers), "rules must already be in layer order"
    names = [r.name for r in policy.rules]
    assert names[:5] == [
        "deny-threat-intel",
        "allow-cluster-infra",
        "allow-obot-system",
        "allow-k8s-api-server",
        "allow-obot-remote-mcp",
    ]
    # The terminal denies sit after the UI's rules, which may precede the band: they deny the
    # nodes only (pods have their own subnet), never the MCP pods whose permits follow.
    assert names[5:7] == ["default-deny-internet", "deny-east-west"]
    for rule in (policy.rule("default-deny-internet"), policy.rule("deny-east-west")):
        assert (rule.layer, rule.src) == (Layer.AFTER_UI, ("prod-aks-cluster-nodes",))
    band = policy.layer(Layer.KUBERNETES)
    assert names[7:] == [r.name for r in band]
    # The controller's objects, policies by name, list order within each: allow then deny;
    # scratch is deny-only; deepwiki (remote) has none.
    assert [r.name for r in band] == [
        "obot-mcp/obot-atlassian-fw:allow-approved-egress",
        "obot-mcp/obot-atlassian-fw:deny-all-external",
        "obot-mcp/obot-brave-search-fw:allow-approved-egress",
        "obot-mcp/obot-brave-search-fw:deny-all-external",
        "obot-mcp/obot-github-fw:allow-approved-egress",
        "obot-mcp/obot-github-fw:deny-all-external",
        "obot-mcp/obot-scratch-fw:deny-all-external",
    ]
    assert policy.rule("allow-cluster-infra").src == ("prod-aks-cluster-nodes",)
    api = policy.rule("allow-k8s-api-server")
    assert (api.web_groups, api.decrypt_policy) == ((), None)
    assert policy.group("prod-aks-k8s-api-server").selectors[0].cidr == "20.103.10.24/32"


def test_cluster_infra_is_regional_data() -> None:
    rulebase = compile_rulebase(_spec("obot-eks"))
    domains = rulebase.web_group("staging-cluster-infra-fqdns").domains
    assert "api.ecr.us-east-1.amazonaws.com" in domains
    assert "*.dkr.ecr.us-east-1.amazonaws.com" in domains
    assert not any("{region}" in d for d in domains)


@pytest.mark.parametrize("name", EXAMPLE_STACKS)
def test_compilation_is_deterministic(name: str) -> None:
    assert compile_rulebase(_spec(name)) == compile_rulebase(_spec(name))


# --- FirewallPolicies: the controller's for Obot servers, ours for self-managed workloads -------


@pytest.mark.parametrize("name", ["obot-aks", "obot-eks"])
def test_every_firewall_policy_of_the_band_validates_against_the_crd(name: str) -> None:
    policies = compile_rulebase(_spec(name)).firewall_policies
    assert policies
    for obj in policies:
        assert crd.errors(obj) == [], obj["metadata"]["name"]


def test_obot_server_policy_is_the_controllers_translation() -> None:
    spec = _spec("obot-aks")
    github = next(s for s in spec.mcp_servers if s.name == "github")
    obj = firewallpolicy.planned(spec, github)
    assert obj is not None
    assert list(obj) == ["kind", "apiVersion", "metadata", "spec"]  # Go's TypeMeta order
    assert obj["metadata"]["name"] == "obot-github-fw"
    assert obj["metadata"]["labels"] == {
        "obot.ai/managed-by": "aviatrix-network-policy-controller",
        "obot.ai/mcp-network-policy-name": "github",
        "obot.ai/mcp-server-name": "github",
    }
    smart = {g["name"]: g["selectors"] for g in obj["spec"]["smartGroups"]}
    assert smart == {
        "obot-github-pods": [
            {"type": "k8s", "k8sNamespace": "obot-mcp", "tags": {"app": "github"}}
        ],
        "any-destination": [{"cidr": "0.0.0.0/0"}],
    }
    assert obj["spec"]["webGroups"] == [
        {
            "name": "obot-github-approved-domains",
            "domains": ["*.githubusercontent.com", "api.github.com"],
        }
    ]
    allow, deny = obj["spec"]["rules"]
    assert (allow["name"], allow["action"], allow["protocol"], allow["port"]) == (
        "allow-approved-egress",
        "permit",
        "tcp",
        443,
    )
    assert (deny["name"], deny["action"], deny["protocol"]) == ("deny-all-external", "deny", "any")
    assert "watch" not in allow and "watch" not in deny
    assert allow["logging"] and deny["logging"]


def test_remote_servers_get_no_pod_policy_but_obot_may_reach_their_host() -> None:
    spec = _spec("obot-aks")
    deepwiki = next(s for s in spec.mcp_servers if s.name == "deepwiki")
    assert firewallpolicy.planned(spec, deepwiki) is None
    policy = compile_rulebase(spec)
    rule = policy.rule("allow-obot-remote-mcp")
    assert rule.src == ("prod-aks-obot-system-pods",)
    assert rule.web_groups == ("prod-aks-obot-remote-mcp-servers",)
    assert policy.web_group("prod-aks-obot-remote-mcp-servers").domains == ("mcp.deepwiki.com",)
    assert all("deepwiki" not in str(p) for p in policy.firewall_policies)


def test_no_remote_permit_without_remote_servers() -> None:
    policy = compile_rulebase(_spec("obot-eks"))
    assert "allow-obot-remote-mcp" not in {r.name for r in policy.rules}


def test_deny_all_and_obots_default() -> None:
    spec = _spec("obot-aks")
    scratch = next(s for s in spec.mcp_servers if s.name == "scratch")
    scratch_policy = firewallpolicy.planned(spec, scratch)
    assert scratch_policy is not None
    assert [r["name"] for r in scratch_policy["spec"]["rules"]] == ["deny-all-external"]
    assert "webGroups" not in scratch_policy["spec"]
    undeclared = scratch.model_copy(update={"deny_all_egress": None})
    denied = firewallpolicy.planned(spec, undeclared)
    assert denied is not None and "webGroups" not in denied["spec"]
    permissive = _spec("obot-aks", kubernetes__obot={"defaultDenyAllEgress": False})
    allowed = firewallpolicy.planned(permissive, undeclared)
    assert allowed is not None
    assert allowed["spec"]["webGroups"][0]["domains"] == ["*"]
    assert [r["name"] for r in allowed["spec"]["rules"]] == [
        "allow-approved-egress",
        "deny-all-external",
    ]
    assert crd.errors(allowed) == []


def _labels_spec() -> Any:
    raw = with_changes(raw_stack("obot-eks"), kubernetes__podIdentity="labels")
    del raw["mcpWorkloads"][0]["podCidrs"]
    return validate(raw)


def test_workload_policy_selects_its_own_labels() -> None:
    spec = _labels_spec()
    obj = firewallpolicy.workload(spec, spec.mcp_workloads[0])
    assert obj["metadata"] == {
        "name": "internal-search-egress",
        "namespace": "search-tools",
        "labels": {
            "app.kubernetes.io/managed-by": "mcp-containment",
            "mcp-containment/workload": "internal-search",
        },
    }
    pods = obj["spec"]["smartGroups"][0]["selectors"][0]
    assert pods["tags"] == {"app.kubernetes.io/name": "internal-search"}
    assert pods["k8sNamespace"] == "search-tools"
    assert obj["spec"]["rules"][0]["selector"] == {
        "matchLabels": {"app.kubernetes.io/name": "internal-search"}
    }
    assert crd.errors(obj) == []


def test_cidr_pod_identity_uses_pod_cidrs_for_workloads() -> None:
    spec = _spec("obot-eks")
    obj = firewallpolicy.workload(spec, spec.mcp_workloads[0])
    pods = obj["spec"]["smartGroups"][0]["selectors"]
    assert pods == [{"cidr": "10.80.64.40/32"}, {"cidr": "10.80.64.41/32"}]


def test_a_workload_without_domains_is_denied_everything() -> None:
    spec = _spec("obot-eks")
    quiet = spec.mcp_workloads[0].model_copy(update={"egress_domains": ()})
    obj = firewallpolicy.workload(spec, quiet)
    assert [r["name"] for r in obj["spec"]["rules"]] == ["deny-all-external"]
    assert obj["spec"]["webGroups"] == []


def test_long_names_stay_within_63_and_do_not_collide() -> None:
    a, b = "x" * 60 + "-alpha", "x" * 60 + "-beta"
    assert len(truncate_name(a)) == 63 and len(truncate_name(b)) == 63
    assert truncate_name(a) != truncate_name(b)
    spec = _labels_spec()
    long = McpWorkload(
        name="s" * 63, namespace="tools", podLabels={"app": "s"}, egressDomains=("a.example.com",)
    )
    obj = firewallpolicy.workload(spec, long)
    assert crd.errors(obj) == []
    assert all(len(g["name"]) <= 63 for g in obj["spec"]["smartGroups"] + obj["spec"]["webGroups"])


def test_crd_validator_rejects_what_the_api_server_would() -> None:
    spec = _spec("obot-aks")
    obj = firewallpolicy.planned(spec, spec.mcp_servers[0])
    assert obj is not None
    obj["spec"]["rules"][0]["action"] = "allow"
    obj["spec"]["rules"][1]["destinationSmartGroups"] = [{"name": "any-destination", "uuid": "u"}]
    del obj["spec"]["rules"][0]["name"]
    found = crd.errors(obj)
    assert any("'allow' is not one of" in e for e in found)
    assert any("Either name or uuid" in e for e in found)
    assert any("'name' is a required property" in e for e in found)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_rulebase_json_round_trips(stack: str) -> None:
    # The policy pack reads a component's rulebase back from this JSON at preview.
    rulebase = compile_rulebase(validate(raw_stack(stack)))
    doc = json.loads(json.dumps(rulebase_json(rulebase)))
    assert rulebase_from_json(doc) == rulebase
