"""The policy pack, run in process on a captured program, through the engine's protocol.

``containment check`` sends the pack the very requests the engine would
(:mod:`~mcp_containment.offline.engine`: ``Configure``, ``Analyze`` per resource,
``AnalyzeStack``), encoded as the engine encodes them, to pulumi_policy's own analyzer service,
the object a ``PolicyPack`` serves over gRPC. Only the socket and the process are missing;
the engine tests run the same requests against the pack started as the CLI starts it and
assert the same verdicts.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..crossguard.pack import crossguard_policies
from ..crossguard.policy_config import config_errors, merge_config
from ..crossguard.registry import PACK, Level, Violation
from . import engine
from .runtime import Capture

_LEVELS = {
    engine.LEVELS[Level.ADVISORY]: Level.ADVISORY,
    engine.LEVELS[Level.MANDATORY]: Level.MANDATORY,
}


def _analyzer(stack_config: Mapping[str, Any]) -> Any:
    """pulumi_policy's analyzer service for the pack's policies: what ``PolicyPack`` builds
    and serves (pulumi_policy/policy.py), without the server."""
    from pulumi_policy import EnforcementLevel  # noqa: PLC0415
    from pulumi_policy.policy import _PolicyAnalyzerServicer  # noqa: PLC0415

    policies = crossguard_policies(stack_config=stack_config)
    return _PolicyAnalyzerServicer(PACK, "0.0.1", policies, EnforcementLevel.MANDATORY)


def violations_of(
    diagnostics: Iterable[Any], at: str | None = None, known: set[str] | None = None
) -> list[Violation]:
    """Diagnostics as the engine attributes them: a resource policy's to the resource
    analysed (``at``), a stack policy's to the URN it names when that is in the stack
    (``known``), the root stack otherwise (``analyze_snapshot.go``)."""
    out = []
    for d in diagnostics:
        urn = d.urn if d.urn and (known is None or d.urn in known) else at
        _, _, message = d.message.partition("\n")
        level = _LEVELS.get(d.enforcementLevel, Level.MANDATORY)
        out.append(Violation(d.policyName, level, urn, message or d.message))
    return out


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
        analyzer = _analyzer(stack_config or {})
        analyzer.Configure(engine.configure_request(effective), None)
        requests = engine.requests(capture)
        out: list[Violation] = []
        for request in requests.analyze:
            out += violations_of(analyzer.Analyze(request, None).diagnostics, request.urn, set())
        known = {r.urn for r in requests.analyze_stack.resources}
        response = analyzer.AnalyzeStack(requests.analyze_stack, None)
        out += violations_of(response.diagnostics, requests.root, known)
        return out
    finally:
        if enabled:
            gc.enable()
