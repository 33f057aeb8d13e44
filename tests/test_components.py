"""The program under the mock runtime: what each example stack declares, with which inputs and
options, in which order of dependency."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

import pulumi
import pytest
import yaml

from mcp_containment.compile import catalog, firewallpolicy
from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.load import load_file
from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import validate
from mcp_containment.core import crd, names
from mcp_containment.core.model import TERRAFORM_LAYERS, Layer
from mcp_containment.infra.aviatrix import package
from mcp_containment.offline import runtime as offline
from mcp_containment.offline.runtime import Capture, CapturedResource

from .helpers import EXAMPLE_STACKS, ROOT, raw_stack, with_changes

SPOKE_GW = "aviatrix:index/spokeGateway:SpokeGateway"
RULESET = "aviatrix:index/dcfRuleset:DcfRuleset"
SMART_GROUP = "aviatrix:index/smartGroup:SmartGroup"
WEB_GROUP = "aviatrix:index/webGroup:WebGroup"
DEFAULT_ACTION = (
    "aviatrix:index/distributedFirewallingDefaultActionRule:DistributedFirewallingDefaultActionRule"
)
TRANSIT = "aviatrix:index/spokeTransitAttachment:SpokeTransitAttachment"
CONFIG_FEATURE = "aviatrix:index/configFeature:ConfigFeature"
POLICY_GROUP = "aviatrix:index/dcfPolicyGroup:DcfPolicyGroup"
GET_POINT = "aviatrix:index/getDcfAttachmentPoint:getDcfAttachmentPoint"
AZ_SUBNET = "azure-native:network:Subnet"
AZ_RT = "azure-native:network:RouteTable"
AWS_SUBNET = "aws:ec2/subnet:Subnet"
AWS_RT = "aws:ec2/routeTable:RouteTable"
AWS_ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
HELM = "kubernetes:helm.sh/v3:Release"
FIREWALL_POLICY = "kubernetes:networking.aviatrix.com/v1alpha1:FirewallPolicy"
CATALOG_SOURCE = "pulumi-python:dynamic/obot:CatalogSource"
ACCOUNT = "azure-native:cognitiveservices:Account"
CAP_HOST = "azure-native:cognitiveservices:AccountCapabilityHost"


def spec_of(name: str) -> Spec:
    return load_file(ROOT / "stacks" / f"Pulumi.{name}.yaml")


@cache
def planned(name: str) -> Capture:
    return offline.plan(spec_of(name))


def one(capture: Capture, type_: str, name: str | None = None) -> CapturedResource:
    # Children are named after their component ("<stack>-mcp-network-egress-rt"): match the end.
    hits = [
        r
        for r in capture.of_type(type_)
        if name is None or r.name == name or r.name.endswith(f"-{name}")
    ]
    assert len(hits) == 1, [r.name for r in hits]
    return hits[0]


def subnet(capture: Capture, role: str) -> CapturedResource:
    for r in capture.of_type(AZ_SUBNET):
        if r.inputs.get("subnetName") == role:
            return r
    for r in capture.of_type(AWS_SUBNET):
        if r.inputs["tags"]["Name"].endswith(f"-{role}"):
            return r
    raise KeyError(role)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_example_plans_with_every_child_parented(stack: str) -> None:
    capture = planned(stack)
    # Only the ContainmentStack hangs off the Pulumi stack; everything else has a component.
    top = [
        r.type
        for r in capture.resources
        if not r.parent or r.parent.split("::")[-2] == "pulumi:pulumi:Stack"
    ]
    assert top == ["mcp-containment:index:ContainmentStack"]
    assert len(capture.resources) > 20
    spec = spec_of(stack)
    decrypting = spec.foundry.decryption_ca is not None
    second_zone = spec.network.ha_agent_subnet is not None
    assert set(capture.outputs) == (
        {"agentSubnetId", "agentSubnetIds", "gatewayPrivateIp", "agentSubnetCidr"}
        | ({"decryptionCaCertificateUri"} if decrypting else set())
        | ({"haAgentSubnetId", "haAgentSubnetCidr"} if second_zone else set())
        | ({"podSubnetIds"} if spec.network.pod_subnet else set())
    )
    # The list a cluster takes: every workload (node) subnet, zone by zone.
    ids = capture.outputs["agentSubnetIds"]
    assert ids[0] == capture.outputs["agentSubnetId"]
    assert ids[1:] == ([capture.outputs["haAgentSubnetId"]] if second_zone else [])


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_same_spec_plans_identically(stack: str) -> None:
    def shape(c: Capture) -> list[tuple[Any, ...]]:
        return [
            (
                r.type,
                r.name,
                r.urn,
                r.parent,
                r.inputs,
                r.protect,
                sorted(r.depends_on),
                r.replace_on_changes,
                r.delete_before_replace,
                r.ignore_changes,
            )
            for r in c.resources
        ]

    first, second = offline.plan(spec_of(stack)), offline.plan(spec_of(stack))
    assert shape(first) == shape(second)
    assert first.outputs == second.outputs


def test_azure_foundry_spoke_routes_agents_through_the_gateway() -> None:
    c = planned("foundry-prod")
    spec = spec_of("foundry-prod")
    gw = one(c, SPOKE_GW)
    assert gw.inputs["cloudType"] == 8
    assert gw.inputs["subnet"] == spec.network.gateway_subnet
    assert gw.inputs["haSubnet"] == spec.network.gateway_subnet
    assert gw.inputs["singleIpSnat"] is True
    assert gw.inputs["gwName"] == spec.gateway_name
    vnet = one(c, "azure-native:network:VirtualNetwork")
    # <vnet name>:<resource group>:<vnet guid>, the form the controller addresses a VNet by.
    assert gw.inputs["vpcId"] == (
        f"{vnet.outputs['virtualNetworkName']}:{vnet.inputs['resourceGroupName']}:"
        f"{vnet.outputs['resourceGuid']}"
    )
    assert gw.protect
    assert subnet(c, "aviatrix-gateway").urn in gw.depends_on

    rt = one(c, AZ_RT)
    (route,) = rt.inputs["routes"]
    assert route["addressPrefix"] == "0.0.0.0/0"
    assert route["nextHopType"] == "VirtualAppliance"
    assert route["nextHopIpAddress"] == gw.outputs["privateIp"] == c.outputs["gatewayPrivateIp"]
    assert rt.inputs["disableBgpRoutePropagation"] is True
    assert rt.protect and not rt.ignore_changes

    agents = subnet(c, "agents")
    assert agents.inputs["addressPrefix"] == spec.network.agent_subnet
    assert agents.inputs["delegations"] == [
        {"name": "aca-environments", "serviceName": "Microsoft.App/environments"}
    ]
    assert agents.property_dependencies["routeTable"] == (rt.urn,)
    assert agents.inputs["defaultOutboundAccess"] is False
    assert agents.protect and agents.delete_before_replace
    assert "addressPrefix" in agents.replace_on_changes


def test_foundry_is_bound_to_the_routed_subnet_and_protected() -> None:
    c = planned("foundry-prod")
    agents, rt = subnet(c, "agents"), one(c, AZ_RT)
    account = one(c, ACCOUNT)
    assert account.inputs["kind"] == "AIServices"
    (injection,) = account.inputs["properties"]["networkInjections"]
    assert injection["scenario"] == "agent"
    assert injection["subnetArmId"] == agents.id
    assert account.inputs["properties"]["publicNetworkAccess"] == "Disabled"
    # Never before the subnet and its UDR, nor before the DCF rulesets exist.
    assert {agents.urn, rt.urn} <= set(account.depends_on)
    assert any("DcfRulebase" in u for u in account.depends_on)
    host = one(c, CAP_HOST)
    assert host.inputs["capabilityHostProperties"]["customerSubnet"] == agents.id
    for r in (account, host):
        assert r.protect and r.delete_before_replace
    assert "capabilityHostProperties" in host.replace_on_changes
    assert "properties.networkInjections" in account.replace_on_changes
    assert one(c, "azure-native:cognitiveservices:Project").protect


def test_dev_foundry_without_transit_has_no_attachment_and_no_ha() -> None:
    c = planned("foundry-dev")
    gw = one(c, SPOKE_GW)
    assert "haSubnet" not in gw.inputs
    assert not c.of_type(TRANSIT)
    # Not the owner of controller-wide objects: no default action rule declared here.
    assert not c.of_type(DEFAULT_ACTION)


def test_transit_attachment_and_controller_wide_objects() -> None:
    c = planned("foundry-prod")
    spec = spec_of("foundry-prod")
    att = one(c, TRANSIT)
    assert att.inputs == {
        "spokeGwName": spec.gateway_name,
        "transitGwName": spec.gateway.transit_gateway,
    }
    default = one(c, DEFAULT_ACTION)
    assert default.inputs == {"action": "DENY", "logging": True}
    # DCF on through the provider's replacement for the deprecated distributed_firewalling_config,
    # protected: deleting it would switch DCF off for every stack on the controller.
    switch = one(c, CONFIG_FEATURE)
    assert switch.inputs == {"featureName": "microseg", "isEnabled": True}
    assert switch.protect
    assert switch.urn in default.depends_on
    assert not c.of_type("aviatrix:index/distributedFirewallingConfig:DistributedFirewallingConfig")


def test_the_owner_declares_the_policy_tree_every_stack_attaches_to() -> None:
    c = planned("foundry-prod")
    groups = {g.inputs["name"]: g for g in c.of_type(POLICY_GROUP)}
    assert sorted(groups) == ["prod-tree-after-ui", "prod-tree-before-ui"]
    switch = one(c, CONFIG_FEATURE)
    for layer in (Layer.BEFORE_UI, Layer.AFTER_UI):
        group = groups[f"prod-tree-{names.POINT_SUFFIXES[layer]}"]
        # Attached to the controller's own Terraform point, looked up once DCF is on.
        assert group.inputs["attachTo"] == mock_point_id(str(layer.attachment_point))
        assert switch.urn in group.depends_on
        # One named point per stack on the controller: the owner's, then sharedWith in order.
        assert group.inputs["attachmentPoints"] == [
            {"name": f"{env}-{names.POINT_SUFFIXES[layer]}", "priority": 10 * (i + 1)}
            for i, env in enumerate(["prod", "prod-aks", "dev", "staging"])
        ]
    # The owner's rulesets hang on its own points, not on the controller's.
    for rs in c.of_type(RULESET):
        assert rs.inputs["attachTo"] in {
            mock_point_id("prod-before-ui"),
            mock_point_id("prod-after-ui"),
        }
    assert not planned("foundry-dev").of_type(POLICY_GROUP)


def mock_point_id(name: str) -> str:
    """What the mocked attachment-point lookup answers for ``name``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"attachment-point/{name}"))


def test_attachment_point_ids_given_in_config_skip_the_lookup() -> None:
    raw = raw_stack("foundry-prod")
    ids = {
        "TERRAFORM_BEFORE_UI_MANAGED": "11111111-2222-3333-4444-555555555555",
        "prod-after-ui": "66666666-7777-8888-9999-000000000000",
    }
    raw["controller"]["attachmentPoints"] = ids
    c = offline.plan(validate(raw))
    groups = {g.inputs["name"]: g for g in c.of_type(POLICY_GROUP)}
    assert groups["prod-tree-before-ui"].inputs["attachTo"] == ids["TERRAFORM_BEFORE_UI_MANAGED"]
    (after,) = [r for r in c.of_type(RULESET) if r.inputs["name"] == "prod-after-ui-rules"]
    assert after.inputs["attachTo"] == ids["prod-after-ui"]
    looked_up = sorted(i.args["name"] for i in c.invokes if i.token == GET_POINT)
    assert looked_up == ["TERRAFORM_AFTER_UI_MANAGED", "prod-before-ui"]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_rulesets_declare_the_compiled_rules_in_order(stack: str) -> None:
    c = planned(stack)
    spec = spec_of(stack)
    policy = compile_rulebase(spec)
    uuids = {r.outputs["uuid"]: r.inputs["name"] for r in c.of_type(SMART_GROUP)}
    uuids |= {r.outputs["uuid"]: r.inputs["name"] for r in c.of_type(WEB_GROUP)}
    uuids |= {g.uuid: g.name for g in policy.smart_groups if g.managed and g.uuid}
    rulesets = {names.layer_of_ruleset(r.inputs["name"]): r for r in c.of_type(RULESET)}
    assert set(rulesets) == {r.layer for r in policy.rules if r.layer in TERRAFORM_LAYERS}
    for layer, rs in rulesets.items():
        assert layer is not None
        want = policy.layer(layer)
        got = rs.inputs["rules"]
        # attach_to is the id the lookup returns for this stack's own point of the layer.
        assert rs.inputs["attachTo"] == mock_point_id(
            names.attachment_point(spec.name_prefix, layer)
        )
        assert [x["name"] for x in got] == [r.name for r in want]
        for raw, rule in zip(got, want, strict=True):
            assert raw["priority"] == rule.priority
            assert raw["action"] == rule.action.value
            assert raw["watch"] is rule.monitor
            assert raw["logging"] is True
            assert tuple(uuids[u] for u in raw["srcSmartGroups"]) == rule.src
            assert tuple(uuids[u] for u in raw["dstSmartGroups"]) == rule.dst
            assert tuple(uuids[u] for u in raw.get("webGroups", ())) == rule.web_groups
            assert raw.get("decryptPolicy") == (
                rule.decrypt_policy.value if rule.decrypt_policy else None
            )
        # Groups first: a ruleset that references a group not yet created fails the update.
        for g in c.of_type(SMART_GROUP) + c.of_type(WEB_GROUP):
            assert g.urn in rs.depends_on


def test_aca_rules_carry_tls_and_no_decryption() -> None:
    c = planned("foundry-prod")
    (rs,) = [r for r in c.of_type(RULESET) if r.inputs["name"] == "prod-before-ui-rules"]
    rules = {x["name"]: x for x in rs.inputs["rules"]}
    for name in ("allow-aca-fqdn", "allow-aca-svctag"):
        assert rules[name]["flowAppRequirement"] == "TLS_REQUIRED"
        assert rules[name]["decryptPolicy"] == "DECRYPT_NOT_ALLOWED"
        assert rules[name]["portRanges"] == [{"lo": 443, "hi": 443}]
    assert rules["deny-threat-intel"]["protocol"] == "ANY"
    svctag = [r for r in c.of_type(SMART_GROUP) if r.inputs["name"].startswith("prod-aca-svctag-")]
    assert {
        r.inputs["selector"]["matchExpressions"][0]["extArgs"]["service_name"] for r in svctag
    } == {
        "MicrosoftContainerRegistry",
        "AzureFrontDoorFirstParty",
        "AzureContainerRegistry",
        "AzureActiveDirectory",
    }
    agents = one(c, SMART_GROUP, "sg-prod-foundry-agents")
    assert agents.inputs["selector"]["matchExpressions"] == [
        {"type": "subnet", "accountName": "azure-prod", "name": "agents", "region": "eastus"}
    ]


def test_aks_obot_releases_are_pinned_and_ordered() -> None:
    c = planned("obot-aks")
    spec = spec_of("obot-aks")
    fw = one(c, HELM, "k8s-firewall")
    obot = one(c, HELM, "obot")
    assert fw.inputs["chart"] == "k8s-firewall"
    assert fw.inputs["version"] == spec.kubernetes.k8s_firewall.chart_version
    assert fw.inputs["skipCrds"] is False
    assert obot.inputs["version"] == spec.kubernetes.obot.chart_version == "v0.21.0"
    assert obot.inputs["repositoryOpts"] == {"repo": "https://charts.obot.ai"}
    assert obot.inputs["values"]["config"] == {
        "OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS": "true",
        "OBOT_SERVER_MCPNETWORK_POLICY_PROVIDER_CHART_REPO": "https://charts.obot.ai",
        "OBOT_SERVER_MCPNETWORK_POLICY_PROVIDER_CHART_NAME": "aviatrix-network-policy-controller",
        "OBOT_SERVER_MCPNETWORK_POLICY_PROVIDER_CHART_VERSION": "v0.0.1",
    }
    # The CRD release before Obot: its provider controller crashes without the CRDs.
    assert fw.urn in obot.depends_on
    masq = one(c, "kubernetes:core/v1:ConfigMap")
    assert "nonMasqueradeCIDRs:\n  - 0.0.0.0/0" in masq.inputs["data"]["ip-masq-agent"]
    assert masq.inputs["metadata"]["namespace"] == "kube-system"


def test_eks_has_no_aks_masquerade_config() -> None:
    assert not planned("obot-eks").of_type("kubernetes:core/v1:ConfigMap")


@pytest.mark.parametrize("stack", ["obot-aks", "obot-eks"])
def test_firewall_policies_only_for_workloads_obot_does_not_manage(stack: str) -> None:
    # Obot's network-policy controller writes its servers' policies; a declared one would
    # select no pod and sit beside the controller's, dead.
    c = planned(stack)
    spec = spec_of(stack)
    fw = one(c, HELM, "k8s-firewall")
    policies = c.of_type(FIREWALL_POLICY)
    assert sorted(p.inputs["metadata"]["name"] for p in policies) == sorted(
        firewallpolicy.policy_name(w.name) for w in spec.mcp_workloads
    )
    by_name = {w.name: w for w in spec.mcp_workloads}
    for p in policies:
        labels = p.inputs["metadata"]["labels"]
        assert "obot.ai/mcp-server-name" not in labels
        manifest = {k: p.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}
        workload = by_name[labels["mcp-containment/workload"]]
        assert manifest == firewallpolicy.workload(spec, workload)
        assert crd.errors(manifest) == []
        assert fw.urn in p.depends_on
        assert manifest["metadata"]["namespace"] != spec.kubernetes.obot.mcp_namespace


def test_the_catalog_is_registered_with_the_api_key_as_a_secret() -> None:
    c = planned("obot-aks")
    spec = spec_of("obot-aks")
    component = one(c, "mcp-containment:kubernetes:ObotCatalog")
    (source,) = c.of_type(CATALOG_SOURCE)
    assert source.parent == component.urn
    assert "apiKey" in source.secret_inputs and source.inputs["apiKey"] == offline.SECRET
    assert offline.OFFLINE_OBOT_API_KEY not in json.dumps([r.inputs for r in c.resources])
    assert source.inputs["entries"] == catalog.entries(spec)
    assert {k: source.inputs[k] for k in ("obotUrl", "sourceUrl", "catalogId")} == {
        "obotUrl": "https://obot.example.com",
        "sourceUrl": "https://github.com/example-org/mcp-catalog",
        "catalogId": "default",
    }
    assert (source.inputs["mcpNamespace"], source.inputs["defaultDenyAllEgress"]) == (
        "obot-mcp",
        True,
    )
    assert one(c, HELM, "obot").urn in source.depends_on


def test_no_registration_without_a_catalog_source() -> None:
    assert not planned("obot-eks").of_type(CATALOG_SOURCE)


def test_the_provider_type_is_the_one_the_pack_reads() -> None:
    from mcp_containment.crossguard import resources  # noqa: PLC0415
    from mcp_containment.infra.kubernetes.catalog import CatalogSource  # noqa: PLC0415

    assert f"pulumi-python:{CatalogSource._resource_type_name}" == resources.OBOT_CATALOG


def _catalog_program(key: Any) -> Callable[[], None]:
    from mcp_containment.infra.kubernetes.catalog import ObotCatalog, ObotCatalogArgs  # noqa: PLC0415

    def declare() -> None:
        ObotCatalog(
            "c",
            ObotCatalogArgs(
                obot_url="https://obot.example.com",
                api_key=key() if callable(key) else key,
                source_url="https://github.com/example-org/mcp-catalog",
                entries={},
                mcp_namespace="obot-mcp",
                default_deny_all_egress=True,
            ),
        )

    return declare


@pytest.mark.parametrize(
    "key",
    [lambda: pulumi.Output.from_input("ok1-plain"), "ok1-plain"],
    ids=["plain-output", "plain-string"],
)
def test_a_plain_api_key_is_refused(key: Any) -> None:
    with pytest.raises(Exception, match="must be a Pulumi secret"):
        offline.run(_catalog_program(key))


def test_a_secret_api_key_is_accepted() -> None:
    capture = offline.run(_catalog_program(lambda: pulumi.Output.secret("ok1-x")))
    (source,) = capture.of_type(CATALOG_SOURCE)
    assert "apiKey" in source.secret_inputs


def test_the_program_refuses_a_plain_obot_api_key() -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.obot-aks.yaml").read_text())
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in doc["config"].items()}
    config["obot:apiKey"] = "ok1-1-2-plain"
    code = compile((ROOT / "__main__.py").read_text(), "__main__.py", "exec")
    with pytest.raises(Exception, match=r"obot:apiKey: is in plain text"):
        offline.run(lambda: exec(code, {"__name__": "__main__"}), config=config)
    capture = offline.run(
        lambda: exec(code, {"__name__": "__main__"}),
        stack="prod",
        config=config,
        secret_keys=["obot:apiKey"],
    )
    (source,) = capture.of_type(CATALOG_SOURCE)
    assert "apiKey" in source.secret_inputs
    assert "ok1-1-2-plain" not in json.dumps([r.inputs for r in capture.resources])


def test_cluster_onboarding_precedes_the_rulesets() -> None:
    c = planned("obot-eks")
    spec = spec_of("obot-eks")
    onboarding = one(c, "aviatrix:index/kubernetesCluster:KubernetesCluster")
    assert onboarding.inputs == {"clusterId": spec.kubernetes.cluster_id, "useCspCredentials": True}
    # An EKS ARN reaches the controller as given; an AKS resource id lower-cased.
    aks = one(planned("obot-aks"), "aviatrix:index/kubernetesCluster:KubernetesCluster")
    raw_id = spec_of("obot-aks").kubernetes.cluster_id
    assert raw_id is not None and raw_id != raw_id.lower()
    assert aks.inputs["clusterId"] == raw_id.lower()
    dcf = one(c, "mcp-containment:aviatrix:DcfRulebase")
    assert onboarding.urn in dcf.depends_on


def test_aws_spoke_gateway_in_public_subnets_workloads_via_its_interface() -> None:
    c = planned("obot-eks")
    spec = spec_of("obot-eks")
    gw = one(c, SPOKE_GW)
    vpc = one(c, "aws:ec2/vpc:Vpc")
    assert gw.inputs["cloudType"] == 1
    assert gw.inputs["vpcId"] == vpc.id
    assert gw.inputs["haSubnet"] == spec.network.ha_gateway_subnet
    public_rt = one(c, AWS_RT, "public-rt")
    igw = one(c, "aws:ec2/internetGateway:InternetGateway")
    assert public_rt.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": igw.id}]
    egress_rt = one(c, AWS_RT, "egress-rt")
    (route,) = egress_rt.inputs["routes"]
    assert route["cidrBlock"] == "0.0.0.0/0"
    assert re.fullmatch(r"eni-[0-9a-f]{17}", route["networkInterfaceId"])
    assert "gatewayId" not in route
    assocs = {
        a.property_dependencies["subnetId"][0]: a.property_dependencies["routeTableId"][0]
        for a in c.of_type(AWS_ASSOC)
    }
    for role in ("agents", "pods"):
        sub = subnet(c, role)
        assert assocs[sub.urn] == egress_rt.urn
        # A staging stack: protection is production's (tests/test_foundry.py covers both).
        assert not sub.protect
        assert sub.delete_before_replace and "cidrBlock" in sub.replace_on_changes
    for role in ("aviatrix-gateway", "aviatrix-gateway-ha"):
        assert assocs[subnet(c, role).urn] == public_rt.urn
    assert {
        a.urn
        for a in c.of_type(AWS_ASSOC)
        if a.property_dependencies["routeTableId"][0] == public_rt.urn
    } <= set(gw.depends_on)


@pytest.mark.parametrize("base", ["foundry-dev", "obot-eks"])
def test_controller_routing_starts_fail_closed_and_ignores_drift(base: str) -> None:
    spec = validate(with_changes(raw_stack(base), network__routing="controller"))
    c = offline.plan(spec)
    rt = [r for r in c.of_type(AZ_RT) + c.of_type(AWS_RT) if "egress" in r.name]
    (table,) = rt
    assert "routes" in table.ignore_changes
    if table.type == AZ_RT:
        assert table.inputs["routes"] == [
            {"name": "default-fail-closed", "addressPrefix": "0.0.0.0/0", "nextHopType": "None"}
        ]
    else:
        # AWS has no blackhole target to declare: no default route is itself fail-closed.
        assert table.inputs["routes"] == []


def test_server_without_domains_under_default_allow_gets_match_all() -> None:
    raw = with_changes(raw_stack("obot-aks"), kubernetes__obot__defaultDenyAllEgress=False)
    raw["mcpServers"] = [{"name": "open", "runtime": "npx", "npxConfig": {"package": "o"}}]
    spec = validate(raw)
    c = offline.plan(spec)
    assert not c.of_type(FIREWALL_POLICY)
    (source,) = c.of_type(CATALOG_SOURCE)
    assert source.inputs["entries"]["open"]["npxConfig"] == {"package": "o"}
    assert source.inputs["defaultDenyAllEgress"] is False
    (planned_policy,) = compile_rulebase(spec).firewall_policies
    assert planned_policy["spec"]["webGroups"][0]["domains"] == ["*"]  # type: ignore[index]
    obot = one(c, HELM, "obot")
    assert obot.inputs["values"]["config"]["OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS"] == "false"


def test_aviatrix_resources_use_the_declared_package() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    pkg = project["packages"]["aviatrix"]
    assert pkg["source"] == package.BRIDGE
    assert str(pkg["version"]) == package.BRIDGE_VERSION
    assert pkg["parameters"] == [package.PROVIDER_SOURCE, package.PROVIDER_VERSION]
    assert project["stackConfigDir"] == "stacks"


def test_the_program_entry_point_reads_pulumi_config() -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.obot-eks.yaml").read_text())
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in doc["config"].items()}
    source = (ROOT / "__main__.py").read_text()
    code = compile(source, str(ROOT / "__main__.py"), "exec")
    capture = offline.run(
        lambda: exec(code, {"__name__": "__main__"}), stack="staging", config=config
    )
    assert [r.name for r in capture.resources] == [r.name for r in planned("obot-eks").resources]


def test_the_program_refuses_invalid_config_before_declaring_anything() -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.obot-eks.yaml").read_text())
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in doc["config"].items()}
    config["mcp-containment:network"] = config["mcp-containment:network"].replace(
        "10.80.8.0/22", "10.80.8.1/22"
    )
    code = compile((ROOT / "__main__.py").read_text(), "__main__.py", "exec")
    with pytest.raises(Exception, match=r"network\.agentSubnet") as info:
        offline.run(lambda: exec(code, {"__name__": "__main__"}), config=config)
    assert "not canonical" in str(info.value)
