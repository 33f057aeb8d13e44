"""A stack's resources as Pulumi's state records them, and the order a destroy deletes them in.

``pulumi destroy`` deletes a resource only after everything that depends on it (explicit
``dependsOn``, property dependencies, children before their parent). :func:`deletion_order`
replays that rule on a state export (or on an offline capture of the same program), which is
how teardown decides what needs a phase of its own and how the tests check the order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LIBRARY_PREFIX = "mcp-containment:"
"""Type prefix of the library's components: a resource below one is the library's."""


@dataclass(frozen=True, slots=True)
class StateResource:
    urn: str
    type: str
    protect: bool = False
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> StateResource:
        """One entry of ``pulumi stack export``'s ``deployment.resources``."""
        return cls(
            urn=str(raw["urn"]),
            type=str(raw["type"]),
            protect=bool(raw.get("protect")),
            parent=raw.get("parent") or None,
            dependencies=tuple(raw.get("dependencies") or ()),
            property_dependencies={
                k: tuple(v) for k, v in (raw.get("propertyDependencies") or {}).items()
            },
            inputs=raw.get("inputs") or {},
        )

    @property
    def lineage(self) -> tuple[str, ...]:
        """The types of its ancestors and itself, from the URN (``a$b$type``)."""
        return tuple(self.urn.split("::")[2].split("$"))

    @property
    def library_owned(self) -> bool:
        return any(t.startswith(LIBRARY_PREFIX) for t in self.lineage[:-1])

    def must_precede(self) -> set[str]:
        """What this resource must be deleted before: everything it depends on."""
        deps = set(self.dependencies)
        for urns in self.property_dependencies.values():
            deps.update(urns)
        if self.parent:
            deps.add(self.parent)
        deps.discard(self.urn)
        return deps


def deletion_order(resources: Sequence[StateResource]) -> list[str]:
    """The URNs in the order a destroy deletes them: nothing before its dependents; among
    resources free at once, the most recently created first (state order is creation order)."""
    index = {r.urn: i for i, r in enumerate(resources)}
    dependents: dict[str, int] = {r.urn: 0 for r in resources}
    for r in resources:
        for d in r.must_precede():
            if d in dependents:
                dependents[d] += 1
    ready = [(-index[u], u) for u, n in dependents.items() if n == 0]
    heapq.heapify(ready)
    by_urn = {r.urn: r for r in resources}
    out: list[str] = []
    while ready:
        _, urn = heapq.heappop(ready)
        out.append(urn)
        for d in by_urn[urn].must_precede():
            if d in dependents:
                dependents[d] -= 1
                if dependents[d] == 0:
                    heapq.heappush(ready, (-index[d], d))
    if len(out) != len(resources):
        raise ValueError("the state's dependencies form a cycle")
    return out


def reaches(resources: Sequence[StateResource], start: str, goals: Iterable[str]) -> set[str]:
    """Which of ``goals`` ``start`` depends on, directly or not (so a destroy deletes
    ``start`` before them)."""
    by_urn = {r.urn: r for r in resources}
    wanted, found = set(goals), set()
    stack, seen = [start], {start}
    while stack:
        r = by_urn.get(stack.pop())
        if r is None:
            continue
        for d in r.must_precede():
            if d in wanted:
                found.add(d)
            if d not in seen:
                seen.add(d)
                stack.append(d)
    return found
