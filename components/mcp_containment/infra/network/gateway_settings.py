"""What a spoke network needs to know to place its Aviatrix spoke gateway, and the outputs
every spoke network registers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from ...config.schema import Cloud, Routing
from ..aviatrix.gateway import SpokeGatewayArgs


@dataclass(frozen=True, kw_only=True)
class GatewaySettings:
    account_name: pulumi.Input[str]
    """The controller's access account for the subscription or AWS account."""
    gateway_name: pulumi.Input[str]
    """The gateway's name on the controller (controller-wide: carry the stack's prefix)."""
    size: pulumi.Input[str]
    """Azure VM size (``Standard_D3_v2``) or EC2 instance type (``c5.xlarge``)."""
    ha: bool = False
    """Deploy an HA pair (Azure: in the same subnet; AWS: in ``ha_gateway_subnet_cidr``)."""
    transit_gateway: pulumi.Input[str] | None = None
    """Attach the spoke to this transit gateway."""
    routing: Routing = Routing.UDR
    """``udr``: workload default routes point at the gateway (lockable). ``controller``: they
    start fail-closed and the controller programs them; drift on them is ignored."""

    def spoke_gateway_args(
        self,
        *,
        cloud: Cloud,
        region: pulumi.Input[str],
        vpc_id: pulumi.Input[str],
        subnet_cidr: pulumi.Input[str],
        ha_subnet_cidr: pulumi.Input[str] | None,
        tags: Mapping[str, pulumi.Input[str]],
        depends_on: Sequence[pulumi.Resource],
        protect: bool,
    ) -> SpokeGatewayArgs:
        """The gateway's arguments once its network has placed it (``ha_subnet_cidr`` is used
        only for an HA pair)."""
        return SpokeGatewayArgs(
            cloud=cloud,
            account_name=self.account_name,
            gateway_name=self.gateway_name,
            region=region,
            size=self.size,
            vpc_id=vpc_id,
            subnet_cidr=subnet_cidr,
            ha_subnet_cidr=ha_subnet_cidr if self.ha else None,
            transit_gateway=self.transit_gateway,
            tags=dict(tags),
            depends_on=depends_on,
            protect=protect,
        )


def subnet_ids(*ids: pulumi.Input[str] | None) -> pulumi.Output[list[str]]:
    """Subnet ids in zone order as one list output: what an EKS cluster or a node group takes
    (``subnetIds``), and the same shape on a regional Azure VNet (one id)."""
    return pulumi.Output.all(*(i for i in ids if i is not None)).apply(list)


def network_outputs(
    own: Mapping[str, pulumi.Input[Any]],
    agent_subnet_ids: pulumi.Input[list[str]],
    agent_subnet_id: pulumi.Input[str],
    gateway_private_ip: pulumi.Input[str],
    *,
    pod: pulumi.Input[str] | None = None,
    pod_subnet_ids: pulumi.Input[list[str]] | None = None,
    private_endpoints: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[Any]]:
    """The outputs a spoke network registers, the same keys on either cloud (``own`` adds the
    cloud's: the VNet or VPC, and on AWS the second zone's subnets)."""
    outputs = {
        **own,
        "agentSubnetId": agent_subnet_id,
        "agentSubnetIds": agent_subnet_ids,
        "gatewayPrivateIp": gateway_private_ip,
    }
    if pod is not None:
        outputs["podSubnetId"] = pod
    if pod_subnet_ids is not None:
        outputs["podSubnetIds"] = pod_subnet_ids
    if private_endpoints is not None:
        outputs["privateEndpointSubnetId"] = private_endpoints
    return outputs
