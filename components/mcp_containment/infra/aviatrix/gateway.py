"""``SpokeGateway``: the Aviatrix spoke gateway that sits in the egress path of a spoke.

Declares the gateway (optionally an HA pair), single-IP SNAT so the controller programs the
spoke's default route through it, and the optional attachment to a transit. The controller-wide
DCF objects are :class:`~mcp_containment.infra.aviatrix.dcf.DcfController`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from ...config.schema import Cloud
from . import provider as avx

COMPONENT = "mcp-containment:aviatrix:SpokeGateway"
CLOUD_TYPE = {Cloud.AWS: 1, Cloud.AZURE: 8}
"""Aviatrix ``cloud_type`` codes."""


@dataclass(frozen=True, kw_only=True)
class SpokeGatewayArgs:
    cloud: Cloud
    """Which cloud (the controller's ``cloud_type``)."""
    account_name: pulumi.Input[str]
    """The controller's access account for the subscription or AWS account."""
    gateway_name: pulumi.Input[str]
    """The gateway's name on the controller (controller-wide: carry the stack's prefix)."""
    region: pulumi.Input[str]
    """The region (``vpc_reg``): an Azure region or an AWS region code."""
    size: pulumi.Input[str]
    """Azure VM size or EC2 instance type."""
    vpc_id: pulumi.Input[str]
    """AWS: the VPC id. Azure: ``<vnet name>:<resource group>:<vnet guid>``."""
    subnet_cidr: pulumi.Input[str]
    """The gateway subnet (AWS: a public subnet)."""
    ha_subnet_cidr: pulumi.Input[str] | None = None
    """Set for an HA pair. Azure: the same gateway subnet (zone-redundant); AWS: a second
    public subnet in another AZ."""
    transit_gateway: pulumi.Input[str] | None = None
    """Attach the spoke to this transit gateway."""
    tags: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first (the gateway subnet and its route table association)."""
    protect: bool = True
    """``protect`` the gateway: the workload UDR and the network lock point at its address."""


class SpokeGateway(pulumi.ComponentResource):
    gateway: avx.SpokeGateway
    private_ip: pulumi.Output[str]
    ha_private_ip: pulumi.Output[str] | None
    gateway_name: pulumi.Input[str]
    attachment: avx.SpokeTransitAttachment | None

    def __init__(
        self, name: str, args: SpokeGatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        ha = args.ha_subnet_cidr is not None
        azure = args.cloud is Cloud.AZURE
        self.gateway_name = args.gateway_name
        self.gateway = avx.SpokeGateway(
            name,
            avx.SpokeGatewayArgs(
                cloud_type=CLOUD_TYPE[args.cloud],
                account_name=args.account_name,
                gw_name=args.gateway_name,
                vpc_id=args.vpc_id,
                vpc_reg=args.region,
                gw_size=args.size,
                subnet=args.subnet_cidr,
                zone="az-1" if azure and ha else None,
                ha_subnet=args.ha_subnet_cidr,
                ha_gw_size=args.size if ha else None,
                ha_zone="az-2" if azure and ha else None,
                single_ip_snat=True,
                tags=dict(args.tags) or None,
            ),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=list(args.depends_on),
                protect=args.protect,
            ),
        )
        self.private_ip = self.gateway.private_ip
        self.ha_private_ip = self.gateway.ha_private_ip if ha else None

        self.attachment = self._transit_attachment(name, args)

        outputs: dict[str, pulumi.Input[str]] = {
            "gatewayName": args.gateway_name,
            "privateIp": self.private_ip,
        }
        if self.ha_private_ip is not None:
            outputs["haPrivateIp"] = self.ha_private_ip
        self.register_outputs(outputs)

    def _transit_attachment(
        self, name: str, args: SpokeGatewayArgs
    ) -> avx.SpokeTransitAttachment | None:
        if args.transit_gateway is None:
            return None
        return avx.SpokeTransitAttachment(
            f"{name}-transit",
            avx.SpokeTransitAttachmentArgs(
                spoke_gw_name=args.gateway_name,
                transit_gw_name=args.transit_gateway,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.gateway]),
        )
