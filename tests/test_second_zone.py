"""AWS workload subnets in two availability zones: what an EKS cluster needs of the spoke.

An EKS cluster takes subnets in at least two zones (Amazon EKS user guide, "View Amazon EKS
networking requirements for VPC and subnets"), and custom networking a pod subnet (an
ENIConfig) in every zone its nodes run in, since an ENIConfig's subnet must be in its node's
zone (the VPC CNI's ``AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG``, as pulumi-eks documents
``cniCustomNetworkCfg``). The second zone's subnets (``network.haAgentSubnet``,
``network.haPodSubnet``) must be contained exactly as the first zone's: the same route table,
the same groups, the same lock and the same policies.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from functools import cache
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import mcp_containment as mc
from mcp_containment.cli import app
from mcp_containment.compile.flows import simulate
from mcp_containment.compile.replay import replay
from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.load import load_file
from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import validate
from mcp_containment.core import names
from mcp_containment.core.analysis import Code, analyze
from mcp_containment.core.groups import group_covers
from mcp_containment.core.model import Selector, SelectorKind, SmartGroup
from mcp_containment.crossguard.registry import Violation
from mcp_containment.offline import runner, runtime
from mcp_containment.offline.runtime import Capture, CapturedResource
from mcp_containment.testing import assert_unique_urns, capture

from .helpers import STACKS_DIR, paths, raw_stack, stack_config_of, with_changes

EKS = "obot-eks"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
SMART_GROUP = "aviatrix:index/smartGroup:SmartGroup"
NETWORK = "mcp-containment:network:AwsSpokeNetwork"
ZONE_B_NODES = "10.80.12.0/22"
ZONE_B_PODS = "10.80.128.0/18"


@cache
def planned(**changes: Any) -> tuple[Spec, Capture]:
    spec = validate(with_changes(raw_stack(EKS), **changes))
    return spec, runtime.plan(spec)


def subnet(c: Capture, role: str) -> CapturedResource:
    (hit,) = [r for r in c.of_type(SUBNET) if r.inputs["tags"]["Name"].endswith(f"-mcp-{role}")]
    return hit


def table_of(c: Capture) -> dict[str, str]:
    """Subnet URN -> the URN of the route table it is associated with."""
    return {
        a.property_dependencies["subnetId"][0]: a.property_dependencies["routeTableId"][0]
        for a in c.of_type(ASSOCIATION)
    }


# --- the component ------------------------------------------------------------------------------


def test_the_workload_subnets_span_two_zones_on_the_one_egress_table() -> None:
    spec, c = planned()
    assert spec.network.ha_agent_subnet == ZONE_B_NODES
    (egress,) = [t for t in c.of_type(ROUTE_TABLE) if t.name.endswith("-egress-rt")]
    tables = table_of(c)
    zones = {}
    for role, cidr in (
        ("agents", "10.80.8.0/22"),
        ("agents-ha", ZONE_B_NODES),
        ("pods", "10.80.64.0/18"),
        ("pods-ha", ZONE_B_PODS),
    ):
        sub = subnet(c, role)
        assert sub.inputs["cidrBlock"] == cidr
        assert sub.name == f"staging-mcp-network-{role}"
        # Their only way out is the spoke gateway, from the same `up` on.
        assert tables[sub.urn] == egress.urn
        assert sub.delete_before_replace and sub.replace_on_changes == ("cidrBlock",)
        zones[role] = sub.inputs["availabilityZone"]
    assert zones == {
        "agents": "us-east-1a",
        "pods": "us-east-1a",
        "agents-ha": "us-east-1b",
        "pods-ha": "us-east-1b",
    }
    # The second zone is the HA gateway's.
    assert subnet(c, "aviatrix-gateway-ha").inputs["availabilityZone"] == "us-east-1b"
    assert_unique_urns(c)


def test_the_second_zone_is_protected_like_the_first() -> None:
    for protect in (True, False):
        _, c = planned(protect=protect)
        for role in ("agents", "agents-ha", "pods", "pods-ha"):
            sub = subnet(c, role)
            (assoc,) = [
                a
                for a in c.of_type(ASSOCIATION)
                if a.property_dependencies["subnetId"] == (sub.urn,)
            ]
            assert (sub.protect, assoc.protect) == (protect, protect), role


def test_outputs_list_the_subnets_zone_by_zone() -> None:
    _, c = planned()
    (network,) = c.of_type(NETWORK)
    ids = {role: subnet(c, role).id for role in ("agents", "agents-ha", "pods", "pods-ha")}
    assert network.outputs["agentSubnetIds"] == [ids["agents"], ids["agents-ha"]]
    assert network.outputs["podSubnetIds"] == [ids["pods"], ids["pods-ha"]]
    assert network.outputs["haAgentSubnetId"] == ids["agents-ha"]
    assert network.outputs["haPodSubnetId"] == ids["pods-ha"]
    assert c.outputs["agentSubnetIds"] == [ids["agents"], ids["agents-ha"]]
    assert c.outputs["podSubnetIds"] == [ids["pods"], ids["pods-ha"]]
    assert (c.outputs["haAgentSubnetId"], c.outputs["haAgentSubnetCidr"]) == (
        ids["agents-ha"],
        ZONE_B_NODES,
    )


def _spoke(**args: Any) -> None:
    mc.AwsSpokeNetwork(
        "spoke",
        mc.AwsSpokeNetworkArgs(
            region="us-east-1",
            name_prefix="staging-mcp",
            existing_vpc=mc.ExistingVpc(id="vpc-0abc", internet_gateway_id="igw-0def"),
            gateway=mc.GatewaySettings(
                account_name="aws-staging", gateway_name="staging-spoke", size="c5.xlarge"
            ),
            gateway_subnet_cidr="10.80.0.0/26",
            agent_subnet_cidr="10.80.16.0/20",
            availability_zones=("us-east-1a", "us-east-1b"),
            protect=False,
            **args,
        ),
    )


def test_existing_second_zone_subnets_are_associated_by_role() -> None:
    existing = {
        "agents": "subnet-0aaa",
        "agents-ha": "subnet-0bbb",
        "pods": "subnet-0ccc",
        "pods-ha": "subnet-0ddd",
    }
    c = capture(lambda: _spoke(existing_subnet_ids=existing))
    assert_unique_urns(c)
    # Nothing is created but the gateway's public subnet.
    assert [s.name for s in c.of_type(SUBNET)] == ["spoke-aviatrix-gateway"]
    (egress,) = [t for t in c.of_type(ROUTE_TABLE) if t.name == "spoke-egress-rt"]
    by_subnet = {a.inputs["subnetId"]: a for a in c.of_type(ASSOCIATION)}
    for role, subnet_id in existing.items():
        assoc = by_subnet[subnet_id]
        assert assoc.name == f"spoke-{role}-rt"
        assert assoc.property_dependencies["routeTableId"] == (egress.urn,)
    (network,) = c.of_type(NETWORK)
    assert network.outputs["agentSubnetIds"] == ["subnet-0aaa", "subnet-0bbb"]
    assert network.outputs["podSubnetIds"] == ["subnet-0ccc", "subnet-0ddd"]


def test_a_spoke_without_a_second_zone_declares_none() -> None:
    c = capture(_spoke)
    assert {s.name for s in c.of_type(SUBNET)} == {"spoke-aviatrix-gateway", "spoke-agents"}
    (network,) = c.of_type(NETWORK)
    assert network.outputs["agentSubnetIds"] == [subnet(c, "agents").id]
    assert "haAgentSubnetId" not in network.outputs and "podSubnetIds" not in network.outputs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # Pods in the second zone need pods in the first and nodes in the second.
        ({"ha_pod_subnet_cidr": "10.80.128.0/18"}, "ha_pod_subnet_cidr"),
        (
            {"pod_subnet_cidr": "10.80.64.0/18", "ha_pod_subnet_cidr": "10.80.128.0/18"},
            "ha_agent_subnet_cidr",
        ),
        # Nodes in two zones with their own pod subnet need one in each zone.
        (
            {"pod_subnet_cidr": "10.80.64.0/18", "ha_agent_subnet_cidr": "10.80.32.0/20"},
            "ha_pod_subnet_cidr",
        ),
        (
            {
                "ha_agent_subnet_cidr": "10.80.32.0/20",
                "existing_subnet_ids": {"pods": "subnet-0ccc"},
            },
            "pods-ha",
        ),
    ],
)
def test_half_a_second_zone_is_refused(args: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        capture(lambda: _spoke(**args))


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        (
            {"network__haAgentSubnet": "10.81.12.0/22"},
            "network.haAgentSubnet",
            "10.81.12.0/22 is outside network.cidr 10.80.0.0/16",
        ),
        (
            {"network__haAgentSubnet": "10.80.10.0/24"},
            "network.haAgentSubnet",
            "10.80.10.0/24 overlaps network.agentSubnet 10.80.8.0/22",
        ),
        (
            {"network__haPodSubnet": "10.80.64.0/19"},
            "network.haPodSubnet",
            "10.80.64.0/19 overlaps network.podSubnet 10.80.64.0/18",
        ),
        (
            {"network__haPodSubnet": "10.80.12.0/24"},
            "network.haPodSubnet",
            "10.80.12.0/24 overlaps network.haAgentSubnet 10.80.12.0/22",
        ),
        (
            {"network__haAgentSubnet": "10.80.12.0/29"},
            "network.haAgentSubnet",
            "10.80.12.0/29 is a /29; an AWS subnet is /16 to /28",
        ),
        (
            {"network__haAgentSubnet": "10.80.12.1/22"},
            "network.haAgentSubnet",
            "not canonical",
        ),
        (
            {"network__haAgentSubnet": None, "network__haPodSubnet": None},
            "network.haAgentSubnet",
            "is required on AWS when kubernetes.enabled is true: an EKS cluster needs subnets "
            "in at least two availability zones",
        ),
        (
            {"network__haPodSubnet": None},
            "network.haPodSubnet",
            "is required with network.podSubnet and network.haAgentSubnet",
        ),
        (
            {"network__podSubnet": None},
            "network.haPodSubnet",
            "is set while network.podSubnet is not",
        ),
        (
            {"network__availabilityZones": ["us-east-1a"], "gateway__ha": False},
            "network.availabilityZones",
            "needs a second zone for network.haAgentSubnet",
        ),
    ],
)
def test_bad_second_zone_subnets_are_named(
    changes: dict[str, Any], path: str, message: str
) -> None:
    found = paths(with_changes(raw_stack(EKS), **changes))
    assert path in found, found
    assert message in found[path]


def test_a_second_zone_pod_subnet_needs_second_zone_nodes() -> None:
    # An AWS spoke without a cluster may keep one zone; pods in the second still need nodes.
    raw = with_changes(
        raw_stack(EKS),
        kubernetes=None,
        mcpServers=None,
        mcpWorkloads=None,
        network__haAgentSubnet=None,
    )
    assert "network.haPodSubnet" in paths(raw)
    assert "needs network.haAgentSubnet" in paths(raw)["network.haPodSubnet"]
    single_zone = with_changes(raw, network__haPodSubnet=None, network__podSubnet=None)
    assert paths(single_zone) == {}


def test_a_spoke_without_a_cluster_may_use_both_zones_as_one_workload() -> None:
    raw = with_changes(
        raw_stack(EKS),
        kubernetes=None,
        mcpServers=None,
        mcpWorkloads=None,
        network__podSubnet=None,
        network__haPodSubnet=None,
    )
    group = compile_rulebase(validate(raw)).group(f"staging-{names.SPOKE_WORKLOADS}")
    assert [s.name for s in group.selectors] == ["staging-mcp-agents", "staging-mcp-agents-ha"]


@pytest.mark.parametrize("key", ["haAgentSubnet", "haPodSubnet"])
def test_azure_refuses_second_zone_subnets(key: str) -> None:
    raw = with_changes(raw_stack("obot-aks"), **{f"network__{key}": "10.70.200.0/24"})
    found = paths(raw)
    assert found[f"network.{key}"].startswith("is AWS only: an Azure subnet is regional")


# --- the rulebase: one group, one identity, both zones ------------------------------------------


def test_each_workload_group_selects_both_zones() -> None:
    spec, c = planned()
    rulebase = compile_rulebase(spec)
    for role, subnets in (
        (names.CLUSTER_NODES, [("agents", "10.80.8.0/22"), ("agents-ha", ZONE_B_NODES)]),
        (names.CLUSTER_PODS, [("pods", "10.80.64.0/18"), ("pods-ha", ZONE_B_PODS)]),
    ):
        group = rulebase.group(f"staging-{role}")
        assert [(s.kind, s.name, s.cidr) for s in group.selectors] == [
            (SelectorKind.SUBNET, f"staging-mcp-{r}", cidr) for r, cidr in subnets
        ]
        # The controller selects subnets by name: every name is a subnet the stack declares.
        for r, _ in subnets:
            assert subnet(c, r).inputs["tags"]["Name"] == f"staging-mcp-{r}"
        (declared,) = [g for g in c.of_type(SMART_GROUP) if g.inputs["name"] == group.name]
        assert [m["name"] for m in declared.inputs["selector"]["matchExpressions"]] == [
            f"staging-mcp-{r}" for r, _ in subnets
        ]
    assert rulebase.mcp_pod_ranges == ("10.80.64.0/18", ZONE_B_PODS)


FLOWS = [
    ("attacker.io", 443, "tcp"),
    ("api.ecr.us-east-1.amazonaws.com", 443, "tcp"),
    ("example.org", 443, "tcp"),
    ("8.8.8.8", 53, "udp"),
]


@pytest.mark.parametrize(
    ("zone_a", "zone_b"),
    [("10.80.8.9", "10.80.12.9"), ("10.80.64.9", "10.80.128.9")],
    ids=["nodes", "pods"],
)
def test_a_flow_from_the_second_zone_gets_the_first_zones_verdict(zone_a: str, zone_b: str) -> None:
    spec, _ = planned()
    rulebase = compile_rulebase(spec)
    outside = "10.80.20.9"  # in the VPC, in no workload subnet
    for dst, port, proto in FLOWS:
        a = simulate(spec, zone_a, dst, port, proto, rulebase=rulebase).to_json()
        b = simulate(spec, zone_b, dst, port, proto, rulebase=rulebase).to_json()
        assert (b["verdict"], b["rule"], b["enforced"]) == (a["verdict"], a["rule"], a["enforced"])
    # Not vacuous: the second zone is matched by the workload rules, an address in no
    # workload subnet by none of them.
    assert simulate(spec, zone_b, "attacker.io", rulebase=rulebase).to_json()["rule"] == (
        "deny-threat-intel"
    )
    assert simulate(spec, outside, "attacker.io", rulebase=rulebase).to_json()["rule"] is None


def test_replay_names_both_zones_nodes_as_one_workload() -> None:
    spec, _ = planned()
    base = {"timestamp": "2026-11-20T10:00:00Z", "port": 443, "protocol": "tcp"}
    records = [
        (1, {**base, "source": "10.80.8.5", "destination": "unknown.example.net"}),
        (2, {**base, "source": "10.80.12.5", "destination": "other.example.net"}),
    ]
    doc = replay(spec, records).to_json()
    assert doc["wouldChange"] == 2
    (s,) = doc["suggestions"]
    assert s["workload"] == "group:staging-cluster-nodes"
    assert s["add"] == ["other.example.net", "unknown.example.net"]


def test_pods_in_two_ranges_are_covered_by_a_group_of_both() -> None:
    pods = SmartGroup("pods", (Selector(SelectorKind.K8S, k8s_namespace="obot-mcp"),))
    zone = {
        z: Selector(SelectorKind.SUBNET, cidr=c)
        for z, c in (("a", "10.80.64.0/18"), ("b", ZONE_B_PODS))
    }
    ranges = {"obot-mcp": (IPv4Network("10.80.64.0/18"), IPv4Network(ZONE_B_PODS))}
    both = SmartGroup("both", (zone["a"], zone["b"]))
    assert group_covers(both, pods, ranges)
    # Either zone alone holds only some of the pods.
    assert not group_covers(SmartGroup("a", (zone["a"],)), pods, ranges)
    assert not group_covers(SmartGroup("b", (zone["b"],)), pods, ranges)


def test_a_deny_of_every_workload_still_shadows_the_servers_across_two_pod_ranges() -> None:
    raw = raw_stack(EKS)
    raw["egress"]["extraRules"] = [
        {"name": "deny-workloads", "action": "DENY", "source": "workloads", "cidrs": ["0.0.0.0/0"]}
    ]
    findings = analyze(compile_rulebase(validate(raw)))
    shadowed = {f.rule for f in findings if f.code is Code.SHADOWED}
    assert {
        "obot-mcp/obot-github-fw:allow-approved-egress",
        "obot-mcp/obot-slack-fw:allow-approved-egress",
    } <= shadowed
    (early,) = [f for f in findings if f.code is Code.SHADOWS_SERVER_PERMIT]
    assert "github" in early.message and "slack" in early.message


# --- the policy pack on the second zone ---------------------------------------------------------


def check(spec: Spec, c: Capture) -> list[Violation]:
    return runner.check(c, [], stack_config_of(spec))


def fired(violations: list[Violation], policy: str) -> list[Violation]:
    return [v for v in violations if v.policy == policy]


def test_the_example_passes_the_pack_on_both_zones() -> None:
    spec, c = planned(protect=True)
    violations = check(spec, c)
    assert not [v for v in violations if v.level.value == "mandatory"], violations


def _unassociated(c: Capture, role: str) -> Capture:
    urn = subnet(c, role).urn
    kept = [
        r
        for r in c.resources
        if not (r.type == ASSOCIATION and r.property_dependencies["subnetId"] == (urn,))
    ]
    return dataclasses.replace(c, resources=kept)


@pytest.mark.parametrize("role", ["agents-ha", "pods-ha"])
def test_a_second_zone_subnet_without_the_egress_table_is_refused(role: str) -> None:
    spec, c = planned()
    (hit,) = fired(check(spec, _unassociated(c, role)), "workload-default-route-via-gateway")
    assert f"workload subnet {role!r} has no route table of this stack" in hit.message
    assert hit.resource == subnet(c, role).urn


def test_a_second_zone_subnet_on_the_public_table_is_refused() -> None:
    spec, c = planned()
    (public,) = [t for t in c.of_type(ROUTE_TABLE) if t.name.endswith("-public-rt")]
    urn = subnet(c, "agents-ha").urn
    moved = [
        dataclasses.replace(
            r,
            property_dependencies={**r.property_dependencies, "routeTableId": (public.urn,)},
        )
        if r.type == ASSOCIATION and r.property_dependencies["subnetId"] == (urn,)
        else r
        for r in c.resources
    ]
    (hit,) = fired(
        check(spec, dataclasses.replace(c, resources=moved)), "workload-default-route-via-gateway"
    )
    assert "'agents-ha' does not go through the spoke gateway" in hit.message


def test_an_unprotected_second_zone_subnet_is_refused() -> None:
    spec, c = planned(protect=True)
    urn = subnet(c, "agents-ha").urn
    bare = dataclasses.replace(
        c,
        resources=[
            dataclasses.replace(r, protect=False) if r.urn == urn else r for r in c.resources
        ],
    )
    (hit,) = fired(check(spec, bare), "containment-infrastructure-protected")
    assert hit.resource == urn


# --- the lock -----------------------------------------------------------------------------------


def _lock(path: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["lock", "--config", str(path), "--json", *args])
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_lock_records_and_holds_the_second_zone(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.obot-eks.yaml"
    shutil.copy(STACKS_DIR / "Pulumi.obot-eks.yaml", path)
    _, c = planned()
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(c.outputs))
    doc = _lock(path, "--from-outputs", str(outputs))
    assert doc["lock"]["haAgentSubnetCidr"] == ZONE_B_NODES
    assert doc["lock"]["haAgentSubnetId"] == c.outputs["haAgentSubnetId"]
    assert doc["lock"]["haAgentSubnetId"].startswith("subnet-")
    # Relocked without outputs, the deployed id is carried, not dropped.
    assert "haAgentSubnetId" in _lock(path)["carried"]
    locked = load_file(path)
    assert locked.lock is not None and locked.lock.ha_agent_subnet_cidr == ZONE_B_NODES
    # The matching plan passes; the same lock against a moved second zone does not.
    assert not fired(check(locked, runtime.plan(locked)), "subnet-immutability")
    raw = with_changes(raw_stack(EKS), network__haAgentSubnet="10.80.16.0/22")
    raw["lock"] = locked.lock.model_dump(by_alias=True, exclude_none=True, mode="json")
    moved = validate(raw)
    (hit,) = fired(check(moved, runtime.plan(moved)), "subnet-immutability")
    assert "second-zone agent subnet CIDR differs from the network lock" in hit.message
    assert f"locked {ZONE_B_NODES!r}, planned '10.80.16.0/22'" in hit.message
    assert hit.resource == subnet(runtime.plan(moved), "agents-ha").urn
    # Moving it deliberately needs the acknowledgement, at lock time too.
    result = CliRunner().invoke(app, ["lock", "--config", str(path), "--json"])
    assert result.exit_code == 0
    text = path.read_text().replace(
        f"haAgentSubnet: {ZONE_B_NODES}", "haAgentSubnet: 10.80.16.0/22"
    )
    path.write_text(text)
    refused = CliRunner().invoke(app, ["lock", "--config", str(path), "--json"])
    assert refused.exit_code == 2
    assert "lock.haAgentSubnetCidr" in refused.stdout


def test_the_lock_refuses_a_malformed_second_zone_id() -> None:
    raw = raw_stack(EKS)
    raw["lock"] = {
        "agentSubnetCidr": "10.80.8.0/22",
        "haAgentSubnetCidr": ZONE_B_NODES,
        "haAgentSubnetId": "/subscriptions/s/resourceGroups/g/providers/x",
    }
    assert "not an AWS subnet id" in paths(raw)["lock.haAgentSubnetId"]


def test_a_lock_before_deploy_says_the_second_zone_id_is_still_to_come(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.obot-eks.yaml"
    shutil.copy(STACKS_DIR / "Pulumi.obot-eks.yaml", path)
    result = CliRunner().invoke(app, ["lock", "--config", str(path)])
    assert result.exit_code == 0, result.stderr
    assert f"haAgentSubnetCidr: {ZONE_B_NODES}" in result.stdout
    assert "not yet known: agentSubnetId, haAgentSubnetId, gatewayPrivateIp" in result.stdout
