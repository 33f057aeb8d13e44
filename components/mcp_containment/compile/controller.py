"""Stacks that share one Aviatrix controller, checked together.

Each stack is validated on its own; what only shows across stacks is checked here: exactly
one owner of the controller-wide objects, distinct name prefixes, the owner's tree listing
every other stack (a stack missing from it has no attachment point to attach to), the same
controller release and attachment points, and no controller-scope name declared twice.
Stacks are grouped by their ``aviatrix:controllerIp``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..config.schema import Spec
from ..config.validate import Issue
from ..core import names
from ..core.model import TERRAFORM_LAYERS, Layer
from ..core.versions import controller_release
from .ruleset import compile_rulebase


@dataclass(frozen=True, slots=True)
class Declared:
    """One controller-scope name a stack declares, and what it names."""

    name: str
    kind: str


def controller_layers(spec: Spec) -> tuple[Layer, ...]:
    """The Terraform layers this stack's controller has attachment points for."""
    return tuple(
        layer
        for layer in TERRAFORM_LAYERS
        if layer is not Layer.AFTER_KUBERNETES or spec.controller.after_kubernetes_point
    )


def controller_names(spec: Spec) -> list[Declared]:
    """Every controller-scope name the stack's program declares."""
    rulebase = compile_rulebase(spec)
    prefix = spec.name_prefix
    used = {g for r in rulebase.rules if r.layer in TERRAFORM_LAYERS for g in (*r.src, *r.dst)}
    webs = {w for r in rulebase.rules if r.layer in TERRAFORM_LAYERS for w in r.web_groups}
    out = [Declared(spec.gateway_name, "gateway")]
    out += [
        Declared(g.name, "SmartGroup")
        for g in rulebase.smart_groups
        if not g.managed and g.name in used
    ]
    out += [Declared(w.name, "WebGroup") for w in rulebase.web_groups if w.name in webs]
    layers = {r.layer for r in rulebase.rules}
    out += [
        Declared(names.ruleset(prefix, layer), "ruleset")
        for layer in TERRAFORM_LAYERS
        if layer in layers
    ]
    if spec.controller.owns_controller_wide:
        for layer in controller_layers(spec):
            out.append(Declared(names.policy_group(prefix, layer), "policy group"))
            out += [
                Declared(names.attachment_point(env, layer), "attachment point")
                for env in (prefix, *spec.controller.shared_with)
            ]
    return out


def check_shared_controller(stacks: Mapping[str, Spec]) -> list[Issue]:
    """Every problem of ``stacks`` (stack name -> spec) sharing one controller; each issue's
    path starts with the stack it is in."""
    return [*_ownership(stacks), *_agreement(stacks), *_collisions(stacks)]


def _ownership(stacks: Mapping[str, Spec]) -> Iterator[Issue]:
    owners = [s for s, spec in stacks.items() if spec.controller.owns_controller_wide]
    if not owners:
        yield Issue(
            "controller.ownsControllerWide",
            f"no stack among {', '.join(sorted(stacks))} owns the controller-wide objects: DCF "
            "stays off and no stack has an attachment point to attach to",
        )
    for extra in owners[1:]:
        yield Issue(
            f"{extra}:controller.ownsControllerWide",
            f"{owners[0]} owns the controller-wide objects already; two owners overwrite each "
            "other's default action and tree",
        )
    prefixes: dict[str, str] = {}
    for stack, spec in stacks.items():
        other = prefixes.setdefault(spec.name_prefix, stack)
        if other != stack:
            yield Issue(
                f"{stack}:controller.namePrefix",
                f"{spec.name_prefix!r} is also the prefix of {other} on this controller: two "
                "stacks would attach to the same attachment points (set controller.namePrefix)",
            )
    if owners:
        owner = stacks[owners[0]]
        listed = {owner.name_prefix, *owner.controller.shared_with}
        for stack, spec in stacks.items():
            if spec.name_prefix not in listed:
                yield Issue(
                    f"{owners[0]}:controller.sharedWith",
                    f"does not list {spec.name_prefix!r} ({stack}): that stack's rulesets "
                    "would find no attachment point of theirs",
                )


def _agreement(stacks: Mapping[str, Spec]) -> Iterator[Issue]:
    first, *rest = sorted(stacks)
    ref = stacks[first].controller
    for stack in rest:
        c = stacks[stack].controller
        if controller_release(c.version_tuple) != controller_release(ref.version_tuple):
            yield Issue(
                f"{stack}:controller.version",
                f"{c.version} differs from {first}'s {ref.version}: one controller, one release",
            )
        if c.after_kubernetes_point != ref.after_kubernetes_point:
            yield Issue(
                f"{stack}:controller.afterKubernetesPoint",
                f"differs from {first}'s: one controller either has that point or not",
            )


def _collisions(stacks: Mapping[str, Spec]) -> Iterator[Issue]:
    seen: dict[str, str] = {}
    for stack in sorted(stacks):
        for d in controller_names(stacks[stack]):
            other = seen.setdefault(d.name, stack)
            if other != stack:
                yield Issue(
                    f"{stack}:controller.namePrefix",
                    f"{d.kind} {d.name!r} is also declared by {other} on this controller",
                )


__all__ = ["Declared", "check_shared_controller", "controller_layers", "controller_names"]
