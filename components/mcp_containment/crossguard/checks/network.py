"""Network checks: the lock a capability host is bound to, the workloads' default route, and
protection of what containment depends on.

At preview, what a resource being created or replaced will get (a subnet id, the gateway's
address, an interface id) is unknown. Against a lock, an unknown cannot be proven equal: it is
a change. For routing, the next hop must come from the spoke gateway: its known address, or a
value the engine derives from the gateway resource (a property dependency) while unknown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...config import naming
from ...core.model import DEFAULT_ROUTE
from .. import resources as res
from ..resources import Resource, Unknown, is_unknown

_LOCKED_TYPES = frozenset(
    {res.AZ_ROUTE_TABLE, res.AZ_ROUTE, res.FOUNDRY_ACCOUNT, *res.CAPABILITY_HOST_TYPES}
)
_LOCKED_HOPS = (
    ("nextHopType", "UDR next hop type"),
    ("nextHopIpAddress", "UDR next hop (gateway private IP)"),
)


_LOCKED_SUBNETS = {
    naming.AGENT_SUBNET: ("agent subnet CIDR", "agentSubnetCidr"),
    naming.HA_AGENT_SUBNET: ("second-zone agent subnet CIDR", "haAgentSubnetCidr"),
}


def check_subnet_immutability(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Agent subnets (both zones), UDR, gateway IP and capability-host subnet equal the
    committed lock."""
    locked_subnet = _LOCKED_SUBNETS.get(res.subnet_role(r) or "")
    if locked_subnet is None and r.type not in _LOCKED_TYPES:
        return
    lock = config.get("lock") or {}
    if not lock or lock.get("teardownAcknowledged"):
        return
    if locked_subnet is not None:
        label, key = locked_subnet
        yield from _against_lock(label, lock.get(key), res.cidr_of(r.props))
    if r.type in (res.AZ_ROUTE_TABLE, res.AZ_ROUTE):
        yield from _locked_routes(r, lock)
    if r.type == res.FOUNDRY_ACCOUNT and lock.get("agentSubnetId"):
        for inj in (r.props.get("properties") or {}).get("networkInjections") or []:
            yield from _against_lock(
                "agent subnet id", lock["agentSubnetId"], inj.get("subnetArmId")
            )
    if r.type in res.CAPABILITY_HOST_TYPES and lock.get("capabilityHostSubnet"):
        subnet = res.find_key(r.props, "customerSubnet")
        if subnet is None:
            subnet = res.find_key(r.props, "subnetArmId")
        yield from _against_lock("capability host subnet", lock["capabilityHostSubnet"], subnet)


def _against_lock(label: str, locked: Any, planned: Any) -> Iterator[str]:
    if locked is None:
        return
    if is_unknown(planned) or (planned or None) != locked:
        yield _changed(label, locked, planned)


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
            planned = route.get(key)
            if is_unknown(planned) or (planned or None) != (want.get(key) or None):
                yield _changed(label, want.get(key), planned)
        gateway_ip = lock.get("gatewayPrivateIp")
        hop = route.get("nextHopIpAddress")
        if gateway_ip and (is_unknown(hop) or hop not in (None, gateway_ip)):
            yield _changed("gateway private IP", gateway_ip, hop)


def _changed(field_name: str, locked: Any, planned: Any) -> str:
    if isinstance(planned, Unknown):
        what = (
            f"{field_name} is not known until apply (what it comes from is being created or "
            f"replaced), so it cannot stay the locked {locked!r}."
        )
    else:
        what = (
            f"{field_name} differs from the network lock: locked {locked!r}, planned {planned!r}."
        )
    return (
        f"{what} The Foundry capability host cannot be updated in place; this change means a "
        "full teardown. Record teardownAcknowledged in the lock to proceed deliberately."
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
    gateways = _gateways(resources)
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
        for route, source in routes:
            if not _via_gateway(route, source, gateways):
                yield (
                    f"the default route of workload subnet {role!r} does not go through the "
                    f"spoke gateway: {dict(sorted(route.items()))}",
                    r.urn,
                )


def _gateways(resources: Sequence[Resource]) -> tuple[frozenset[str], frozenset[str]]:
    """The spoke gateways (resources and components) and their known private addresses."""
    urns: set[str] = set()
    addresses: set[str] = set()
    for r in resources:
        if r.type in (res.SPOKE_GATEWAY, res.SPOKE_GATEWAY_COMPONENT):
            urns.add(r.urn)
            for key in ("privateIp", "haPrivateIp"):
                value = r.props.get(key)
                if isinstance(value, str) and value:
                    addresses.add(value)
    return frozenset(urns), frozenset(addresses)


def _default_routes_by_table(
    resources: Sequence[Resource],
) -> dict[str, list[tuple[Mapping[str, Any], Resource]]]:
    out: dict[str, list[tuple[Mapping[str, Any], Resource]]] = {}
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
                out.setdefault(table, []).append((route, r))
    return out


def _set(value: Any) -> bool:
    return is_unknown(value) or (value is not None and value != "")


def _via_gateway(
    route: Mapping[str, Any], source: Resource, gateways: tuple[frozenset[str], frozenset[str]]
) -> bool:
    """The route's next hop is the spoke gateway: its known address, or (unknown at preview)
    a value derived from it; or the route fails closed."""
    urns, addresses = gateways
    from_gateway = any(u in urns for deps in source.deps.values() for u in deps)
    hop = route.get("nextHopType")
    if hop is not None:
        # Azure: VirtualAppliance to the gateway, or None (fail-closed) while the controller
        # programs the routes.
        if hop == "None":
            return True
        address = route.get("nextHopIpAddress")
        if hop != "VirtualAppliance" or not _set(address):
            return False
        return from_gateway if is_unknown(address) else address in addresses
    # AWS: through the gateway's interface or instance, never an internet or NAT gateway.
    if any(_set(route.get(k)) for k in ("gatewayId", "natGatewayId", "egressOnlyGatewayId")):
        return False
    targets = [t for t in (route.get("networkInterfaceId"), route.get("instanceId")) if _set(t)]
    # The interface is looked up by the gateway's address; before the gateway exists the
    # lookup cannot run and its unknown result carries no dependency (pulumi/runtime/invoke.py
    # returns early on unknown arguments). In the library's own table it is the gateway's;
    # once known, the dependency proves it.
    return bool(targets) and (from_gateway or all(is_unknown(t) for t in targets))


_GUARDED = frozenset(
    {res.AZ_ROUTE_TABLE, res.AZ_ROUTE, res.AWS_ROUTE_TABLE, res.AWS_ROUTE, res.SPOKE_GATEWAY}
)


def check_protected(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """What containment depends on is protected, in a stack that protects (production by
    default): elsewhere teardown is routine and protection only gets in its way."""
    if not config.get("protect", True):
        return
    guarded = (
        res.subnet_role(r) in res.AGENT_ROLES
        or r.type in _GUARDED
        or r.type in res.CAPABILITY_HOST_TYPES
    )
    if guarded and not r.protect:
        yield (
            "must be protected (protect=True): deleting it breaks egress containment or "
            "forces a Foundry teardown"
        )
