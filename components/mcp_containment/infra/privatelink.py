"""``PrivateEndpoints``: private endpoints, their ``privatelink.*`` zones linked to the spoke,
and each endpoint's DNS zone group.

What makes a dependency private is the chain, not the endpoint alone: the endpoint holds an
address in the private-endpoint subnet; its zone group writes that address into every zone the
service's names CNAME into; each zone is linked to the spoke VNet, so a workload resolving the
public name gets the private address. Break any link and the name resolves publicly, the call
follows 0.0.0.0/0 into the gateway, and the default deny cuts it (or someone widens the
ruleset). The zones are created here, one per name, shared by every endpoint that needs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network, privatedns

from ..core.privatelink import PrivateLinkService

COMPONENT = "mcp-containment:network:PrivateEndpoints"
ZONE_LOCATION = "global"
"""Private DNS zones and their links are global resources (Microsoft's own templates)."""


@dataclass(frozen=True, kw_only=True)
class PrivateEndpointTarget:
    key: str
    """Names the endpoint and its children (``<name>-<key>``); unique within the component."""
    service: PrivateLinkService
    resource_id: pulumi.Input[str]
    """The ARM id of the resource the endpoint connects to (an output when created here)."""


@dataclass(frozen=True, kw_only=True)
class PrivateEndpointsArgs:
    name_prefix: str
    """Prefixes the Azure names of the endpoints and their interfaces (``<prefix>-<key>-pe``)."""
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    """The private-endpoint subnet (no route table: nothing in it initiates traffic)."""
    virtual_network_id: pulumi.Input[str]
    """The spoke VNet the zones are linked to: where the workloads resolve names."""
    targets: Sequence[PrivateEndpointTarget]
    tags: Mapping[str, str] = field(default_factory=dict)


class PrivateEndpoints(pulumi.ComponentResource):
    zones: dict[str, privatedns.PrivateZone]
    links: dict[str, privatedns.VirtualNetworkLink]
    endpoints: dict[str, network.PrivateEndpoint]
    zone_groups: dict[str, network.PrivateDnsZoneGroup]

    def __init__(
        self, name: str, args: PrivateEndpointsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        keys = [t.key for t in args.targets]
        if len(set(keys)) != len(keys):
            raise ValueError(f"private endpoint keys must be unique: {keys}")
        self.zones, self.links = {}, {}
        for zone in dict.fromkeys(z for t in args.targets for z in t.service.zones):
            self._zone(name, zone, args)
        self.endpoints, self.zone_groups = {}, {}
        for target in args.targets:
            self._endpoint(name, target, args)
        self.register_outputs(
            {
                "endpointIds": {k: e.id for k, e in self.endpoints.items()},
                "zoneIds": {z: r.id for z, r in self.zones.items()},
            }
        )

    def _zone(self, name: str, zone: str, args: PrivateEndpointsArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        self.zones[zone] = privatedns.PrivateZone(
            f"{name}-{zone}",
            private_zone_name=zone,
            resource_group_name=args.resource_group_name,
            location=ZONE_LOCATION,
            tags=dict(args.tags),
            opts=child,
        )
        self.links[zone] = privatedns.VirtualNetworkLink(
            f"{name}-{zone}-link",
            private_zone_name=self.zones[zone].name,
            virtual_network_link_name=f"{args.name_prefix}-spoke",
            resource_group_name=args.resource_group_name,
            location=ZONE_LOCATION,
            # Resolution only: the spoke's VMs must not register records in a service zone.
            registration_enabled=False,
            virtual_network=privatedns.SubResourceArgs(id=args.virtual_network_id),
            tags=dict(args.tags),
            opts=child,
        )

    def _endpoint(
        self, name: str, target: PrivateEndpointTarget, args: PrivateEndpointsArgs
    ) -> None:
        azure_name = f"{args.name_prefix}-{target.key}-pe"
        endpoint = network.PrivateEndpoint(
            f"{name}-{target.key}",
            private_endpoint_name=azure_name,
            # Otherwise Azure appends a random suffix: a stable name keeps previews quiet.
            custom_network_interface_name=f"{azure_name}-nic",
            resource_group_name=args.resource_group_name,
            location=args.location,
            subnet=network.SubnetArgs(id=args.subnet_id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name=azure_name,
                    private_link_service_id=target.resource_id,
                    group_ids=[target.service.group_id],
                )
            ],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.endpoints[target.key] = endpoint
        self.zone_groups[target.key] = network.PrivateDnsZoneGroup(
            f"{name}-{target.key}-dns",
            private_endpoint_name=endpoint.name,
            private_dns_zone_group_name="default",
            resource_group_name=args.resource_group_name,
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(
                    name=zone.replace(".", "-"), private_dns_zone_id=self.zones[zone].id
                )
                for zone in target.service.zones
            ],
            # The records are written into the zones; resolving them needs the links too.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.links[z] for z in target.service.zones]
            ),
        )
