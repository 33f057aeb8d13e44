"""Private paths read back from the resources a preview declares.

For each dependency of the agents: the private endpoint connected to it, that endpoint's
subnet, the zones its DNS zone group registers in, and which of those are linked to the spoke
VNet. Resources are linked through property dependencies (what CrossGuard exposes, known at
preview even for resources not yet created) and, for resources the stack does not declare
(an existing zone, a dependency created elsewhere), through the ids in their properties.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import naming
from ..core.analysis import PrivatePath
from ..core.privatelink import Dependency, same_resource
from . import resources as res
from .resources import Resource, known


@dataclass(frozen=True, slots=True)
class PrivatePaths:
    paths: tuple[PrivatePath, ...]
    spoke_cidr: str | None
    """The spoke VNet's range (the VNet the agent subnet is in); None when not declared."""
    endpoint_urns: Mapping[str, str]
    """Dependency key -> the URN of its endpoint, for reporting."""


class _Graph:
    def __init__(self, resources: Sequence[Resource]) -> None:
        self.by_urn = {r.urn: r for r in resources}
        self.of_type: dict[str, list[Resource]] = {}
        for r in resources:
            self.of_type.setdefault(r.type, []).append(r)

    def linked(self, r: Resource, key: str, value: Any) -> list[Resource]:
        """What ``r``'s property ``key`` came from: its property dependencies, or else the
        declared resources whose id is the value."""
        found = [self.by_urn[u] for u in r.deps.get(key, ()) if u in self.by_urn]
        if found:
            return found
        ids = {str(v) for v in _ids(value)}
        return [x for x in self.by_urn.values() if known(x.props.get("id")) in ids]

    def spoke(self) -> Resource | None:
        agents = next(
            (
                r
                for r in self.of_type.get(res.AZ_SUBNET, [])
                if res.subnet_role(r) == naming.AGENT_SUBNET
            ),
            None,
        )
        if agents is not None:
            hits = self.linked(agents, "virtualNetworkName", None)
            vnets = [v for v in hits if v.type == res.AZ_VNET]
            if vnets:
                return vnets[0]
        vnets = self.of_type.get(res.AZ_VNET, [])
        return vnets[0] if len(vnets) == 1 else None


def _same_known(a: Any, b: Any) -> bool:
    """Equal, and both known: an unknown name links nothing (the dependency links it)."""
    return known(a) is not None and known(b) is not None and a == b


def _ids(value: Any) -> Iterable[Any]:
    if isinstance(value, Mapping):
        if "id" in value:
            yield value["id"]
        for v in value.values():
            if isinstance(v, Mapping | list):
                yield from _ids(v)
    elif isinstance(value, list):
        for v in value:
            yield from _ids(v)
    elif isinstance(value, str):
        yield value


def _connections(endpoint: Resource) -> list[Mapping[str, Any]]:
    return list(endpoint.props.get("privateLinkServiceConnections") or [])


def _targets(g: _Graph, endpoint: Resource, dep: Dependency) -> bool:
    for conn in _connections(endpoint):
        target = conn.get("privateLinkServiceId")
        if dep.resource_id is not None:
            if isinstance(target, str) and same_resource(target, dep.resource_id):
                return True
            continue
        # The stack's own Foundry account: an output at preview, linked by dependency.
        for r in g.linked(endpoint, "privateLinkServiceConnections", target):
            name = known(r.props.get("accountName")) or r.name
            if r.type == res.FOUNDRY_ACCOUNT and name == dep.name:
                return True
        if isinstance(target, str) and target.lower().endswith(f"/accounts/{dep.name.lower()}"):
            return True
    return False


def _zones(g: _Graph, group: Resource) -> list[str]:
    """The zones a DNS zone group registers in: by dependency, or by the zone ids' last
    segment (``.../privateDnsZones/<zone>``) for zones the stack does not declare."""
    declared = [
        str(known(z.props.get("privateZoneName")) or z.name)
        for z in g.linked(group, "privateDnsZoneConfigs", None)
        if z.type == res.PRIVATE_ZONE
    ]
    if declared:
        return declared
    out = []
    for config in group.props.get("privateDnsZoneConfigs") or []:
        zone_id = config.get("privateDnsZoneId")
        if isinstance(zone_id, str):
            out.append(zone_id.rstrip("/").rsplit("/", 1)[-1].lower())
    return out


def _linked_zones(g: _Graph, spoke: Resource | None) -> list[str]:
    """Zones linked to the spoke VNet."""
    out: list[str] = []
    for link in g.of_type.get(res.ZONE_LINK, []):
        if spoke is None or spoke not in g.linked(link, "virtualNetwork", None):
            continue
        zones = [
            str(known(z.props.get("privateZoneName")) or z.name)
            for z in g.linked(link, "privateZoneName", None)
            if z.type == res.PRIVATE_ZONE
        ]
        out += zones or [str(known(link.props.get("privateZoneName")) or "")]
    return out


def _path(g: _Graph, dep: Dependency, endpoint: Resource, spoke: Resource | None) -> PrivatePath:
    subnets = [
        s
        for s in g.linked(endpoint, "subnet", endpoint.props.get("subnet"))
        if s.type == res.AZ_SUBNET
    ]
    groups = [
        zg
        for zg in g.of_type.get(res.DNS_ZONE_GROUP, [])
        if endpoint in g.linked(zg, "privateEndpointName", None)
        or _same_known(
            zg.props.get("privateEndpointName"), endpoint.props.get("privateEndpointName")
        )
    ]
    zones = [z for zg in groups for z in _zones(g, zg)]
    linked = _linked_zones(g, spoke)
    return PrivatePath(
        dependency=dep,
        endpoint=str(known(endpoint.props.get("privateEndpointName")) or endpoint.name),
        group_ids=tuple(str(x) for c in _connections(endpoint) for x in c.get("groupIds") or ()),
        subnet_cidr=next((c for s in subnets if isinstance(c := res.cidr_of(s.props), str)), None),
        zones=tuple(dict.fromkeys(zones)),
        linked_zones=tuple(z for z in dict.fromkeys(linked) if z in zones),
    )


def private_paths(
    resources: Sequence[Resource], dependencies: Sequence[Dependency]
) -> PrivatePaths:
    g = _Graph(resources)
    spoke = g.spoke()
    prefixes = (
        ((spoke.props.get("addressSpace") or {}).get("addressPrefixes") or []) if spoke else []
    )
    paths, urns = [], {}
    for dep in dependencies:
        endpoint = next(
            (e for e in g.of_type.get(res.PRIVATE_ENDPOINT, []) if _targets(g, e, dep)), None
        )
        if endpoint is None:
            paths.append(PrivatePath(dependency=dep))
            continue
        urns[dep.key] = endpoint.urn
        paths.append(_path(g, dep, endpoint, spoke))
    return PrivatePaths(tuple(paths), str(prefixes[0]) if prefixes else None, urns)
