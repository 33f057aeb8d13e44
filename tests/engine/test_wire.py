"""What travels between the engine and the pack, and what a policy makes of it: the wire
encoding (pulumi/pulumi@1b5949891b ``pkg/resource/plugin/rpc.go``, the sentinels pulumi_policy
checks), CrossGuard's proxies and their materialised form, the Unknown sentinel, the scope of
the pack, and captures shaped as the engine shapes resources.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi_policy import deserialize, proxy

import mcp_containment
from mcp_containment.core import crd
from mcp_containment.crossguard import resources
from mcp_containment.crossguard.registry import Level
from mcp_containment.crossguard.resources import (
    ENGINE_UNKNOWNS,
    Undecidable,
    Unknown,
    contains_unknown,
    declared_by_library,
    is_unknown,
    materialise,
)
from mcp_containment.infra.aviatrix import dcf, gateway
from mcp_containment.offline import engine, runtime

from ..test_policies import FIREWALL_POLICY, changed, example, fired, run_check


def as_policy_sees_it(props: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> Any:
    """``props`` as the engine sends them and pulumi_policy hands them to a policy
    (policy.py ``Analyze``: deserialize_properties, then unknown_checking_proxy)."""
    wire = json_format.MessageToDict(engine.struct(props, secret_keys))
    return proxy.unknown_checking_proxy(deserialize.deserialize_properties(wire))


def test_the_wire_constants_are_the_sdks() -> None:
    assert engine.UNKNOWN_STRING == rpc.UNKNOWN == proxy.UNKNOWN_STRING_VALUE
    assert engine.SIG_KEY == deserialize.SPECIAL_SIG_KEY
    assert engine.SECRET_SIG == deserialize.SPECIAL_SECRET_SIG
    assert {
        proxy.UNKNOWN_BOOLEAN_VALUE,
        proxy.UNKNOWN_NUMBER_VALUE,
        proxy.UNKNOWN_STRING_VALUE,
        proxy.UNKNOWN_ARRAY_VALUE,
        proxy.UNKNOWN_ASSET_VALUE,
        proxy.UNKNOWN_ARCHIVE_VALUE,
        proxy.UNKNOWN_OBJECT_VALUE,
    } == ENGINE_UNKNOWNS


def test_properties_are_marshalled_as_the_engine_marshals_them() -> None:
    wire = json_format.MessageToDict(
        engine.struct(
            {"port": 443, "host": Unknown(), "token": "[secret]", "__defaults": ["x"]},
            secret_keys=("token",),
        )
    )
    assert wire == {
        "port": 443.0,  # a Struct holds doubles only
        "host": engine.UNKNOWN_STRING,
        "token": {engine.SIG_KEY: engine.SECRET_SIG, "value": "[secret]"},
    }


@pytest.mark.parametrize("stack", ["obot-aks", "obot-eks"])
def test_check_skips_only_a_lossless_protobuf_round_trip(stack: str) -> None:
    # containment check decodes the wire JSON directly; the engine sends it as a Struct.
    for preview in (False, True):
        for node in engine.nodes(example(stack, preview)[1]):
            for props in (node.wire_inputs(), node.wire_outputs()):
                sent = struct_pb2.Struct()
                sent.update(props)
                assert json_format.MessageToDict(sent) == props


def test_a_policy_gets_proxies_and_materialises_them_into_plain_data() -> None:
    props = as_policy_sees_it(
        {"rules": [{"port": 443, "ip": Unknown()}], "token": "s3cr3t"}, secret_keys=("token",)
    )
    assert not isinstance(props, dict) and not isinstance(props["rules"], list)
    with pytest.raises(proxy.UnknownValueError):
        dict(props["rules"][0])
    plain = materialise(props)
    assert type(plain) is dict and type(plain["rules"]) is list
    assert plain["rules"][0]["port"] == 443 and type(plain["rules"][0]["port"]) is int
    assert is_unknown(plain["rules"][0]["ip"]) and plain["rules"][0]["ip"].path == "rules.0.ip"
    assert plain["token"] == "s3cr3t"  # secrets reach a pack in plaintext: never echo them


def test_the_crd_refuses_a_proxy_and_accepts_it_materialised() -> None:
    # The bug a real preview showed: every FirewallPolicy failed its CRD check.
    _, capture = example("obot-eks")
    policy = capture.of_type(FIREWALL_POLICY)[0].inputs
    proxied = as_policy_sees_it(policy)
    as_received = {k: proxied[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    assert any("is not of type 'object'" in e for e in crd.errors(as_received))
    assert crd.errors(materialise(as_received)) == []


def test_an_unknown_refuses_to_act_as_a_value() -> None:
    value = Unknown("routes.0.nextHopIpAddress")
    for use in (bool, str, len, iter, lambda v: v == "x", lambda v: "x" in v, lambda v: v < 1):
        with pytest.raises(Undecidable, match=r"routes\.0\.nextHopIpAddress is not known"):
            use(value)
    assert repr(value) == "<unknown until apply>"
    assert copy.deepcopy({"a": value})["a"] is value
    assert contains_unknown({"a": [1, {"b": value}]}) == ["routes.0.nextHopIpAddress"]
    assert contains_unknown({"a": [1, {"b": "c"}]}) == []


@pytest.mark.parametrize(
    ("urn", "judged"),
    [
        ("urn:pulumi:s::p::mcp-containment:index:ContainmentStack$aws:ec2/subnet:Subnet::a", True),
        ("urn:pulumi:s::p::my:index:Team$mcp-containment:aviatrix:DcfRulebase::dcf", True),
        ("urn:pulumi:s::p::mcp-containment:aviatrix:DcfRulebase::dcf", True),
        ("urn:pulumi:s::mcp-containment::aws:ec2/subnet:Subnet::mcp-containment:x", False),
        ("urn:pulumi:s::p::pulumi:providers:aws::default_7_51_1", False),
        ("not-a-urn", False),
    ],
)
def test_the_pack_judges_what_lives_under_a_library_component(urn: str, judged: bool) -> None:
    assert declared_by_library(urn) is judged


def test_every_component_of_the_library_is_in_the_packs_scope() -> None:
    # The pack recognises the library by type token; a component outside the prefix, or a
    # renamed DcfRulebase or SpokeGateway, would silently leave its resources unjudged.
    package = Path(mcp_containment.__file__).parent / "infra"
    tokens = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "COMPONENT" for t in node.targets
            ):
                tokens.add(ast.literal_eval(node.value))
    assert len(tokens) >= 9
    assert all(t.startswith(resources.LIBRARY_TYPES) for t in tokens), tokens
    assert resources.DCF_RULEBASE == dcf.COMPONENT
    assert resources.SPOKE_GATEWAY_COMPONENT == gateway.COMPONENT


def test_a_firewallpolicy_unknown_at_preview_cannot_be_decided_and_says_so() -> None:
    spec, capture = example("obot-eks", True)

    def unknown_rule(props: dict[str, Any]) -> None:
        props["spec"]["rules"][0]["name"] = Unknown()

    hits = fired(
        run_check(spec, changed(capture, FIREWALL_POLICY, unknown_rule)),
        "mcp-server-firewall-policy",
    )
    assert hits and all(v.level is Level.MANDATORY for v in hits)
    assert all("cannot decide" in v.message and "spec.rules.0.name" in v.message for v in hits)


# --- captures shaped as the engine shapes resources -------------------------------------------


class _Outer(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("my:index:Outer", name)
        inner = _Inner(f"{name}-inner", self)
        self.register_outputs({"cidr": inner.vpc.cidr_block, "vpcId": inner.vpc.id})


class _Inner(pulumi.ComponentResource):
    def __init__(self, name: str, parent: pulumi.Resource) -> None:
        super().__init__("my:index:Inner", name, None, pulumi.ResourceOptions(parent=parent))
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({})


def test_urns_carry_the_whole_parent_chain_and_no_root_stack() -> None:
    # pulumi/pulumi@1b5949891b sdk/go/common/resource/urn/urn.go New: the parent's qualified
    # type, then the type; the root stack is never part of it.
    capture = runtime.run(lambda: _Outer("o"), project="p", stack="s")
    assert capture.named("o-inner-vpc").urn == (
        "urn:pulumi:s::p::my:index:Outer$my:index:Inner$aws:ec2/vpc:Vpc::o-inner-vpc"
    )
    assert capture.named("o").urn == "urn:pulumi:s::p::my:index:Outer::o"


def test_a_first_preview_leaves_computed_outputs_unknown() -> None:
    update = runtime.run(lambda: _Outer("o"), project="p", stack="s")
    preview = runtime.run(lambda: _Outer("o"), project="p", stack="s", preview=True)
    assert update.named("o").outputs == {"cidr": "10.0.0.0/16", "vpcId": "o-inner-vpc-id"}
    # A component's outputs are what it registered; the parts that depend on an id are
    # unknown in a preview, the rest is known.
    assert preview.named("o").outputs["cidr"] == "10.0.0.0/16"
    assert is_unknown(preview.named("o").outputs["vpcId"])
    vpc = preview.named("o-inner-vpc")
    assert vpc.inputs == {"cidrBlock": "10.0.0.0/16"}
    assert is_unknown(vpc.outputs["arn"]) and vpc.outputs["cidrBlock"] == "10.0.0.0/16"
    assert preview.named("o-inner").outputs == {}
