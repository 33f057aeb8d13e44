"""The policy pack, run in process on a captured program.

The very ``pulumi_policy`` objects the pack registers are called, with the argument objects
CrossGuard would build, policy config merged as the Pulumi CLI merges it; only the transport
differs.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..crossguard.pack import crossguard_policies
from ..crossguard.policy_config import merge_config
from ..crossguard.registry import Level, Violation
from .runtime import Capture, CapturedResource


def check(capture: Capture, layers: Sequence[Mapping[str, Any]] = ()) -> list[Violation]:
    """Run every policy of the pack on captured resources, config merged as the CLI does."""
    # Thousands of short-lived views and findings, no reference cycles worth collecting:
    # cyclic GC passes during a check cost a third of its time on a 2,000-resource stack.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _check(capture, layers)
    finally:
        if enabled:
            gc.enable()


def _options(r: CapturedResource) -> Any:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions  # noqa: PLC0415

    return PolicyResourceOptions(
        protect=r.protect,
        ignore_changes=list(r.ignore_changes),
        delete_before_replace=r.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=r.parent,
    )


def _stack_resources(capture: Capture) -> list[Any]:
    """The stack as a stack policy sees it: outputs, with parents and (property) dependencies
    linked as PolicyResource objects."""
    from pulumi_policy import PolicyResource  # noqa: PLC0415

    by_urn: dict[str, Any] = {
        r.urn: PolicyResource(
            resource_type=r.type,
            props=r.outputs,
            urn=r.urn,
            name=r.name,
            opts=_options(r),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for r in capture.resources
    }
    for r in capture.resources:
        res = by_urn[r.urn]
        res.parent = by_urn.get(r.parent or "")
        res.dependencies = [by_urn[u] for u in r.depends_on if u in by_urn]
        res.property_dependencies = {
            k: [by_urn[u] for u in urns if u in by_urn]
            for k, urns in r.property_dependencies.items()
        }
    # One list for every stack policy, as the engine hands one snapshot of the stack.
    return list(by_urn.values())


def _report_at(
    report: Callable[..., None], default: str, message: str, urn: str | None = None
) -> None:
    """A resource policy's report: its violations are at the resource unless it names one."""
    report(message, urn or default)


def _check(capture: Capture, layers: Sequence[Mapping[str, Any]]) -> list[Violation]:
    from pulumi_policy import (  # noqa: PLC0415
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
    )

    effective = merge_config(layers)
    every_resource = _stack_resources(capture)
    violations: list[Violation] = []
    for policy in crossguard_policies():
        conf = effective[policy.name]
        if conf.level is Level.DISABLED:
            continue

        def report(
            message: str, urn: str | None = None, *, _p: str = policy.name, _l: Level = conf.level
        ) -> None:
            violations.append(Violation(_p, _l, urn, message))

        if isinstance(policy, ResourceValidationPolicy):
            # Resource policies see inputs; stack policies see outputs.
            for r in capture.resources:
                args = ResourceValidationArgs(
                    resource_type=r.type,
                    props=r.inputs,
                    urn=r.urn,
                    name=r.name,
                    opts=_options(r),
                    provider=None,
                    config=conf.properties,
                )
                policy.validate(args, functools.partial(_report_at, report, r.urn))
        else:
            policy.validate(
                StackValidationArgs(resources=every_resource, config=conf.properties), report
            )
    return violations
