"""The mock-runtime capture harness: options, secrets, determinism, isolation between runs."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from mcp_containment.offline import runtime as offline


def _program() -> None:
    rg = azure_native.resources.ResourceGroup("rg", resource_group_name="rg-test")
    vnet = azure_native.network.VirtualNetwork(
        "vnet",
        resource_group_name=rg.name,
        address_space={"address_prefixes": ["10.0.0.0/16"]},
        opts=pulumi.ResourceOptions(protect=True),
    )
    azure_native.network.Subnet(
        "agents",
        resource_group_name=rg.name,
        virtual_network_name=vnet.name,
        address_prefix="10.0.1.0/24",
        opts=pulumi.ResourceOptions(
            parent=vnet,
            replace_on_changes=["addressPrefix"],
            delete_before_replace=True,
            ignore_changes=["routeTable"],
        ),
    )
    pulumi.export("password", pulumi.Output.secret("hunter2"))
    pulumi.export("vnetName", vnet.name)


def test_captures_types_inputs_and_options() -> None:
    capture = offline.run(_program)
    assert [r.type for r in capture.resources] == [
        "azure-native:resources:ResourceGroup",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:Subnet",
    ]
    vnet, subnet = capture.named("vnet"), capture.named("agents")
    # protect is inherited from the parent, as the engine would see it.
    assert vnet.protect and subnet.protect and not capture.named("rg").protect
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": ["10.0.0.0/16"]}
    assert subnet.parent == vnet.urn
    assert subnet.replace_on_changes == ("addressPrefix",)
    assert subnet.delete_before_replace
    assert subnet.ignore_changes == ("routeTable",)
    assert capture.named("rg").urn in vnet.depends_on


def test_secrets_never_reach_a_capture() -> None:
    capture = offline.run(_program)
    assert capture.outputs["password"] == offline.SECRET
    assert capture.outputs["vnetName"] == "vnet"
    assert "hunter2" not in repr(capture)


def test_runs_are_isolated_and_deterministic() -> None:
    first, second = offline.run(_program), offline.run(_program)
    assert first == second


def test_version_aliases_are_dropped_only_inside_a_run() -> None:
    original = pulumi.Resource.__init__
    offline.run(_program)
    assert pulumi.Resource.__init__ is original
