"""Every Aviatrix payload the program sends, checked against the pinned provider's own schema.

The schema is the one vendored from the provider's Go source at the pinned tag
(``tests/upstream``, extracted by ``scripts/extract-aviatrix-schema.py``): argument names,
types, required and computed flags, nested blocks and MaxItems, and the enums of its
validators. What the mocked runtime captures is the payload the engine hands the bridge.
"""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import SpecError, validate
from mcp_containment.core import names
from mcp_containment.core.versions import AVIATRIX_PROVIDER, provider_controller_release
from mcp_containment.infra.aviatrix import package
from mcp_containment.offline import runtime
from mcp_containment.offline.runtime import Capture

from . import provider_schema as ps
from .helpers import EXAMPLE_STACKS, ROOT, raw_stack


def payloads(capture: Capture) -> list[tuple[str, str, dict[str, Any]]]:
    """(token, what, payload) for every Aviatrix resource and invoke of a plan."""
    out = [(r.type, r.name, r.inputs) for r in capture.resources if r.type.startswith("aviatrix:")]
    out += [(i.token, "invoke", i.args) for i in capture.invokes if i.token.startswith("aviatrix:")]
    return out


def violations(capture: Capture) -> list[str]:
    found = []
    for tok, what, payload in payloads(capture):
        schema = ps.schema_for(tok)
        if schema is None:
            found.append(f"{tok}: not a resource or data source of provider {AVIATRIX_PROVIDER}")
            continue
        found += [f"{tok} {what}: {e}" for e in ps.errors(payload, schema)]
    return found


@cache
def planned(stack: str) -> Capture:
    return runtime.plan(validate(raw_stack(stack)))


def test_the_snapshot_is_the_pinned_provider() -> None:
    doc = ps.snapshot()
    assert doc["tag"] == f"v{package.PROVIDER_VERSION}"
    # v8.2.20 is a lightweight tag on this commit of AviatrixSystems/terraform-provider-aviatrix.
    assert doc["commit"] == "2c051eea0f9e911da3d24d41278269275dfa4027"
    assert doc["unresolved"] == [] and doc["missingFiles"] == []
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["packages"]["aviatrix"]["parameters"][1] == doc["tag"].removeprefix("v")


def test_the_supported_controller_is_the_providers_release() -> None:
    # The provider compares major.minor only; at v8.2.0 the list is hard-coded ["8.2"]
    # (aviatrix/provider.go L12); from v8.2.10 it embeds the build's version, which the source
    # tree holds as a 99.0.0 placeholder (aviatrix/terraform_provider_version.txt).
    sv = ps.snapshot()["supportedVersions"]
    assert "MajorMinor" in sv["comparison"]
    assert sv["raw"] == ["99.0.0"]
    assert sv["embeddedFrom"] == [
        {"goEmbed": "aviatrix/terraform_provider_version.txt", "goSymbol": "buildVersion"}
    ]
    assert provider_controller_release() == (8, 2)


def test_the_bindings_use_resources_the_provider_has() -> None:
    doc = ps.snapshot()
    # Both first appear in v8.2.0; the previously pinned 8.1.1 had neither.
    assert "aviatrix_dcf_ruleset" in doc["resources"]
    assert "aviatrix_dcf_policy_group" in doc["resources"]
    assert "aviatrix_dcf_attachment_point" in doc["dataSources"]
    # The DCF switch the library declares is the one the deprecated resource points to.
    deprecated = doc["sources"]["resources"]["aviatrix_distributed_firewalling_config"]
    assert "aviatrix_config_feature" in deprecated["deprecationMessage"]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_payload_of_every_example_conforms(stack: str) -> None:
    capture = planned(stack)
    assert len(payloads(capture)) > 8
    assert violations(capture) == []


def test_the_policy_tree_payloads_conform() -> None:
    tokens = {tok for tok, _, _ in payloads(planned("foundry-prod"))}
    assert {
        ps.token("aviatrix_dcf_policy_group"),
        ps.token("aviatrix_config_feature"),
        ps.token("aviatrix_distributed_firewalling_default_action_rule"),
        ps.token("aviatrix_dcf_attachment_point", data_source=True),
    } <= tokens


def test_the_bridge_names_list_blocks_in_the_plural() -> None:
    group = ps.snapshot()["resources"]["aviatrix_dcf_policy_group"]
    assert ps.wire_name("attachment_point", group["attachment_point"]) == "attachmentPoints"
    assert ps.wire_name("ruleset_reference", group["ruleset_reference"]) == "rulesetReferences"
    smart = ps.snapshot()["resources"]["aviatrix_smart_group"]
    assert ps.wire_name("selector", smart["selector"]) == "selector"  # MaxItems 1: one object
    assert ps.token("aviatrix_dcf_ruleset") == "aviatrix:index/dcfRuleset:DcfRuleset"


BROKEN_RULESET: dict[str, Any] = {
    "name": "prod-before-ui-rules",
    "attachTo": "8d1c8a3e-0000-4000-8000-000000000001",
    "priority": 1,  # not an argument of the ruleset
    "rules": [
        {
            "name": "deny-threat-intel",
            "action": "REJECT",  # not in the provider's enum
            "priority": "1",  # a string where an int is required
            "protocol": "ANY",
            "srcSmartGroups": ["a"],
            # dstSmartGroups missing: required
            "portRanges": [{"lo": 443}] * 65,  # MaxItems 64
            "uuid": "set-by-hand",  # computed by the provider
        }
    ],
}


def test_a_broken_payload_is_refused_for_each_reason() -> None:
    schema = ps.schema_for(ps.token("aviatrix_dcf_ruleset"))
    assert schema is not None
    found = ps.errors(BROKEN_RULESET, schema)
    expected = [
        "priority: unknown argument",
        "rules[0].action: 'REJECT' is not one of",
        "rules[0].priority: expected int, got str",
        "rules[0].portRanges: 65 items, more than MaxItems 64",
        "rules[0].uuid: computed by the provider, cannot be set",
        "rules[0].dstSmartGroups: missing required argument",
    ]
    for text in expected:
        assert any(text in f for f in found), (text, found)
    assert len(found) == len(expected)
    # A MaxItems-1 block sent as a list, and a value the provider's pattern refuses.
    smart = ps.schema_for(ps.token("aviatrix_smart_group"))
    assert smart is not None
    selector = {"matchExpressions": [{"type": "k8s", "k8sNamespace": "Obot_MCP"}]}
    found = ps.errors({"name": "x", "selector": [selector]}, smart)
    assert found == ["selector: a block with MaxItems 1 is one object, got list"]
    found = ps.errors({"name": "x", "selector": selector}, smart)
    assert len(found) == 1 and "matchExpressions[0].k8sNamespace" in found[0]


# --- property-generated stacks --------------------------------------------------------------------

PREFIX = st.from_regex(r"\A[a-z]([a-z0-9-]{0,10}[a-z0-9])?\Z")
DOMAINS = st.lists(
    st.sampled_from(["api.github.com", "*.githubusercontent.com", "slack.com", "*.example.org"]),
    unique=True,
    max_size=3,
)


@st.composite
def stacks(draw: st.DrawFn) -> Spec:
    raw = raw_stack(draw(st.sampled_from(EXAMPLE_STACKS)))
    controller = raw["controller"]
    controller["namePrefix"] = own = draw(PREFIX)
    controller["afterKubernetesPoint"] = draw(st.booleans())
    controller["ownsControllerWide"] = owner = draw(st.booleans())
    others = draw(st.lists(PREFIX.filter(lambda p: p != own), unique=True, max_size=3))
    controller["sharedWith"] = others if owner else []
    raw.setdefault("egress", {})["mode"] = draw(st.sampled_from(["monitor", "enforce"]))
    if raw.get("foundry", {}).get("enabled"):
        raw["egress"]["toolCalls"] = {"domains": draw(DOMAINS), "decrypt": draw(st.booleans())}
    if raw.get("kubernetes", {}).get("enabled"):
        _servers(draw, raw)
    try:
        return validate(raw)
    except SpecError:
        assume(False)
        raise


def _servers(draw: st.DrawFn, raw: dict[str, Any]) -> None:
    cidr = raw["kubernetes"].get("podIdentity") == "cidr"
    if not cidr and draw(st.booleans()):
        del raw["network"]["podSubnet"]  # pods on the node subnets
        raw["network"].pop("haPodSubnet", None)
    pods = ipaddress.IPv4Network(raw["network"].get("podSubnet") or raw["network"]["agentSubnet"])
    names_ = draw(st.lists(st.sampled_from(["github", "slack", "notion", "jira"]), unique=True))
    raw["mcpServers"] = [
        {
            "name": name,
            **({"egressDomains": d} if (d := draw(DOMAINS)) else {"denyAllEgress": True}),
            **({"podCidrs": [f"{pods[10 + i]}/32"]} if cidr else {}),
        }
        for i, name in enumerate(names_)
    ]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_every_payload_of_generated_stacks_conforms(spec: Spec) -> None:
    capture = runtime.plan(spec)
    assert violations(capture) == []
    # Every controller-scope name the plan declares starts with the stack's prefix and fits.
    for tok, _, payload in payloads(capture):
        name = payload.get("name")
        if tok.endswith(("SmartGroup", "WebGroup", "DcfRuleset", "DcfPolicyGroup")):
            assert name.startswith(f"{spec.name_prefix}-") and len(name) <= names.NAME_LIMIT
