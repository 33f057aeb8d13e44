"""``AwsSpokeNetwork``: the spoke VPC, its gateway, and private subnets that can only egress
through that gateway.

The gateway lives in public subnets (an internet gateway route, as Aviatrix requires); the
workload subnets are private and their route table's default route targets the gateway's
network interface. An AWS subnet lives in one zone and an EKS cluster takes subnets in at least
two (Amazon EKS user guide, "View Amazon EKS networking requirements for VPC and subnets"), so
a spoke for EKS declares its workload subnets in two zones: the first zone's beside the
gateway, the second zone's beside the HA gateway (``ha_agent_subnet_cidr``,
``ha_pod_subnet_cidr``), all on the one egress route table. With ``routing: controller`` the
private route table is declared without a default route, which on AWS is fail-closed (no
route, no egress), and the controller's routes are ignored as drift.

Bring your own: an existing VPC (:class:`ExistingVpc`, with its internet gateway if it has one)
and existing subnets (``existing_subnet_ids``, by role): the component then declares only the
route tables and the associations that give those subnets their one way out. An existing
subnet must not already be explicitly associated with another route table (AWS allows one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ...config import naming
from ...config.schema import Cloud, Routing
from ...core.model import DEFAULT_ROUTE
from ..aviatrix.gateway import SpokeGateway
from .gateway_settings import GatewaySettings, network_outputs, subnet_ids

COMPONENT = "mcp-containment:network:AwsSpokeNetwork"


@dataclass(frozen=True, kw_only=True)
class ExistingVpc:
    """A VPC the component builds in instead of creating one."""

    id: pulumi.Input[str]
    internet_gateway_id: pulumi.Input[str] | None = None
    """The VPC's internet gateway, if it has one (a VPC holds at most one); otherwise the
    component creates one for the gateway's public subnets."""


@dataclass(frozen=True, kw_only=True)
class AwsSpokeNetworkArgs:
    region: pulumi.Input[str]
    """The AWS region (the gateway's ``vpc_reg``)."""
    name_prefix: str
    """Prefixes the ``Name`` tags, which the console shows account-wide."""
    gateway: GatewaySettings
    """The Aviatrix spoke gateway placed in ``gateway_subnet_cidr``."""
    gateway_subnet_cidr: pulumi.Input[str]
    """The gateway's public subnet (the gateway is told its CIDR, even when it exists)."""
    agent_subnet_cidr: pulumi.Input[str]
    """The workload subnet (cluster nodes), in the first zone."""
    availability_zones: tuple[pulumi.Input[str], pulumi.Input[str]]
    """Zone of the gateway and first workload subnets, then of the HA gateway and
    second-zone workload subnets."""
    cidr: pulumi.Input[str] | None = None
    """The VPC's CIDR when the component creates it; unused with ``existing_vpc``."""
    existing_vpc: ExistingVpc | None = None
    ha_gateway_subnet_cidr: pulumi.Input[str] | None = None
    """The HA gateway's public subnet, in the second zone."""
    pod_subnet_cidr: pulumi.Input[str] | None = None
    """Pod addresses when separate from the nodes (EKS custom networking), first zone."""
    ha_agent_subnet_cidr: pulumi.Input[str] | None = None
    """The workload (node) subnet in the second zone: an EKS cluster needs subnets in two
    zones. Routed through the same egress table as ``agent_subnet_cidr``."""
    ha_pod_subnet_cidr: pulumi.Input[str] | None = None
    """The pod subnet in the second zone; with a pod subnet and a second-zone node subnet,
    required (EKS custom networking takes a pod subnet in every zone its nodes run in)."""
    existing_subnet_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Subnets that exist already, by role (``aviatrix-gateway``, ``aviatrix-gateway-ha``,
    ``agents``, ``agents-ha``, ``pods``, ``pods-ha``): associated with the component's route
    tables, not created."""
    protect: bool = True
    """``protect`` the VPC, subnets, route tables and gateway (a stack protects production)."""
    tags: Mapping[str, str] = field(default_factory=dict)


class AwsSpokeNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    gateway: SpokeGateway
    route_table: aws.ec2.RouteTable
    agent_subnet_id: pulumi.Output[str]
    ha_agent_subnet_id: pulumi.Output[str] | None
    agent_subnet_ids: pulumi.Output[list[str]]
    """The workload (node) subnets, first zone first: what an EKS cluster and its node
    groups take as ``subnetIds``."""
    pod_subnet_id: pulumi.Output[str] | None
    ha_pod_subnet_id: pulumi.Output[str] | None
    pod_subnet_ids: pulumi.Output[list[str]] | None
    """The pod subnets, first zone first (one ENIConfig each), when pods have their own."""
    gateway_private_ip: pulumi.Output[str]

    def __init__(
        self, name: str, args: AwsSpokeNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self._name = name
        self._args = args
        self._check_zones()
        self.vpc_id = self._vpc()
        self.gateway = self._gateway()
        self.gateway_private_ip = self.gateway.private_ip
        self.route_table = self._route_table()
        zone_a, zone_b = args.availability_zones
        self.agent_subnet_id = self._workload_subnet(
            naming.AGENT_SUBNET, args.agent_subnet_cidr, zone_a
        )
        self.ha_agent_subnet_id = self._optional(
            naming.HA_AGENT_SUBNET, args.ha_agent_subnet_cidr, zone_b
        )
        self.pod_subnet_id = self._optional(naming.POD_SUBNET, args.pod_subnet_cidr, zone_a)
        self.ha_pod_subnet_id = self._optional(
            naming.HA_POD_SUBNET, args.ha_pod_subnet_cidr, zone_b
        )
        self.agent_subnet_ids = subnet_ids(self.agent_subnet_id, self.ha_agent_subnet_id)
        self.pod_subnet_ids = (
            subnet_ids(self.pod_subnet_id, self.ha_pod_subnet_id) if self.pod_subnet_id else None
        )
        own: dict[str, pulumi.Input[Any]] = {
            "vpcId": self.vpc_id,
            "routeTableId": self.route_table.id,
        }
        if self.ha_agent_subnet_id is not None:
            own["haAgentSubnetId"] = self.ha_agent_subnet_id
        if self.ha_pod_subnet_id is not None:
            own["haPodSubnetId"] = self.ha_pod_subnet_id
        self.register_outputs(
            network_outputs(
                own,
                self.agent_subnet_ids,
                self.agent_subnet_id,
                self.gateway_private_ip,
                pod=self.pod_subnet_id,
                pod_subnet_ids=self.pod_subnet_ids,
            )
        )

    def _declared(self, role: str, cidr: pulumi.Input[str] | None) -> bool:
        return cidr is not None or role in self._args.existing_subnet_ids

    def _check_zones(self) -> None:
        """Nothing half-done: pods get addresses in their node's zone (an ENIConfig's subnet
        must be in the node's zone), so pod subnets come in every zone nodes run in, or none."""
        args = self._args
        pods = self._declared(naming.POD_SUBNET, args.pod_subnet_cidr)
        ha_nodes = self._declared(naming.HA_AGENT_SUBNET, args.ha_agent_subnet_cidr)
        ha_pods = self._declared(naming.HA_POD_SUBNET, args.ha_pod_subnet_cidr)
        if ha_pods and not (pods and ha_nodes):
            raise ValueError(
                "AwsSpokeNetworkArgs: a second-zone pod subnet (ha_pod_subnet_cidr) needs a "
                "pod subnet in the first zone and a second-zone node subnet (ha_agent_subnet_cidr)"
            )
        if pods and ha_nodes and not ha_pods:
            raise ValueError(
                "AwsSpokeNetworkArgs: nodes in two zones with their own pod subnet need one in "
                "each zone: give ha_pod_subnet_cidr (or existing_subnet_ids['pods-ha'])"
            )

    def _optional(
        self, role: str, cidr: pulumi.Input[str] | None, zone: pulumi.Input[str]
    ) -> pulumi.Output[str] | None:
        """A workload subnet the spoke may do without: declared when given a CIDR or an id."""
        if not self._declared(role, cidr):
            return None
        return self._workload_subnet(role, cidr, zone)

    def _vpc(self) -> pulumi.Output[str]:
        args = self._args
        if args.existing_vpc is not None:
            return pulumi.Output.from_input(args.existing_vpc.id)
        if args.cidr is None:
            raise ValueError("AwsSpokeNetworkArgs: give cidr, or existing_vpc")
        vpc = aws.ec2.Vpc(
            f"{self._name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=self._tagged("spoke"),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        vpc_id: pulumi.Output[str] = vpc.id
        return vpc_id

    def _internet_gateway(self) -> pulumi.Input[str]:
        existing = self._args.existing_vpc
        if existing is not None and existing.internet_gateway_id is not None:
            return existing.internet_gateway_id
        igw = aws.ec2.InternetGateway(
            f"{self._name}-igw",
            vpc_id=self.vpc_id,
            tags=self._tagged("igw"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        igw_id: pulumi.Output[str] = igw.id
        return igw_id

    def _subnet(
        self, role: str, cidr: pulumi.Input[str] | None, zone: pulumi.Input[str], **opts: object
    ) -> pulumi.Output[str]:
        """A subnet of the spoke, by role: the existing one, or a new one."""
        existing = self._args.existing_subnet_ids.get(role)
        if existing is not None:
            return pulumi.Output.from_input(existing)
        if cidr is None:
            raise ValueError(f"AwsSpokeNetworkArgs: subnet {role!r} needs a CIDR or an id")
        subnet = aws.ec2.Subnet(
            f"{self._name}-{role}",
            vpc_id=self.vpc_id,
            cidr_block=cidr,
            availability_zone=zone,
            tags=self._tagged(role),
            opts=pulumi.ResourceOptions(parent=self, protect=self._args.protect, **opts),  # type: ignore[arg-type]
        )
        subnet_id: pulumi.Output[str] = subnet.id
        return subnet_id

    def _gateway(self) -> SpokeGateway:
        """Public subnets with an internet route (Aviatrix gateways need one), then the gateway."""
        args = self._args
        public_rt = aws.ec2.RouteTable(
            f"{self._name}-public-rt",
            vpc_id=self.vpc_id,
            routes=[{"cidr_block": DEFAULT_ROUTE, "gateway_id": self._internet_gateway()}],
            tags=self._tagged("public-rt"),
            # The gateway's own way out: losing it takes every workload's egress with it.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        zone_a, zone_b = args.availability_zones
        public = [(naming.GATEWAY_SUBNET, args.gateway_subnet_cidr, zone_a)]
        if args.ha_gateway_subnet_cidr is not None:
            public.append((naming.HA_GATEWAY_SUBNET, args.ha_gateway_subnet_cidr, zone_b))
        gateway_ready: list[pulumi.Resource] = [
            aws.ec2.RouteTableAssociation(
                f"{self._name}-{role}-rt",
                subnet_id=self._subnet(role, cidr, zone),
                route_table_id=public_rt.id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for role, cidr, zone in public
        ]
        return SpokeGateway(
            f"{self._name}-gateway",
            args.gateway.spoke_gateway_args(
                cloud=Cloud.AWS,
                region=args.region,
                vpc_id=self.vpc_id,
                subnet_cidr=args.gateway_subnet_cidr,
                ha_subnet_cidr=args.ha_gateway_subnet_cidr,
                tags=args.tags,
                depends_on=gateway_ready,
                protect=args.protect,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _route_table(self) -> aws.ec2.RouteTable:
        """The private subnets' table: 0.0.0.0/0 to the gateway's interface (found by its private
        IP), or no default route at all (fail-closed) while the controller programs routes."""
        args = self._args
        controller = args.gateway.routing is Routing.CONTROLLER
        routes: list[aws.ec2.RouteTableRouteArgs] = []
        if not controller:
            filters = pulumi.Output.all(self.gateway_private_ip, self.vpc_id).apply(
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
            f"{self._name}-egress-rt",
            vpc_id=self.vpc_id,
            routes=routes,
            tags=self._tagged("egress-rt"),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                ignore_changes=["routes"] if controller else None,
            ),
        )

    def _tagged(self, role: str) -> dict[str, str]:
        # Name tags are account-wide in the console, so they carry the stack prefix.
        return {**self._args.tags, "Name": f"{self._args.name_prefix}-{role}"}

    def _workload_subnet(
        self, role: str, cidr: pulumi.Input[str] | None, zone: pulumi.Input[str]
    ) -> pulumi.Output[str]:
        subnet_id = self._subnet(
            role, cidr, zone, replace_on_changes=["cidrBlock"], delete_before_replace=True
        )
        # Associated in the same `up`: the association is what gives the subnet its only way out.
        aws.ec2.RouteTableAssociation(
            f"{self._name}-{role}-rt",
            subnet_id=subnet_id,
            route_table_id=self.route_table.id,
            opts=pulumi.ResourceOptions(parent=self, protect=self._args.protect),
        )
        return subnet_id
