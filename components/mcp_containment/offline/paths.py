"""The private-path analysis of a captured plan: what ``containment plan`` shows and the
``foundry-dependencies-private`` policy enforces, from the same readback."""

from __future__ import annotations

from dataclasses import dataclass

from ..config.schema import Spec
from ..core.analysis import Finding, PrivatePath, private_path_findings
from ..core.model import Rulebase
from ..crossguard.privatelink import private_paths
from ..crossguard.resources import Resource
from .runtime import Capture


@dataclass(frozen=True, slots=True)
class PrivatePathReport:
    paths: tuple[PrivatePath, ...]
    spoke_cidr: str
    findings: tuple[Finding, ...]

    def rows(self) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for p in self.paths:
            problems = p.problems(self.spoke_cidr)
            out.append(
                (
                    p.dependency.key,
                    p.dependency.name,
                    p.endpoint or "-",
                    ", ".join(p.linked_zones) or "-",
                    f"private ({p.subnet_cidr})" if not problems else "; ".join(problems),
                )
            )
        return out

    def to_json(self) -> list[dict[str, object]]:
        return [
            {
                **p.dependency.to_json(),
                "endpoint": p.endpoint,
                "subnet": p.subnet_cidr,
                "zones": list(p.zones),
                "linkedZones": list(p.linked_zones),
                "private": not p.problems(self.spoke_cidr),
            }
            for p in self.paths
        ]


def views(capture: Capture) -> list[Resource]:
    """The captured resources as a stack policy sees them (outputs, property dependencies)."""
    return [
        Resource(
            type=r.type,
            name=r.name,
            urn=r.urn,
            props=r.outputs,
            protect=r.protect,
            parent=r.parent,
            deps=r.property_dependencies,
        )
        for r in capture.resources
    ]


def private_path_report(spec: Spec, capture: Capture, rulebase: Rulebase) -> PrivatePathReport:
    found = private_paths(views(capture), spec.private_dependencies())
    spoke = found.spoke_cidr or spec.network.cidr
    findings = private_path_findings(rulebase, found.paths, spoke, spec.is_production)
    return PrivatePathReport(found.paths, spoke, tuple(findings))
