"""The policies as CrossGuard objects: what ``policy_packs/containment`` registers and the
in-process runner calls.

CrossGuard hands policies read-only proxies; each resource is turned into a plain
:class:`~.resources.Resource` once and shared by every policy of the pack (copying the props
of a couple of thousand resources once per policy dominated a check). The views live on the
pack's own adapter, not in module globals, so two packs in one process never share them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .policies import POLICIES
from .registry import PolicyDef, ResourceCheck, StackCheck
from .resources import Resource, Snapshot

Report = Callable[..., None]
Validate = Callable[[Any, Report], None]


def plain(value: Any) -> Any:
    """CrossGuard's proxies (and any mapping or sequence) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def view_of(resource: Any) -> Resource:
    """A :class:`Resource` from a pulumi_policy ``PolicyResource``/``ResourceValidationArgs``."""
    opts = getattr(resource, "opts", None)
    deps = getattr(resource, "property_dependencies", None) or {}
    parent = getattr(resource, "parent", None)
    return Resource(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        props=plain(resource.props),
        protect=bool(getattr(opts, "protect", False)),
        parent=getattr(parent, "urn", None) or getattr(opts, "parent", None),
        deps={k: tuple(d.urn for d in v) for k, v in deps.items()},
    )


class _Views:
    """One view per resource, and one snapshot per stack, for all the pack's policies."""

    def __init__(self) -> None:
        self._resource: tuple[Any, Any, Resource] | None = None
        self._stack: tuple[Any, Snapshot] | None = None

    def resource(self, args: Any) -> Resource:
        # The engine analyses one resource at a time and every resource policy sees the same
        # args: keeping the last view serves all of them.
        hit = self._resource
        if hit is not None and hit[0] is args.props and hit[1] == args.urn:
            return hit[2]
        view = view_of(args)
        self._resource = (args.props, args.urn, view)
        return view

    def stack(self, resources: Sequence[Any]) -> Snapshot:
        # Holding the engine's list keeps its identity meaningful for as long as it is cached.
        if self._stack is None or self._stack[0] is not resources:
            self._stack = (resources, Snapshot(view_of(r) for r in resources))
        return self._stack[1]


def _config(args: Any, p: PolicyDef) -> dict[str, Any]:
    merged = {k: v.get("default") for k, v in p.config.items()}
    merged.update(plain(args.get_config() or {}))
    return merged


def _resource_validator(p: PolicyDef, views: _Views) -> Validate:
    check: ResourceCheck = p.check  # type: ignore[assignment]

    def validate(args: Any, report: Report) -> None:
        for message in check(views.resource(args), _config(args, p)):
            report(message)

    return validate


def _stack_validator(p: PolicyDef, views: _Views) -> Validate:
    check: StackCheck = p.check  # type: ignore[assignment]

    def validate(args: Any, report: Report) -> None:
        for message, urn in check(views.stack(args.resources), _config(args, p)):
            report(message, urn)

    return validate


def crossguard_policies() -> list[Any]:
    """The policies as pulumi_policy objects, for the pack and the in-process runner alike."""
    from pulumi_policy import (  # noqa: PLC0415 - keep the plain checks importable without it
        EnforcementLevel,
        PolicyConfigSchema,
        ResourceValidationPolicy,
        StackValidationPolicy,
    )

    views = _Views()
    out: list[Any] = []
    for p in POLICIES:
        common: dict[str, Any] = {
            "name": p.name,
            "description": p.description,
            "enforcement_level": EnforcementLevel(p.level.value),
            "config_schema": (
                PolicyConfigSchema(properties={k: dict(v) for k, v in p.config.items()})
                if p.config
                else None
            ),
            "remediation_steps": p.remediation or None,
        }
        if p.scope == "resource":
            out.append(ResourceValidationPolicy(validate=_resource_validator(p, views), **common))
        else:
            out.append(StackValidationPolicy(validate=_stack_validator(p, views), **common))
    return out
