"""``AzureSpokeNetwork``: the spoke VNet, its gateway, and subnets that can only egress
through that gateway.

Order matters and is encoded in dependencies: VNet and gateway subnet, then the spoke gateway
(whose private IP the UDR needs), then the route table, then the workload subnets, which are
created already associated with it, so no workload subnet ever exists without the egress
route. With ``routing: controller`` the route table starts fail-closed (0.0.0.0/0 -> None) and
the controller programs the routes; drift on them is ignored.

Bring your own: an existing resource group (``create_resource_group=False``) and an existing
VNet (:class:`ExistingVnet`). The subnets are always the component's: on Azure a subnet's route
table is a property of the subnet itself, so the component that guarantees the egress route
must own the subnet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure

from ...config import naming
from ...config.schema import Cloud, Routing
from ...core.model import DEFAULT_ROUTE
from ..aviatrix.gateway import SpokeGateway
from .gateway_settings import GatewaySettings, network_outputs, subnet_ids

COMPONENT = "mcp-containment:network:AzureSpokeNetwork"
ACA_DELEGATION = "Microsoft.App/environments"


@dataclass(frozen=True, kw_only=True)
class ExistingVnet:
    """A VNet the component adds its subnets to instead of creating one."""

    name: pulumi.Input[str]
    """The VNet's name, in ``AzureSpokeNetworkArgs.resource_group_name``."""
    id: pulumi.Input[str]
    """Its ARM id (what private DNS zones link to)."""
    resource_guid: pulumi.Input[str]
    """Its ``resourceGuid``: the controller addresses a VNet as ``<name>:<group>:<guid>``."""


@dataclass(frozen=True, kw_only=True)
class AzureSpokeNetworkArgs:
    location: pulumi.Input[str]
    """Azure region of everything the component creates (e.g. ``eastus``)."""
    resource_group_name: pulumi.Input[str]
    """The resource group: created with this name, or an existing one when
    ``create_resource_group`` is false."""
    gateway: GatewaySettings
    """The Aviatrix spoke gateway placed in ``gateway_subnet_cidr``."""
    gateway_subnet_cidr: pulumi.Input[str]
    """The gateway subnet, inside the VNet (a /28 for one gateway, /27 for an HA pair)."""
    agent_subnet_cidr: pulumi.Input[str]
    """The workload subnet: Foundry agents (delegated) or the cluster's nodes."""
    route_table_name: pulumi.Input[str]
    """Name of the egress route table (0.0.0.0/0 to the gateway)."""
    vnet_name: pulumi.Input[str] | None = None
    """Name of the VNet to create (with ``cidr``); unused with ``existing_vnet``."""
    cidr: pulumi.Input[str] | None = None
    """Address space of the VNet to create; unused with ``existing_vnet``."""
    existing_vnet: ExistingVnet | None = None
    """Add the subnets to this VNet instead of creating one."""
    create_resource_group: bool = True
    pod_subnet_cidr: pulumi.Input[str] | None = None
    """A separate pod subnet (Azure CNI), routed like the agent subnet."""
    private_endpoint_subnet_cidr: pulumi.Input[str] | None = None
    """A subnet for private endpoints (no route table: nothing in it initiates traffic)."""
    delegate_agent_subnet: bool = False
    """Delegate the agent subnet to ``Microsoft.App/environments`` (Foundry agents)."""
    protect: bool = True
    """``protect`` the VNet, subnets, route table and gateway (a stack protects production)."""
    tags: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


def _gateway_address(ip: str | None) -> str:
    """The UDR's next hop. A route without it would be refused by Azure at best; under test
    mocks that report no address it would silently vanish from the plan: fail instead."""
    if not ip:
        raise ValueError(
            "the spoke gateway reported no private IP for the workloads' default route; in "
            "unit tests use mcp_containment.testing.ContainmentMocks, which assigns one"
        )
    return ip


@dataclass(frozen=True, slots=True)
class _Vnet:
    name: pulumi.Input[str]
    id: pulumi.Input[str]
    resource_guid: pulumi.Input[str]


class AzureSpokeNetwork(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    vnet: azure.network.VirtualNetwork | None
    """The VNet the component created (None with an existing VNet)."""
    vnet_id: pulumi.Output[str]
    gateway: SpokeGateway
    route_table: azure.network.RouteTable
    agent_subnet: azure.network.Subnet
    agent_subnet_id: pulumi.Output[str]
    agent_subnet_ids: pulumi.Output[list[str]]
    """``[agent_subnet_id]``: the list shape of the AWS spoke (a regional subnet serves every
    zone)."""
    pod_subnet: azure.network.Subnet | None
    pod_subnet_ids: pulumi.Output[list[str]] | None
    private_endpoint_subnet: azure.network.Subnet | None
    gateway_private_ip: pulumi.Output[str]

    def __init__(
        self, name: str, args: AzureSpokeNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self._name = name
        self._args = args
        self.resource_group_name = self._resource_group()
        vnet = self._vnet()
        self.vnet_id = pulumi.Output.from_input(vnet.id)
        self.gateway = self._gateway(vnet)
        self.gateway_private_ip = self.gateway.private_ip
        self.route_table = self._route_table()
        # NSGs do not contain egress (the gateway does); the workload NSG exists so teams have
        # one to extend, and so the subnet is not left with Azure's implicit default outbound.
        nsg = azure.network.NetworkSecurityGroup(
            f"{name}-workloads-nsg",
            network_security_group_name=pulumi.Output.concat(vnet.name, "-workloads"),
            resource_group_name=self.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.agent_subnet = self._workload_subnet(
            naming.AGENT_SUBNET, args.agent_subnet_cidr, vnet, nsg, args.delegate_agent_subnet
        )
        self.agent_subnet_id = self.agent_subnet.id
        self.pod_subnet = None
        if args.pod_subnet_cidr is not None:
            self.pod_subnet = self._workload_subnet(
                naming.POD_SUBNET, args.pod_subnet_cidr, vnet, nsg, False, after=self.agent_subnet
            )
        self.agent_subnet_ids = subnet_ids(self.agent_subnet_id)
        self.pod_subnet_ids = subnet_ids(self.pod_subnet.id) if self.pod_subnet else None
        self.private_endpoint_subnet = self._private_endpoint_subnet(vnet, nsg)
        self.register_outputs(
            network_outputs(
                {"vnetId": self.vnet_id, "routeTableId": self.route_table.id},
                self.agent_subnet_ids,
                self.agent_subnet_id,
                self.gateway_private_ip,
                pod=self.pod_subnet.id if self.pod_subnet else None,
                pod_subnet_ids=self.pod_subnet_ids,
                private_endpoints=(
                    self.private_endpoint_subnet.id if self.private_endpoint_subnet else None
                ),
            )
        )

    def _resource_group(self) -> pulumi.Output[str]:
        args = self._args
        if not args.create_resource_group:
            return pulumi.Output.from_input(args.resource_group_name)
        group = azure.resources.ResourceGroup(
            f"{self._name}-rg",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        group_name: pulumi.Output[str] = group.name
        return group_name

    def _vnet(self) -> _Vnet:
        args = self._args
        if args.existing_vnet is not None:
            self.vnet = None
            existing = args.existing_vnet
            return _Vnet(existing.name, existing.id, existing.resource_guid)
        if args.vnet_name is None or args.cidr is None:
            raise ValueError("AzureSpokeNetworkArgs: give vnet_name and cidr, or existing_vnet")
        self.vnet = azure.network.VirtualNetwork(
            f"{self._name}-vnet",
            virtual_network_name=args.vnet_name,
            resource_group_name=self.resource_group_name,
            location=args.location,
            address_space={"address_prefixes": [args.cidr]},
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        return _Vnet(self.vnet.name, self.vnet.id, self.vnet.resource_guid)

    def _gateway(self, vnet: _Vnet) -> SpokeGateway:
        """The gateway subnet, then the gateway in it."""
        args = self._args
        gateway_subnet = azure.network.Subnet(
            f"{self._name}-{naming.GATEWAY_SUBNET}",
            subnet_name=naming.GATEWAY_SUBNET,
            resource_group_name=self.resource_group_name,
            virtual_network_name=vnet.name,
            address_prefix=args.gateway_subnet_cidr,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # The controller addresses an Azure VNet as <vnet name>:<resource group>:<vnet guid>.
        vpc_id = pulumi.Output.all(vnet.name, self.resource_group_name, vnet.resource_guid).apply(
            lambda parts: ":".join(str(p) for p in parts)
        )
        return SpokeGateway(
            f"{self._name}-gateway",
            args.gateway.spoke_gateway_args(
                cloud=Cloud.AZURE,
                region=args.location,
                vpc_id=vpc_id,
                subnet_cidr=args.gateway_subnet_cidr,
                # Azure's HA pair shares the gateway subnet (zone-redundant).
                ha_subnet_cidr=args.gateway_subnet_cidr,
                tags=args.tags,
                depends_on=[gateway_subnet],
                protect=args.protect,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _route_table(self) -> azure.network.RouteTable:
        """The workloads' only way out: 0.0.0.0/0 to the gateway, or fail-closed while the
        controller programs the routes."""
        args = self._args
        controller = args.gateway.routing is Routing.CONTROLLER
        default_route = (
            azure.network.RouteArgs(
                name="default-fail-closed", address_prefix=DEFAULT_ROUTE, next_hop_type="None"
            )
            if controller
            else azure.network.RouteArgs(
                name="default-via-spoke-gateway",
                address_prefix=DEFAULT_ROUTE,
                next_hop_type="VirtualAppliance",
                next_hop_ip_address=self.gateway_private_ip.apply(_gateway_address),
            )
        )
        return azure.network.RouteTable(
            f"{self._name}-egress-rt",
            route_table_name=args.route_table_name,
            resource_group_name=self.resource_group_name,
            location=args.location,
            routes=[default_route],
            # Routes learned over BGP must not give workloads a path around the gateway.
            disable_bgp_route_propagation=True,
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                ignore_changes=["routes"] if controller else None,
            ),
        )

    def _private_endpoint_subnet(
        self, vnet: _Vnet, nsg: azure.network.NetworkSecurityGroup
    ) -> azure.network.Subnet | None:
        """Private endpoints keep Azure service traffic (inference, storage) off the gateway.
        No route table: nothing in this subnet initiates traffic, and the endpoints' addresses
        are reached over the VNet's own route, which is more specific than 0.0.0.0/0."""
        cidr = self._args.private_endpoint_subnet_cidr
        if cidr is None:
            return None
        return azure.network.Subnet(
            f"{self._name}-{naming.PRIVATE_ENDPOINT_SUBNET}",
            subnet_name=naming.PRIVATE_ENDPOINT_SUBNET,
            resource_group_name=self.resource_group_name,
            virtual_network_name=vnet.name,
            address_prefix=cidr,
            network_security_group={"id": nsg.id},
            default_outbound_access=False,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.pod_subnet or self.agent_subnet]
            ),
        )

    def _workload_subnet(
        self,
        role: str,
        cidr: pulumi.Input[str],
        vnet: _Vnet,
        nsg: azure.network.NetworkSecurityGroup,
        delegate: bool,
        after: pulumi.Resource | None = None,
    ) -> azure.network.Subnet:
        # Azure updates a subnet's prefix in place; a Foundry capability host bound to it
        # cannot follow, so a prefix change must be a visible delete-and-recreate (and
        # `protect` makes even that a deliberate act).
        return azure.network.Subnet(
            f"{self._name}-{role}",
            subnet_name=role,
            resource_group_name=self.resource_group_name,
            virtual_network_name=vnet.name,
            address_prefix=cidr,
            route_table={"id": self.route_table.id},
            network_security_group={"id": nsg.id},
            delegations=(
                [{"name": "aca-environments", "service_name": ACA_DELEGATION}] if delegate else None
            ),
            default_outbound_access=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=self._args.protect,
                replace_on_changes=["addressPrefix", "delegations"],
                delete_before_replace=True,
                # Azure refuses concurrent subnet operations on one VNet.
                depends_on=[after] if after is not None else None,
            ),
        )
