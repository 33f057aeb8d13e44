"""``AwsSpokeNetwork``: the spoke VPC, its gateway, and private subnets that can only egress
through that gateway.

The gateway lives in public subnets (an internet gateway route, as Aviatrix requires); the
workload subnets are private and their route table's default route targets the gateway's
network interface. With ``routing: controller`` the private route table is declared without a
default route, which on AWS is fail-closed (no route, no egress), and the controller's routes
are ignored as drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ...config import naming
from ...config.schema import Cloud, Routing
from ...core.model import DEFAULT_ROUTE
from ..aviatrix.gateway import SpokeGateway, SpokeGatewayArgs
from .gateway_settings import GatewaySettings

COMPONENT = "mcp-containment:network:AwsSpokeNetwork"


@dataclass(frozen=True, kw_only=True)
class AwsSpokeNetworkArgs:
    region: str
    name_prefix: str
    cidr: str
    gateway_subnet_cidr: str
    agent_subnet_cidr: str
    gateway: GatewaySettings
    availability_zones: tuple[str, str]
    """Zone of the gateway (and first workload) subnet, then of the HA gateway subnet."""
    ha_gateway_subnet_cidr: str | None = None
    pod_subnet_cidr: str | None = None
    protect: bool = True
    """``protect`` the VPC, subnets, route tables and gateway (a stack protects production)."""
    tags: dict[str, str] = field(default_factory=dict)


class AwsSpokeNetwork(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    gateway: SpokeGateway
    route_table: aws.ec2.RouteTable
    agent_subnet: aws.ec2.Subnet
    pod_subnet: aws.ec2.Subnet | None
    gateway_private_ip: pulumi.Output[str]

    def __init__(
        self, name: str, args: AwsSpokeNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self._prefix = args.name_prefix
        self._tags = dict(args.tags)
        self._protected = args.protect
        self.vpc = aws.ec2.Vpc(
            f"{self._prefix}-spoke",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=self._tagged("spoke"),
            opts=pulumi.ResourceOptions(parent=self, protect=self._protected),
        )
        self.gateway = self._gateway(args)
        self.gateway_private_ip = self.gateway.private_ip
        self.route_table = self._route_table(args)
        zone_a = args.availability_zones[0]
        self.agent_subnet = self._workload_subnet(
            naming.AGENT_SUBNET, args.agent_subnet_cidr, zone_a
        )
        self.pod_subnet = (
            self._workload_subnet(naming.POD_SUBNET, args.pod_subnet_cidr, zone_a)
            if args.pod_subnet_cidr
            else None
        )
        outputs: dict[str, pulumi.Input[str]] = {
            "vpcId": self.vpc.id,
            "agentSubnetId": self.agent_subnet.id,
            "routeTableId": self.route_table.id,
            "gatewayPrivateIp": self.gateway_private_ip,
        }
        if self.pod_subnet is not None:
            outputs["podSubnetId"] = self.pod_subnet.id
        self.register_outputs(outputs)

    def _gateway(self, args: AwsSpokeNetworkArgs) -> SpokeGateway:
        """Public subnets with an internet route (Aviatrix gateways need one), then the gateway."""
        prefix = self._prefix
        igw = aws.ec2.InternetGateway(
            f"{prefix}-igw",
            vpc_id=self.vpc.id,
            tags=self._tagged("igw"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        public_rt = aws.ec2.RouteTable(
            f"{prefix}-public-rt",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": DEFAULT_ROUTE, "gateway_id": igw.id}],
            tags=self._tagged("public-rt"),
            # The gateway's own way out: losing it takes every workload's egress with it.
            opts=pulumi.ResourceOptions(parent=self, protect=self._protected),
        )
        zone_a, zone_b = args.availability_zones
        public = [(naming.GATEWAY_SUBNET, args.gateway_subnet_cidr, zone_a)]
        if args.ha_gateway_subnet_cidr:
            public.append((naming.HA_GATEWAY_SUBNET, args.ha_gateway_subnet_cidr, zone_b))
        gateway_ready: list[pulumi.Resource] = []
        for role, cidr, zone in public:
            subnet = aws.ec2.Subnet(
                f"{prefix}-{role}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                tags=self._tagged(role),
                opts=pulumi.ResourceOptions(parent=self, protect=self._protected),
            )
            gateway_ready.append(
                aws.ec2.RouteTableAssociation(
                    f"{prefix}-{role}-rt",
                    subnet_id=subnet.id,
                    route_table_id=public_rt.id,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        gw = args.gateway
        return SpokeGateway(
            gw.gateway_name,
            SpokeGatewayArgs(
                cloud=Cloud.AWS,
                account_name=gw.account_name,
                gateway_name=gw.gateway_name,
                region=args.region,
                size=gw.size,
                vpc_id=self.vpc.id,
                subnet_cidr=args.gateway_subnet_cidr,
                ha_subnet_cidr=args.ha_gateway_subnet_cidr if gw.ha else None,
                transit_gateway=gw.transit_gateway,
                tags=dict(args.tags),
                depends_on=gateway_ready,
                protect=self._protected,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _route_table(self, args: AwsSpokeNetworkArgs) -> aws.ec2.RouteTable:
        """The private subnets' table: 0.0.0.0/0 to the gateway's interface (found by its private
        IP), or no default route at all (fail-closed) while the controller programs routes."""
        controller = args.gateway.routing is Routing.CONTROLLER
        routes: list[aws.ec2.RouteTableRouteArgs] = []
        if not controller:
            filters = pulumi.Output.all(self.gateway_private_ip, self.vpc.id).apply(
                lambda ip_vpc: [
                    aws.ec2.GetNetworkInterfaceFilterArgs(
                        name="addresses.private-ip-address", values=[ip_vpc[0]]
                    ),
                    aws.ec2.GetNetworkInterfaceFilterArgs(name="vpc-id", values=[ip_vpc[1]]),
                ]
            )
            eni = aws.ec2.get_network_interface_output(
                filters=filters,
                opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[self.gateway]),
            )
            routes.append(
                aws.ec2.RouteTableRouteArgs(cidr_block=DEFAULT_ROUTE, network_interface_id=eni.id)
            )
        return aws.ec2.RouteTable(
            f"{self._prefix}-egress-rt",
            vpc_id=self.vpc.id,
            routes=routes,
            tags=self._tagged("egress-rt"),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=self._protected,
                ignore_changes=["routes"] if controller else None,
            ),
        )

    def _tagged(self, role: str) -> dict[str, str]:
        # Name tags are account-wide in the console, so they carry the stack prefix.
        return {**self._tags, "Name": f"{self._prefix}-{role}"}

    def _workload_subnet(self, role: str, cidr: str, zone: str) -> aws.ec2.Subnet:
        name = f"{self._prefix}-{role}"
        subnet = aws.ec2.Subnet(
            name,
            vpc_id=self.vpc.id,
            cidr_block=cidr,
            availability_zone=zone,
            tags=self._tagged(role),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=self._protected,
                replace_on_changes=["cidrBlock"],
                delete_before_replace=True,
            ),
        )
        # Associated in the same `up`: the association is what gives the subnet its only way out.
        aws.ec2.RouteTableAssociation(
            f"{name}-rt",
            subnet_id=subnet.id,
            route_table_id=self.route_table.id,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protected),
        )
        return subnet
