"""The policies as CrossGuard objects: what the policy pack registers and ``containment check``
runs in process.

Around every check, the adapter here:

- judges only what this library declared (:func:`~.resources.declared_by_library`); anything
  else is reported *not applicable*, so the pack can run org-wide;
- materialises CrossGuard's read-only proxies into plain data, the engine's unknowns into
  :class:`~.resources.Unknown`, before a check sees them (a proxy is neither a ``dict`` nor a
  ``list``, and a schema validator refuses it);
- gives the check its stack facts: the stack's own config, overridden by policy config;
- turns :class:`~.resources.Undecidable` into the policy's own "cannot decide" violation, so an
  unknown value never ends a check in a silent pass (nor in CrossGuard's advisory skip).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from .policies import POLICIES
from .policy_config import StackFacts, facts_from_engine_config
from .registry import PolicyDef, ResourceCheck, StackCheck
from .resources import (
    LazyProps,
    Resource,
    Snapshot,
    Undecidable,
    declared_by_library,
    materialise,
)

Report = Callable[..., None]
Validate = Callable[[Any, Report], None]

OUT_OF_SCOPE: Final = "not declared by an mcp-containment component"


def view_of(resource: Any) -> Resource:
    """A :class:`Resource` from a pulumi_policy ``PolicyResource``/``ResourceValidationArgs``."""
    opts = getattr(resource, "opts", None)
    deps = getattr(resource, "property_dependencies", None) or {}
    parent = getattr(resource, "parent", None)
    return Resource(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        props=LazyProps(resource.props),
        protect=bool(getattr(opts, "protect", False)),
        parent=getattr(parent, "urn", None) or getattr(opts, "parent", None) or None,
        deps={k: tuple(d.urn for d in v) for k, v in deps.items()},
    )


class _Views:
    """Views shared by the policies that are handed the same objects. The engine's analyzer
    service hands each policy its own copy of every resource, so there a view serves one
    policy; ``containment check`` hands every policy the same ones, and they share a view, and
    a stack's views share one analysis."""

    def __init__(self) -> None:
        self._resource: tuple[Any, Resource] | None = None
        self._stack: tuple[Any, Snapshot] | None = None

    def resource(self, args: Any) -> Resource:
        # Holding the props keeps their identity meaningful while they are cached.
        hit = self._resource
        if hit is None or hit[0] is not args.props or hit[1].urn != args.urn:
            hit = self._resource = (args.props, view_of(args))
        return hit[1]

    def stack(self, resources: Sequence[Any]) -> Snapshot:
        hit = self._stack
        if hit is None or hit[0] is not resources:
            ours = Snapshot(view_of(r) for r in resources if declared_by_library(r.urn))
            hit = self._stack = (resources, ours)
        return hit[1]


def _engine_config() -> dict[str, str]:
    # The stack config the engine handed the pack (PULUMI_CONFIG), which pulumi.Config() reads.
    from pulumi.runtime.config import get_config_env  # noqa: PLC0415

    return get_config_env()


class _Facts:
    """The stack facts, read once per pack process: the engine starts the pack with the
    stack's config and never changes it."""

    def __init__(self, stack_config: Mapping[str, Any] | None) -> None:
        self._stack_config = stack_config
        self._facts: StackFacts | None = None

    def get(self) -> StackFacts:
        if self._facts is None:
            given = self._stack_config
            self._facts = facts_from_engine_config(_engine_config() if given is None else given)
        return self._facts

    def config(self, args: Any, p: PolicyDef) -> PolicyConfig:
        """The policy's config: stack facts, then policy config."""
        facts = self.get()
        merged = {k: facts.values[k] for k in p.config if k in facts.values}
        merged.update(materialise(args.get_config() or {}))
        return PolicyConfig(merged, facts.problem, frozenset(p.config))


class PolicyConfig(Mapping[str, Any]):
    """A policy's config. When the stack's config could not be read, a stack fact that no
    policy config supplies refuses to be read (:class:`Undecidable`): the policies that need
    it say so, and those that do not are unaffected."""

    def __init__(self, values: Mapping[str, Any], problem: str | None, facts: frozenset[str]):
        self._values = dict(values)
        self._unreadable = frozenset(facts - self._values.keys()) if problem else frozenset()
        self._problem = problem or ""

    def _check(self, key: object) -> None:
        if key in self._unreadable:
            raise Undecidable(self._problem)

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        self._check(key)
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _report_all(produce: Callable[[], Iterable[tuple[str, str | None]]], report: Report) -> None:
    try:
        for message, urn in produce():
            report(message, urn)
    except Undecidable as exc:
        report(f"cannot decide: {exc}")


def _resource_validator(p: PolicyDef, facts: _Facts, views: _Views) -> Validate:
    check: ResourceCheck = p.check  # type: ignore[assignment]

    def validate(args: Any, report: Report) -> None:
        if not declared_by_library(args.urn):
            args.not_applicable(OUT_OF_SCOPE)
        config = facts.config(args, p)

        def produce() -> Iterable[tuple[str, str | None]]:
            return ((message, None) for message in check(views.resource(args), config))

        _report_all(produce, report)

    return validate


def _stack_validator(p: PolicyDef, facts: _Facts, views: _Views) -> Validate:
    check: StackCheck = p.check  # type: ignore[assignment]

    def validate(args: Any, report: Report) -> None:
        ours = views.stack(args.resources)
        if not ours:
            args.not_applicable(OUT_OF_SCOPE)
        config = facts.config(args, p)
        _report_all(lambda: check(ours, config), report)

    return validate


def crossguard_policies(stack_config: Mapping[str, Any] | None = None) -> list[Any]:
    """The policies as pulumi_policy objects. ``stack_config`` is the stack's config as the
    engine hands it to a pack (``namespace:key`` -> text); None reads it from the engine."""
    from pulumi_policy import (  # noqa: PLC0415 - keep the plain checks importable without it
        EnforcementLevel,
        PolicyConfigSchema,
        ResourceValidationPolicy,
        StackValidationPolicy,
    )

    facts, views = _Facts(stack_config), _Views()
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
            out.append(
                ResourceValidationPolicy(validate=_resource_validator(p, facts, views), **common)
            )
        else:
            out.append(StackValidationPolicy(validate=_stack_validator(p, facts, views), **common))
    return out
