"""The components as a platform team composes them: twice in one program, into a network
that already exists, with values from other stacks, tested with ``mcp_containment.testing``.

Only the package's public names are used here (``mcp_containment`` and
``mcp_containment.testing``), as a consumer's own test suite would.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

import mcp_containment as mc
from mcp_containment.config.schema import Routing
from mcp_containment.testing import (
    ContainmentMocks,
    assert_unique_urns,
    capture,
    duplicate_urns,
)

from . import provider_schema
from .helpers import raw_stack, with_changes

NETWORK_STACK = "acme/network/prod"
NETWORK_OUTPUTS = {
    "resourceGroupName": "net-prod-rg",
    "vnetName": "hub-spoke-07",
    "vnetId": "/subscriptions/0000/resourceGroups/net-prod-rg/providers/Microsoft.Network/"
    "virtualNetworks/hub-spoke-07",
    "vnetGuid": "8c1d2a1e-5b1f-4f55-9b7a-2d7e3c1a9f10",
}


def _two_regions() -> None:
    east = mc.load_file("stacks/Pulumi.foundry-prod.yaml")
    west = mc.Spec.model_validate(
        with_changes(
            raw_stack("foundry-prod"),
            controller__namePrefix="prod-west",
            network__region="westus",
        )
    )
    mc.ContainmentStack("east", mc.ContainmentStackArgs(spec=east))
    mc.ContainmentStack("west", mc.ContainmentStackArgs(spec=west))
    # Two more rulebases of the same compiled rules, side by side.
    rulebase = mc.compile_rulebase(east)
    for name in ("extra-a", "extra-b"):
        mc.DcfRulebase(
            name,
            mc.DcfRulebaseArgs(rulebase=rulebase, name_prefix=f"prod-{name}"),
        )


def test_two_stacks_and_two_rulebases_in_one_program_declare_no_urn_twice() -> None:
    resources = capture(_two_regions)
    assert_unique_urns(resources)
    # Each composes its whole tree: the same children, under its own name.
    stacks = resources.of_type("mcp-containment:index:ContainmentStack")
    assert sorted(r.name for r in stacks) == ["east", "west"]
    rulesets = resources.of_type("aviatrix:index/dcfRuleset:DcfRuleset")
    assert {r.name.split("-")[0] for r in rulesets} == {"east", "west", "extra"}


def test_the_duplicate_check_is_not_vacuous() -> None:
    def twice() -> None:
        rulebase = mc.compile_rulebase(mc.load_file("stacks/Pulumi.foundry-dev.yaml"))
        args = mc.DcfRulebaseArgs(rulebase=rulebase, name_prefix="dev")
        mc.DcfRulebase("same", args)
        mc.DcfRulebase("same", args)

    resources = capture(twice)
    assert duplicate_urns(resources)
    with pytest.raises(AssertionError, match="registered more than once"):
        assert_unique_urns(resources)


def _spoke_in_an_existing_vnet() -> None:
    network = pulumi.StackReference(NETWORK_STACK)
    mc.AzureSpokeNetwork(
        "spoke",
        mc.AzureSpokeNetworkArgs(
            location="westeurope",
            resource_group_name=network.get_output("resourceGroupName"),
            create_resource_group=False,
            existing_vnet=mc.ExistingVnet(
                name=network.get_output("vnetName"),
                id=network.get_output("vnetId"),
                resource_guid=network.get_output("vnetGuid"),
            ),
            gateway=mc.GatewaySettings(
                account_name="azure-prod", gateway_name="prod-weu-spoke", size="Standard_D3_v2"
            ),
            gateway_subnet_cidr="10.70.0.0/26",
            agent_subnet_cidr="10.70.4.0/22",
            route_table_name="prod-weu-egress",
            protect=False,
        ),
    )


def test_a_spoke_composes_into_an_existing_vnet_with_values_from_another_stack() -> None:
    resources = capture(
        _spoke_in_an_existing_vnet, stack_references={NETWORK_STACK: NETWORK_OUTPUTS}
    )
    assert_unique_urns(resources)
    # Nothing of the network stack is created again.
    assert not resources.of_type("azure-native:resources:ResourceGroup")
    assert not resources.of_type("azure-native:network:VirtualNetwork")
    subnets = resources.of_type("azure-native:network:Subnet")
    assert {s.inputs["virtualNetworkName"] for s in subnets} == {"hub-spoke-07"}
    assert {s.inputs["resourceGroupName"] for s in subnets} == {"net-prod-rg"}
    (gateway,) = resources.of_type("aviatrix:index/spokeGateway:SpokeGateway")
    assert (
        gateway.inputs["vpcId"] == "hub-spoke-07:net-prod-rg:8c1d2a1e-5b1f-4f55-9b7a-2d7e3c1a9f10"
    )
    (table,) = resources.of_type("azure-native:network:RouteTable")
    (route,) = table.inputs["routes"]
    assert route["nextHopIpAddress"] == gateway.outputs["privateIp"]
    agents = next(s for s in subnets if s.inputs["subnetName"] == "agents")
    assert agents.property_dependencies["routeTable"] == (table.urn,)


def test_an_aws_spoke_builds_in_an_existing_vpc_and_associates_existing_subnets() -> None:
    def program() -> None:
        mc.AwsSpokeNetwork(
            "spoke",
            mc.AwsSpokeNetworkArgs(
                region="us-east-1",
                name_prefix="staging-mcp",
                existing_vpc=mc.ExistingVpc(id="vpc-0abc", internet_gateway_id="igw-0def"),
                existing_subnet_ids={"agents": "subnet-0aaa", "aviatrix-gateway": "subnet-0bbb"},
                gateway=mc.GatewaySettings(
                    account_name="aws-staging", gateway_name="staging-spoke", size="c5.xlarge"
                ),
                gateway_subnet_cidr="10.80.0.0/26",
                agent_subnet_cidr="10.80.16.0/20",
                availability_zones=("us-east-1a", "us-east-1b"),
                protect=False,
            ),
        )

    resources = capture(program)
    assert not resources.of_type("aws:ec2/vpc:Vpc")
    assert not resources.of_type("aws:ec2/subnet:Subnet")
    assert not resources.of_type("aws:ec2/internetGateway:InternetGateway")
    associations = resources.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert {a.inputs["subnetId"] for a in associations} == {"subnet-0aaa", "subnet-0bbb"}
    tables = {t.urn: t for t in resources.of_type("aws:ec2/routeTable:RouteTable")}
    egress = next(t for t in tables.values() if t.name.endswith("-egress-rt"))
    agents = next(a for a in associations if a.inputs["subnetId"] == "subnet-0aaa")
    assert agents.property_dependencies["routeTableId"] == (egress.urn,)


def test_obot_values_merge_under_the_enforced_keys() -> None:
    def program(values: dict[str, Any]) -> None:
        mc.Obot("obot", mc.ObotArgs(chart_version="v0.21.0", values=values))

    extra = {"hostname": "obot.example.com", "config": {"OBOT_SERVER_AUTH_ENABLED": "true"}}
    (release,) = capture(lambda: program(extra)).of_type("kubernetes:helm.sh/v3:Release")
    config = release.inputs["values"]["config"]
    assert release.inputs["values"]["hostname"] == "obot.example.com"
    assert config["OBOT_SERVER_AUTH_ENABLED"] == "true"
    assert config["OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS"] == "true"
    # Overriding what contains the servers' egress is refused, naming the key.
    override = {"config": {"OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS": "false"}}
    with pytest.raises(Exception, match=r"values\.config\.OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS"):
        capture(lambda: program(override))


def test_an_existing_clusters_provider_reaches_every_kubernetes_resource() -> None:
    spec = mc.load_file("stacks/Pulumi.obot-eks.yaml")

    def program() -> None:
        cluster = k8s.Provider("existing-cluster", kubeconfig="{}")
        mc.ContainmentStack(
            "staging", mc.ContainmentStackArgs(spec=spec, kubernetes_provider=cluster)
        )

    resources = capture(program)
    (provider,) = [r for r in resources.resources if r.type == "pulumi:providers:kubernetes"]
    kube = [r for r in resources.resources if r.type.startswith("kubernetes:")]
    assert kube and all((r.provider or "").startswith(provider.urn) for r in kube)


def _new_spoke() -> None:
    mc.AzureSpokeNetwork(
        "spoke",
        mc.AzureSpokeNetworkArgs(
            location="westeurope",
            resource_group_name="prod-weu-rg",
            vnet_name="prod-weu-spoke",
            cidr="10.70.0.0/16",
            gateway=mc.GatewaySettings(
                account_name="azure-prod", gateway_name="prod-weu-spoke", size="Standard_D3_v2"
            ),
            gateway_subnet_cidr="10.70.0.0/26",
            agent_subnet_cidr="10.70.4.0/22",
            route_table_name="prod-weu-egress",
        ),
    )


class _Silent(ContainmentMocks):
    """Mocks that answer like Pulumi's documented generic ones where it matters here: no
    gateway address, and nothing for the attachment-point lookup."""

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        rid, state = super().new_resource(args)
        if args.typ == "aviatrix:index/spokeGateway:SpokeGateway":
            state = {k: v for k, v in state.items() if k not in ("privateIp", "haPrivateIp")}
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], Any]:
        if args.token.endswith("getDcfAttachmentPoint"):
            return {}, []
        return super().call(args)


@pytest.mark.parametrize(
    ("program", "missing"),
    [(_new_spoke, "no private IP"), ("rulebase", "no attachment_point_id")],
)
def test_mocks_that_answer_nothing_get_a_clear_error_not_a_silent_plan(
    program: Any, missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Generic mocks once made DcfRulebase fail on a KeyError and the UDR lose its next hop
    # silently: each now fails naming what is missing and pointing at ContainmentMocks.
    from mcp_containment.offline import runtime  # noqa: PLC0415 - to swap the mocks in

    if program == "rulebase":
        rulebase = mc.compile_rulebase(mc.load_file("stacks/Pulumi.foundry-dev.yaml"))

        def program() -> None:
            mc.DcfRulebase("dcf", mc.DcfRulebaseArgs(rulebase=rulebase, name_prefix="dev"))

    monkeypatch.setattr(runtime, "ContainmentMocks", _Silent)
    with pytest.raises(Exception, match=f"{missing}.*ContainmentMocks"):
        capture(program)


def test_every_args_field_a_user_could_take_from_another_stack_is_an_input() -> None:
    # The fields that name or place cloud objects take pulumi.Input (StackReference outputs);
    # only those that decide the shape of the program (ha, routing, protect) are plain.
    hints = mc.AzureSpokeNetworkArgs.__annotations__
    for field in ("location", "resource_group_name", "gateway_subnet_cidr", "route_table_name"):
        assert "Input" in str(hints[field]), field
    gateway = mc.GatewaySettings.__annotations__
    assert all("Input" in str(gateway[f]) for f in ("account_name", "gateway_name", "size"))
    assert "Input" not in str(gateway["routing"]) and Routing.UDR.value == "udr"


def test_an_explicit_aviatrix_provider_reaches_every_aviatrix_resource() -> None:
    rulebase = mc.compile_rulebase(mc.load_file("stacks/Pulumi.foundry-dev.yaml"))

    def program() -> None:
        controller = mc.AviatrixProvider(
            "eu-controller",
            mc.AviatrixProviderArgs(
                controller_ip="10.2.0.10",
                username="pulumi-automation",
                password="s3cret",  # plain here: the provider keeps it secret anyway
                skip_version_validation=False,
            ),
        )
        mc.DcfRulebase(
            "dcf",
            mc.DcfRulebaseArgs(rulebase=rulebase, name_prefix="dev"),
            pulumi.ResourceOptions(providers={"aviatrix": controller}),
        )

    resources = capture(program)
    (provider,) = [r for r in resources.resources if r.type == "pulumi:providers:aviatrix"]
    assert provider.inputs["password"] == "[secret]" and "password" in provider.secret_inputs
    assert provider.inputs["skipVersionValidation"] == "false"  # bridged config is text
    aviatrix = [r for r in resources.resources if r.type.startswith("aviatrix:")]
    assert aviatrix and all((r.provider or "").startswith(provider.urn) for r in aviatrix)
    # The provider's own arguments, as the pinned provider's schema names them.
    schema = provider_schema.snapshot()["provider"]
    assert {provider_schema.camel(k) for k in schema} >= set(provider.inputs)
