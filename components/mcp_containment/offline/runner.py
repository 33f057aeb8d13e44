"""The policy pack, run in process on a captured program, on what the engine would send it.

``containment check`` walks the resources the engine would analyse
(:mod:`~mcp_containment.offline.engine`: the root stack, default providers, every captured
resource, properties encoded as the engine encodes them), builds the argument objects
pulumi_policy's analyzer service builds from them (properties deserialised and wrapped in its
proxies, options, policy config as ``Configure`` delivers it) and calls the pack's policy
objects. For speed it skips the protobuf round trip (a ``Struct`` holds exactly the encoded
JSON) and decodes each resource once for every policy, not once per policy. The engine tests
send the same resources over gRPC to the pack started as the CLI starts it, and assert the same
verdicts, policy by policy.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..crossguard.pack import crossguard_policies
from ..crossguard.policy_config import EffectiveConfig, config_errors, merge_config
from ..crossguard.registry import PACK, Level, Violation
from . import engine
from .runtime import Capture


def _props(wire: dict[str, Any]) -> Any:
    """Properties as pulumi_policy hands them to a policy (policy.py ``Analyze``)."""
    from pulumi_policy.deserialize import deserialize_properties  # noqa: PLC0415
    from pulumi_policy.proxy import unknown_checking_proxy  # noqa: PLC0415

    return unknown_checking_proxy(deserialize_properties(wire))


def _options(message: Any) -> Any:
    """``AnalyzerResourceOptions`` as pulumi_policy reads them (``_get_resource_options``)."""
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions  # noqa: PLC0415

    t = message.customTimeouts
    return PolicyResourceOptions(
        message.protect,
        list(message.ignoreChanges),
        message.deleteBeforeReplace if message.deleteBeforeReplaceDefined else None,
        list(message.aliases),
        PolicyCustomTimeouts(t.create, t.update, t.delete),
        list(message.additionalSecretOutputs),
        message.parent or None,
    )


def _stack(nodes: Sequence[engine.Node]) -> list[Any]:
    """``AnalyzeStack``'s resources (outputs), parents and (property) dependencies linked."""
    from pulumi_policy import PolicyResource  # noqa: PLC0415

    by_urn = {
        n.urn: PolicyResource(
            n.type,
            _props(n.wire_outputs()),
            n.urn,
            n.name,
            _options(n.options()),
            None,
            None,
            [],
            {},
        )
        for n in nodes
    }
    for n in nodes:
        resource = by_urn[n.urn]
        resource.parent = by_urn.get(n.parent)
        resource.dependencies = [by_urn[u] for u in n.dependencies if u in by_urn]
        resource.property_dependencies = {
            k: [by_urn[u] for u in urns if u in by_urn]
            for k, urns in n.property_dependencies.items()
        }
    return list(by_urn.values())


Report = Callable[..., None]


class _Run:
    """Violations as the engine attributes them (``analyze_snapshot.go``): a resource policy's
    to the resource analysed, a stack policy's to the resource it names when that is in the
    stack, to the root stack otherwise."""

    def __init__(self, effective: Mapping[str, EffectiveConfig], root: str, known: set[str]):
        self.effective, self.root, self.known = effective, root, known
        self.violations: list[Violation] = []

    def validate(self, policy: Any, args: Any, at: str | None) -> None:
        from pulumi_policy.policy import _NotApplicableError  # noqa: PLC0415
        from pulumi_policy.proxy import UnknownValueError  # noqa: PLC0415

        level = self.effective[policy.name].level

        def report(message: str, urn: str | None = None) -> None:
            where = at or (urn if urn in self.known else self.root)
            self.violations.append(
                Violation(policy.name, level, where, message or policy.description)
            )

        try:
            policy.validate(args, report)
        except _NotApplicableError:
            pass
        except UnknownValueError as exc:
            # What pulumi_policy makes of a policy that reads an unknown: an advisory skip.
            message = (
                f"can't run policy '{policy.name}' from policy pack '{PACK}@v0.0.1' during "
                f"preview: {exc.message}"
            )
            self.violations.append(Violation(policy.name, Level.ADVISORY, at or self.root, message))


def check(
    capture: Capture,
    layers: Sequence[Mapping[str, Any]] = (),
    stack_config: Mapping[str, Any] | None = None,
) -> list[Violation]:
    """Every policy of the pack on a captured program: policy config merged as the engine
    merges it, the stack's config (``namespace:key`` -> text) as the engine hands it over."""
    effective = merge_config(layers)
    errors = config_errors(effective)
    if errors:
        raise ValueError("; ".join(errors))
    # Thousands of short-lived views and findings, no reference cycles worth collecting:
    # cyclic GC passes during a check cost a third of its time on a 2,000-resource stack.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _check(capture, effective, stack_config or {})
    finally:
        if enabled:
            gc.enable()


def _check(
    capture: Capture, effective: Mapping[str, EffectiveConfig], stack_config: Mapping[str, Any]
) -> list[Violation]:
    from pulumi_policy import (  # noqa: PLC0415
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
    )

    nodes = engine.nodes(capture)
    policies = [
        p
        for p in crossguard_policies(stack_config=stack_config)
        if effective[p.name].level is not Level.DISABLED
    ]
    resource_policies = [p for p in policies if isinstance(p, ResourceValidationPolicy)]
    stack_policies = [p for p in policies if not isinstance(p, ResourceValidationPolicy)]
    # Configure delivers empty properties as no config at all (policy.py _get_policy_config).
    config = {name: conf.properties or None for name, conf in effective.items()}
    run = _Run(effective, nodes[0].urn, {n.urn for n in nodes})
    for node in nodes:
        props, opts = _props(node.wire_inputs()), _options(node.options())
        for policy in resource_policies:
            args = ResourceValidationArgs(
                node.type, props, node.urn, node.name, opts, None, config[policy.name]
            )
            run.validate(policy, args, node.urn)
    resources = _stack(nodes)
    for policy in stack_policies:
        run.validate(policy, StackValidationArgs(resources, config[policy.name]), None)
    return run.violations
