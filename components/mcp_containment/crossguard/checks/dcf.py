"""DCF rule checks: the rulebase rebuilt from the resources, judged by the core analysis.

Every policy of this family reads one analysis of the same snapshot (see
:func:`~mcp_containment.crossguard.resources.derived`), so a preview is analysed once however
many of these policies run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...core import analysis, names
from ...core.analysis import Code, Finding, Severity
from ...core.model import Rulebase
from ..readback import rulebase_from_resources, urn_of_rule
from ..registry import StackCheck
from ..resources import Resource, derived

ORDERING = frozenset(
    {
        Code.DUPLICATE_NAME,
        Code.DUPLICATE_PRIORITY,
        Code.SHADOWED,
        Code.THREAT_INTEL_MISSING,
        Code.PERMIT_BEFORE_THREAT_INTEL,
        Code.DEFAULT_DENY_MISSING,
        Code.PLATFORM_AFTER_DEFAULT_DENY,
        Code.DEFAULT_DENY_BEFORE_KUBERNETES,
        Code.SHADOWS_SERVER_PERMIT,
        Code.DEFAULT_ACTION_NOT_DENY,
        Code.EAST_WEST_MISSING,
    }
)
DECRYPTION = frozenset(
    {Code.ACA_DECRYPTED, Code.DECRYPT_OUTSIDE_TOOL_CALLS, Code.DECRYPT_NEEDS_CONTROLLER_8_2}
)
AUDIT = frozenset({Code.NOT_LOGGED})


def _facts(config: Mapping[str, Any]) -> str:
    return f"{bool(config.get('production'))}/{config.get('controllerVersion') or ''}"


def _rulebase(resources: Sequence[Resource], config: Mapping[str, Any]) -> Rulebase | None:
    return derived(
        resources,
        "rulebase/" + _facts(config),
        lambda: rulebase_from_resources(resources, config),
    )


def _findings(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[Finding]:
    def compute() -> list[Finding]:
        rulebase = _rulebase(resources, config)
        return analysis.analyze(rulebase) if rulebase is not None else []

    return derived(resources, "findings/" + _facts(config), compute)


def findings_check(codes: frozenset[Code]) -> StackCheck:
    """A stack check reporting the analysis' errors with one of ``codes``."""

    def check(
        resources: Sequence[Resource], config: Mapping[str, Any]
    ) -> Iterator[tuple[str, str | None]]:
        for f in _findings(resources, config):
            if f.code in codes and f.severity is Severity.ERROR:
                yield f.message, urn_of_rule(resources, f.rule)

    return check


def check_default_deny_enforced(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    if not config.get("production"):
        return
    rulebase = _rulebase(resources, config)
    if rulebase is None:
        return
    for rule in rulebase.rules:
        if rule.name == names.DEFAULT_DENY_INTERNET and rule.monitor:
            yield (
                f"{rule.name} is in monitor mode in a production stack: nothing is actually denied",
                urn_of_rule(resources, rule.name),
            )


def check_monitor_mode(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    for f in _findings(resources, config):
        if f.code is Code.MONITOR_MODE:
            yield (
                f.message
                + "; promote it after `containment replay` shows no legitimate flow is cut",
                urn_of_rule(resources, f.rule),
            )


def check_containment_breadth(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    for f in _findings(resources, config):
        if f.code is Code.STORAGE_EXPOSED_TO_MCP and f.severity is Severity.ERROR:
            yield f.message, urn_of_rule(resources, f.rule)
        if f.code is Code.PERMIT_ALL_INTERNET and config.get("production"):
            yield f.message, urn_of_rule(resources, f.rule)
