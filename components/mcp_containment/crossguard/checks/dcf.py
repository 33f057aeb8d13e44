"""DCF rule checks: the rulebase each ``DcfRulebase`` declares, judged by the core analysis.

A ``DcfRulebase`` registers its whole rulebase by name as its ``rulebase`` output
(:func:`~mcp_containment.core.export.rulebase_json`): plain values, known at preview, when the
UUIDs its rules will reference are not. These policies decide from it, with the stack facts
(production, controller version) applied; ``dcf-rulesets-match-rulebase`` holds the rulesets
and groups the component creates to that declaration, so judging the declaration is judging
what the gateway will enforce. One analysis per distinct rulebase serves every policy.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from ...core import analysis, names
from ...core.analysis import Code, Finding, Severity
from ...core.export import rulebase_from_json
from ...core.model import Rulebase
from ...core.versions import parse_controller_version
from .. import resources as res
from ..readback import raw_rules
from ..registry import StackCheck
from ..resources import Resource, Undecidable, contains_unknown, derived

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


@dataclass(frozen=True, slots=True)
class Declared:
    """One ``DcfRulebase``: the component, the rulebase it registered (stack facts applied),
    and the analysis of that rulebase."""

    component: Resource
    rulebase: Rulebase
    findings: tuple[Finding, ...] = ()


def _document(component: Resource) -> bytes:
    doc = component.props.get("rulebase")
    if doc is None:
        raise Undecidable(
            f"DcfRulebase {component.name!r} registered no 'rulebase' output (an older "
            "mcp-containment?), so its rules cannot be judged"
        )
    try:
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # an Unknown, which JSON cannot hold
        unknown = contains_unknown(doc)
        raise Undecidable(
            f"DcfRulebase {component.name!r} registered values not known until apply: {unknown}"
        ) from exc


@functools.lru_cache(maxsize=8)
def _parse(document: bytes) -> Rulebase:
    return rulebase_from_json(orjson.loads(document))


@functools.lru_cache(maxsize=8)
def _analyse(
    document: bytes, production: bool, version: tuple[int, ...] | None
) -> tuple[Rulebase, tuple[Finding, ...]]:
    # Keyed by content: every stack policy of a preview gets its own copy of the resources
    # from CrossGuard, and the same rulebase must not be analysed once per policy.
    rulebase = replace(_parse(document), production=production, controller_version=version)
    return rulebase, tuple(analysis.analyze(rulebase))


def rulebase_components(resources: Sequence[Resource]) -> list[tuple[Resource, Rulebase]]:
    """Each ``DcfRulebase`` with the rulebase it registered, as declared."""
    return [(r, _parse(_document(r))) for r in resources if r.type == res.DCF_RULEBASE]


def _facts(rulebase: Rulebase, config: Mapping[str, Any]) -> tuple[bool, tuple[int, ...] | None]:
    """Production and controller version: the policy config or the stack's config when they
    say, the rulebase's own declaration otherwise."""
    production = bool(config["production"]) if "production" in config else rulebase.production
    text = config.get("controllerVersion")
    if not text:
        return production, rulebase.controller_version
    try:
        return production, parse_controller_version(str(text))
    except ValueError as exc:
        raise Undecidable(f"controllerVersion: {exc}") from exc


def declared(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[Declared]:
    """Every ``DcfRulebase`` of the stack with its analysed rulebase."""

    def compute() -> list[Declared]:
        out = []
        for component, rulebase in rulebase_components(resources):
            production, version = _facts(rulebase, config)
            out.append(Declared(component, *_analyse(_document(component), production, version)))
        return out

    key = f"declared/{config.get('production')}/{config.get('controllerVersion')}"
    return derived(resources, key, compute)


def _declaring(resources: Sequence[Resource], component: str) -> dict[str, str]:
    """Rule name (or ``namespace/name`` of a FirewallPolicy) -> the resource declaring it."""

    def compute() -> dict[str, str]:
        out: dict[str, str] = {}
        for r in resources:
            if r.parent == component and r.type in res.RULESET_TYPES:
                out.update({str(x.get("name")): r.urn for x in raw_rules(r)})
            if r.type == res.FIREWALL_POLICY:
                meta = r.props.get("metadata") or {}
                out.setdefault(f"{meta.get('namespace')}/{meta.get('name')}", r.urn)
        return out

    return derived(resources, f"declaring/{component}", compute)


def urn_of_rule(resources: Sequence[Resource], d: Declared, rule: str | None) -> str:
    """The ruleset of this component, or the FirewallPolicy, that declares ``rule``; the
    component itself when neither does."""
    if rule is None:
        return d.component.urn
    index = _declaring(resources, d.component.urn)
    return index.get(rule) or index.get(rule.split(":", 1)[0]) or d.component.urn


def findings_check(codes: frozenset[Code]) -> StackCheck:
    """A stack check reporting the analysis' errors with one of ``codes``."""

    def check(
        resources: Sequence[Resource], config: Mapping[str, Any]
    ) -> Iterator[tuple[str, str | None]]:
        for d in declared(resources, config):
            for f in d.findings:
                if f.code in codes and f.severity is Severity.ERROR:
                    yield f.message, urn_of_rule(resources, d, f.rule)

    return check


def check_default_deny_enforced(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    for d in declared(resources, config):
        if not d.rulebase.production:
            continue
        for rule in d.rulebase.rules:
            if rule.name == names.DEFAULT_DENY_INTERNET and rule.monitor:
                yield (
                    f"{rule.name} is in monitor mode in a production stack: nothing is "
                    "actually denied",
                    urn_of_rule(resources, d, rule.name),
                )


def check_monitor_mode(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    for d in declared(resources, config):
        for f in d.findings:
            if f.code is Code.MONITOR_MODE:
                yield (
                    f.message
                    + "; promote it after `containment replay` shows no legitimate flow is cut",
                    urn_of_rule(resources, d, f.rule),
                )


def check_containment_breadth(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    for d in declared(resources, config):
        for f in d.findings:
            if f.code is Code.STORAGE_EXPOSED_TO_MCP and f.severity is Severity.ERROR:
                yield f.message, urn_of_rule(resources, d, f.rule)
            if f.code is Code.PERMIT_ALL_INTERNET and d.rulebase.production:
                yield f.message, urn_of_rule(resources, d, f.rule)
