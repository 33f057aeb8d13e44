"""``AzureSpokeNetwork``: the spoke VNet, its gateway, and subnets that can only egress
through that gateway.

Order matters and is encoded in dependencies: VNet and gateway subnet, then the spoke gateway
(whose private IP the UDR needs), then the route table, then the workload subnets, which are
created already associated with it, so no workload subnet ever exists without the egress
route. With ``routing: controller`` the route table starts fail-closed (0.0.0.0/0 -> None) and
the controller programs the routes; drift on them is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure

from ...config import naming
from ...config.schema import Cloud, Routing
from ...core.model import DEFAULT_ROUTE
from ..aviatrix.gateway import SpokeGateway, SpokeGatewayArgs
from .gateway_settings import GatewaySettings

COMPONENT = "mcp-containment:network:AzureSpokeNetwork"
ACA_DELEGATION = "Microsoft.App/environments"


@dataclass(frozen=True, kw_only=True)
class AzureSpokeNetworkArgs:
    location: str
    resource_group_name: str
    vnet_name: str
    cidr: str
    gateway_subnet_cidr: str
    agent_subnet_cidr: str
    gateway: GatewaySettings
    route_table_name: str
    pod_subnet_cidr: str | None = None
    private_endpoint_subnet_cidr: str | None = None
    delegate_agent_subnet: bool = False
    """Delegate the agent subnet to ``Microsoft.App/environments`` (Foundry agents)."""
    protect: bool = True
    """``protect`` the VNet, subnets, route table and gateway (a stack protects production)."""
    tags: dict[str, str] = field(default_factory=dict)


class AzureSpokeNetwork(pulumi.ComponentResource):
    resource_group: azure.resources.ResourceGroup
    vnet: azure.network.VirtualNetwork
    gateway: SpokeGateway
    route_table: azure.network.RouteTable
    agent_subnet: azure.network.Subnet
    pod_subnet: azure.network.Subnet | None
    private_endpoint_subnet: azure.network.Subnet | None
    gateway_private_ip: pulumi.Output[str]

    def __init__(
        self, name: str, args: AzureSpokeNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self._tags = dict(args.tags)
        self._protected = args.protect
        self.resource_group = azure.resources.ResourceGroup(
            args.resource_group_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.vnet = azure.network.VirtualNetwork(
            args.vnet_name,
            virtual_network_name=args.vnet_name,
            resource_group_name=self.resource_group.name,
            location=args.location,
            address_space={"address_prefixes": [args.cidr]},
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protected),
        )
        self.gateway = self._gateway(args)
        self.gateway_private_ip = self.gateway.private_ip
        self.route_table = self._route_table(args)
        # NSGs do not contain egress (the gateway does); the workload NSG exists so teams have
        # one to extend, and so the subnet is not left with Azure's implicit default outbound.
        nsg = azure.network.NetworkSecurityGroup(
            f"{args.vnet_name}-workloads",
            network_security_group_name=f"{args.vnet_name}-workloads",
            resource_group_name=self.resource_group.name,
            location=args.location,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.agent_subnet = self._workload_subnet(
            naming.AGENT_SUBNET, args.agent_subnet_cidr, args, nsg, args.delegate_agent_subnet
        )
        self.pod_subnet = (
            self._workload_subnet(
                naming.POD_SUBNET, args.pod_subnet_cidr, args, nsg, False, after=self.agent_subnet
            )
            if args.pod_subnet_cidr
            else None
        )
        self.private_endpoint_subnet = self._private_endpoint_subnet(
            args.private_endpoint_subnet_cidr, nsg
        )
        outputs: dict[str, pulumi.Input[str]] = {
            "vnetId": self.vnet.id,
            "agentSubnetId": self.agent_subnet.id,
            "routeTableId": self.route_table.id,
            "gatewayPrivateIp": self.gateway_private_ip,
        }
        if self.pod_subnet is not None:
            outputs["podSubnetId"] = self.pod_subnet.id
        if self.private_endpoint_subnet is not None:
            outputs["privateEndpointSubnetId"] = self.private_endpoint_subnet.id
        self.register_outputs(outputs)

    def _gateway(self, args: AzureSpokeNetworkArgs) -> SpokeGateway:
        """The gateway subnet, then the gateway in it."""
        gateway_subnet = azure.network.Subnet(
            naming.GATEWAY_SUBNET,
            subnet_name=naming.GATEWAY_SUBNET,
            resource_group_name=self.resource_group.name,
            virtual_network_name=self.vnet.name,
            address_prefix=args.gateway_subnet_cidr,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protected),
        )
        gw = args.gateway
        # The controller addresses an Azure VNet as <vnet name>:<resource group>:<vnet guid>.
        vpc_id = pulumi.Output.all(
            self.vnet.name, self.resource_group.name, self.vnet.resource_guid
        ).apply(lambda parts: ":".join(str(p) for p in parts))
        return SpokeGateway(
            gw.gateway_name,
            SpokeGatewayArgs(
                cloud=Cloud.AZURE,
                account_name=gw.account_name,
                gateway_name=gw.gateway_name,
                region=args.location,
                size=gw.size,
                vpc_id=vpc_id,
                subnet_cidr=args.gateway_subnet_cidr,
                ha_subnet_cidr=args.gateway_subnet_cidr if gw.ha else None,
                transit_gateway=gw.transit_gateway,
                tags=self._tags,
                depends_on=[gateway_subnet],
                protect=self._protected,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _route_table(self, args: AzureSpokeNetworkArgs) -> azure.network.RouteTable:
        """The workloads' only way out: 0.0.0.0/0 to the gateway, or fail-closed while the
        controller programs the routes."""
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
                next_hop_ip_address=self.gateway_private_ip,
            )
        )
        return azure.network.RouteTable(
            args.route_table_name,
            route_table_name=args.route_table_name,
            resource_group_name=self.resource_group.name,
            location=args.location,
            routes=[default_route],
            # Routes learned over BGP must not give workloads a path around the gateway.
            disable_bgp_route_propagation=True,
            tags=self._tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=self._protected,
                ignore_changes=["routes"] if controller else None,
            ),
        )

    def _private_endpoint_subnet(
        self, cidr: str | None, nsg: azure.network.NetworkSecurityGroup
    ) -> azure.network.Subnet | None:
        """Private endpoints keep Azure service traffic (inference, storage) off the gateway.
        No route table: nothing in this subnet initiates traffic, and the endpoints' addresses
        are reached over the VNet's own route, which is more specific than 0.0.0.0/0."""
        if cidr is None:
            return None
        return azure.network.Subnet(
            naming.PRIVATE_ENDPOINT_SUBNET,
            subnet_name=naming.PRIVATE_ENDPOINT_SUBNET,
            resource_group_name=self.resource_group.name,
            virtual_network_name=self.vnet.name,
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
        cidr: str,
        args: AzureSpokeNetworkArgs,
        nsg: azure.network.NetworkSecurityGroup,
        delegate: bool,
        after: pulumi.Resource | None = None,
    ) -> azure.network.Subnet:
        # Azure updates a subnet's prefix in place; a Foundry capability host bound to it
        # cannot follow, so a prefix change must be a visible delete-and-recreate (and
        # `protect` makes even that a deliberate act).
        return azure.network.Subnet(
            role,
            subnet_name=role,
            resource_group_name=self.resource_group.name,
            virtual_network_name=self.vnet.name,
            address_prefix=cidr,
            route_table={"id": self.route_table.id},
            network_security_group={"id": nsg.id},
            delegations=(
                [{"name": "aca-environments", "service_name": ACA_DELEGATION}] if delegate else None
            ),
            default_outbound_access=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=self._protected,
                replace_on_changes=["addressPrefix", "delegations"],
                delete_before_replace=True,
                # Azure refuses concurrent subnet operations on one VNet.
                depends_on=[after] if after is not None else None,
            ),
        )
