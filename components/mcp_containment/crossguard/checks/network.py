"""Network checks: the lock a capability host is bound to, the workloads' default route, and
protection of what containment depends on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...config import naming
from ...core.model import DEFAULT_ROUTE
from .. import resources as res
from ..resources import Resource

_LOCKED_HOPS = (
    ("nextHopType", "UDR next hop type"),
    ("nextHopIpAddress", "UDR next hop (gateway private IP)"),
)


def check_subnet_immutability(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Agent subnet, UDR, gateway IP and capability-host subnet equal the committed lock."""
    lock = config.get("lock") or {}
    if not lock or lock.get("teardownAcknowledged"):
        return
    if res.subnet_role(r) == naming.AGENT_SUBNET:
        cidr = res.cidr_of(r.props)
        if cidr != lock.get("agentSubnetCidr"):
            yield _changed("agent subnet CIDR", lock.get("agentSubnetCidr"), cidr)
    if r.type in (res.AZ_ROUTE_TABLE, res.AZ_ROUTE):
        yield from _locked_routes(r, lock)
    if r.type == res.FOUNDRY_ACCOUNT and lock.get("agentSubnetId"):
        for inj in (r.props.get("properties") or {}).get("networkInjections") or []:
            if inj.get("subnetArmId") != lock["agentSubnetId"]:
                yield _changed("agent subnet id", lock["agentSubnetId"], inj.get("subnetArmId"))
    if r.type in res.CAPABILITY_HOST_TYPES and lock.get("capabilityHostSubnet"):
        subnet = res.find_key(r.props, "customerSubnet") or res.find_key(r.props, "subnetArmId")
        if subnet != lock["capabilityHostSubnet"]:
            yield _changed("capability host subnet", lock["capabilityHostSubnet"], subnet)


def _locked_routes(r: Resource, lock: Mapping[str, Any]) -> Iterator[str]:
    want = next(
        (x for x in lock.get("routes") or () if x.get("addressPrefix") == DEFAULT_ROUTE), None
    )
    if want is None:
        return
    for route in res.routes_of(r):
        if route.get("addressPrefix") != DEFAULT_ROUTE:
            continue
        for key, label in _LOCKED_HOPS:
            # A lock written before the first deployment does not know the gateway's address
            # yet: it pins what it knows, and `containment lock --from-outputs` fills the rest.
            if want.get(key) is None and key == "nextHopIpAddress":
                continue
            if (route.get(key) or None) != (want.get(key) or None):
                yield _changed(label, want.get(key), route.get(key))
        gateway_ip = lock.get("gatewayPrivateIp")
        if gateway_ip and route.get("nextHopIpAddress") not in (None, gateway_ip):
            yield _changed("gateway private IP", gateway_ip, route.get("nextHopIpAddress"))


def _changed(field_name: str, locked: Any, planned: Any) -> str:
    return (
        f"{field_name} differs from the network lock: locked {locked!r}, planned {planned!r}. "
        "The Foundry capability host cannot be updated in place; this change means a full "
        "teardown. Record teardownAcknowledged in the lock to proceed deliberately."
    )


def check_routing(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    """Every workload subnet's route table sends 0.0.0.0/0 to the gateway (or fails closed).

    Routes may be inline on the table or separate resources, on Azure and AWS alike; tables
    and subnets are linked through property dependencies, never through ids, which a preview
    may not know yet.
    """
    default_routes = _default_routes_by_table(resources)
    subnet_table: dict[str, str] = {}
    for r in resources:
        if r.type == res.AZ_SUBNET and r.deps.get("routeTable"):
            subnet_table[r.urn] = r.deps["routeTable"][0]
        if r.type == res.AWS_RT_ASSOC and r.deps.get("subnetId") and r.deps.get("routeTableId"):
            subnet_table[r.deps["subnetId"][0]] = r.deps["routeTableId"][0]
    for r in resources:
        role = res.subnet_role(r)
        if role not in res.WORKLOAD_ROLES:
            continue
        table_urn = subnet_table.get(r.urn)
        if table_urn is None:
            yield (
                f"workload subnet {role!r} has no route table of this stack: its default "
                "route would bypass the spoke gateway",
                r.urn,
            )
            continue
        routes = default_routes.get(table_urn, [])
        if not routes:
            yield (f"the route table of workload subnet {role!r} has no 0.0.0.0/0 route", r.urn)
        for route in routes:
            if not _via_gateway(route):
                yield (
                    f"the default route of workload subnet {role!r} does not go through the "
                    f"spoke gateway: {dict(route)}",
                    r.urn,
                )


def _default_routes_by_table(resources: Sequence[Resource]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for r in resources:
        inline = r.type in (res.AZ_ROUTE_TABLE, res.AWS_ROUTE_TABLE)
        for route in res.routes_of(r):
            if route.get("addressPrefix") != DEFAULT_ROUTE:
                continue
            tables = (
                [r.urn]
                if inline
                else [*r.deps.get("routeTableName", ()), *r.deps.get("routeTableId", ())]
            )
            for table in tables:
                out.setdefault(table, []).append(route)
    return out


def _via_gateway(route: Mapping[str, Any]) -> bool:
    hop = route.get("nextHopType")
    if hop is not None:
        # VirtualAppliance to the gateway, or fail-closed (None) while the controller programs it.
        return hop == "None" or (hop == "VirtualAppliance" and bool(route.get("nextHopIpAddress")))
    # AWS: through the gateway's ENI or instance, never an internet or NAT gateway.
    if route.get("gatewayId") or route.get("natGatewayId") or route.get("egressOnlyGatewayId"):
        return False
    return bool(route.get("networkInterfaceId") or route.get("instanceId"))


_GUARDED = frozenset(
    {res.AZ_ROUTE_TABLE, res.AZ_ROUTE, res.AWS_ROUTE_TABLE, res.AWS_ROUTE, res.SPOKE_GATEWAY}
)


def check_protected(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """What containment depends on is protected, in a stack that protects (production by
    default): elsewhere teardown is routine and protection only gets in its way."""
    if not config.get("protect", True):
        return
    guarded = (
        res.subnet_role(r) == naming.AGENT_SUBNET
        or r.type in _GUARDED
        or r.type in res.CAPABILITY_HOST_TYPES
    )
    if guarded and not r.protect:
        yield (
            "must be protected (protect=True): deleting it breaks egress containment or "
            "forces a Foundry teardown"
        )
