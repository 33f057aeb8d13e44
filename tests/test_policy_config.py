"""Policy config merging (as the Pulumi CLI does it) and the routing check on both route styles."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mcp_containment.config.validate import validate
from mcp_containment.crossguard.checks.network import check_routing
from mcp_containment.crossguard.policy_config import (
    config_errors,
    facts_from_engine_config,
    merge_config,
    stack_facts,
    unknown_policies,
)
from mcp_containment.crossguard.registry import Level
from mcp_containment.crossguard.resources import Resource, Unknown

from .helpers import raw_stack


def test_defaults_are_policy_levels_and_no_stack_fact() -> None:
    # The facts have no default: absent from policy config, they come from the stack.
    merged = merge_config([])
    assert merged["subnet-immutability"].level is Level.MANDATORY
    assert merged["subnet-immutability"].properties == {}
    assert merged["dcf-rules-in-monitor-mode"].level is Level.ADVISORY


def test_all_then_policy_within_a_layer_and_later_layers_win() -> None:
    initial = {"all": "advisory", "dcf-audit-logging": "mandatory"}
    file = {
        "all": {"enforcementLevel": "disabled"},
        "dcf-containment-breadth": {"enforcementLevel": "advisory", "production": True},
    }
    merged = merge_config([initial, file])
    assert merged["dcf-audit-logging"].level is Level.DISABLED  # the file's `all` comes later
    assert merged["dcf-containment-breadth"].level is Level.ADVISORY
    assert merged["dcf-containment-breadth"].properties["production"] is True
    only_initial = merge_config([initial])
    assert only_initial["dcf-audit-logging"].level is Level.MANDATORY
    assert only_initial["workload-default-route-via-gateway"].level is Level.ADVISORY


def test_all_sets_levels_only_as_the_engine_does() -> None:
    # pulumi/pulumi@1b5949891b pkg/resource/analyzer/config.go applyConfig: `all` carries an
    # enforcement level to every policy and no property to any.
    merged = merge_config([{"all": {"enforcementLevel": "advisory", "production": True}}])
    assert merged["mcp-server-firewall-policy"].level is Level.ADVISORY
    assert "production" not in merged["mcp-server-firewall-policy"].properties


def test_property_types_are_checked_as_the_engine_checks_them() -> None:
    assert config_errors(merge_config([{"dcf-audit-logging": {"production": "yes"}}])) == [
        "dcf-audit-logging: production: 'yes' is not of type 'boolean'"
    ]
    assert config_errors(merge_config([{"dcf-audit-logging": {"production": True}}])) == []


def test_unknown_policy_names_are_reported() -> None:
    assert unknown_policies([{"all": "advisory", "subnet-immutabilty": "advisory"}]) == [
        "subnet-immutabilty"
    ]


def test_bad_level_is_refused() -> None:
    with pytest.raises(ValueError, match="sometimes"):
        merge_config([{"dcf-audit-logging": "sometimes"}])


def test_stack_facts_come_from_the_engine_config_of_our_namespace_only() -> None:
    assert facts_from_engine_config({"aws:region": "us-east-1"}).values == {}
    broken = facts_from_engine_config({"mcp-containment:cloud": "gcp"})
    assert broken.problem is not None and "cloud" in broken.problem


# --- routing ---------------------------------------------------------------------------------

RT = "urn:rt"
GW = "urn:gw"
GATEWAY = Resource("aviatrix:index/spokeGateway:SpokeGateway", "gw", GW, {"privateIp": "10.0.0.4"})


def azure(
    *, inline: dict[str, Any] | None, separate: dict[str, Any] | None, associated: bool = True
) -> list[Resource]:
    table = Resource(
        "azure-native:network:RouteTable",
        "rt",
        RT,
        {"routes": [inline] if inline else []},
        deps={"routes": (GW,)} if inline else {},
    )
    out = [
        GATEWAY,
        table,
        Resource(
            "azure-native:network:Subnet",
            "agents",
            "urn:agents",
            {"subnetName": "agents", "addressPrefix": "10.0.1.0/24"},
            deps={"routeTable": (RT,)} if associated else {},
        ),
    ]
    if separate:
        out.append(
            Resource(
                "azure-native:network:Route",
                "default",
                "urn:route",
                separate,
                deps={"routeTableName": (RT,), "nextHopIpAddress": (GW,)},
            )
        )
    return out


VIA_GW = {
    "addressPrefix": "0.0.0.0/0",
    "nextHopType": "VirtualAppliance",
    "nextHopIpAddress": "10.0.0.4",
}
TO_INTERNET = {"addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"}


@pytest.mark.parametrize("style", ["inline", "separate"])
def test_azure_route_through_gateway_passes(style: str) -> None:
    resources = azure(
        inline=VIA_GW if style == "inline" else None,
        separate=VIA_GW if style == "separate" else None,
    )
    assert list(check_routing(resources, {})) == []


@pytest.mark.parametrize("style", ["inline", "separate"])
def test_azure_route_to_internet_fails(style: str) -> None:
    resources = azure(
        inline=TO_INTERNET if style == "inline" else None,
        separate=TO_INTERNET if style == "separate" else None,
    )
    [(message, urn)] = list(check_routing(resources, {}))
    assert "does not go through the spoke gateway" in message and urn == "urn:agents"


def test_azure_subnet_without_route_table_fails() -> None:
    [(message, _)] = list(check_routing(azure(inline=VIA_GW, separate=None, associated=False), {}))
    assert "no route table" in message


def test_fail_closed_controller_routing_passes() -> None:
    closed = {"addressPrefix": "0.0.0.0/0", "nextHopType": "None"}
    assert list(check_routing(azure(inline=closed, separate=None), {})) == []


def aws(route: dict[str, Any], *, inline: bool) -> list[Resource]:
    table = Resource(
        "aws:ec2/routeTable:RouteTable",
        "private",
        RT,
        {"routes": [route] if inline else []},
        deps={"routes": (GW,)} if inline else {},
    )
    subnet = Resource(
        "aws:ec2/subnet:Subnet",
        "pods",
        "urn:pods",
        {"cidrBlock": "10.0.64.0/18", "tags": {"Name": "dev-mcp-pods"}},
    )
    assoc = Resource(
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "a",
        "urn:a",
        {},
        deps={"subnetId": ("urn:pods",), "routeTableId": (RT,)},
    )
    out = [GATEWAY, table, subnet, assoc]
    if not inline:
        out.append(
            Resource(
                "aws:ec2/route:Route",
                "r",
                "urn:r",
                {"destinationCidrBlock": "0.0.0.0/0", **route},
                deps={"routeTableId": (RT,), "networkInterfaceId": (GW,)},
            )
        )
    return out


@pytest.mark.parametrize("inline", [True, False])
def test_aws_routes_via_gateway_eni_pass_and_igw_fails(inline: bool) -> None:
    eni = (
        {"cidrBlock": "0.0.0.0/0", "networkInterfaceId": "eni-1"}
        if inline
        else {"networkInterfaceId": "eni-1"}
    )
    assert list(check_routing(aws(eni, inline=inline), {})) == []
    igw = {"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"} if inline else {"gatewayId": "igw-1"}
    assert len(list(check_routing(aws(igw, inline=inline), {}))) == 1


def test_an_appliance_that_is_not_the_gateway_fails() -> None:
    elsewhere = {**VIA_GW, "nextHopIpAddress": "10.0.0.99"}
    [(message, _)] = list(check_routing(azure(inline=elsewhere, separate=None), {}))
    assert "10.0.0.99" in message


def test_an_unknown_next_hop_passes_only_when_derived_from_the_gateway() -> None:
    unknown = {**VIA_GW, "nextHopIpAddress": Unknown("routes.0.nextHopIpAddress")}
    assert list(check_routing(azure(inline=unknown, separate=None), {})) == []
    unlinked = [
        dataclasses.replace(r, deps={}) if r.urn == RT else r
        for r in azure(inline=unknown, separate=None)
    ]
    assert len(list(check_routing(unlinked, {}))) == 1


def test_a_known_interface_not_derived_from_the_gateway_fails() -> None:
    resources = [
        dataclasses.replace(r, deps={}) if r.urn == RT else r
        for r in aws({"cidrBlock": "0.0.0.0/0", "networkInterfaceId": "eni-1"}, inline=True)
    ]
    assert len(list(check_routing(resources, {}))) == 1


def test_policy_config_pins_only_the_facts_a_stack_has() -> None:
    spec = validate(raw_stack("foundry-prod"))
    assert spec.lock is None
    pinned = stack_facts(spec)
    assert "subnet-immutability" not in pinned  # no lock yet: nothing to pin, nothing to blank
    assert pinned["dcf-decryption-scope"] == {"production": True, "controllerVersion": "8.2.1"}
