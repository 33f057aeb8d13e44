"""Policy config and stack facts.

The stack facts a policy reads (production, controller version, network lock) come from the
stack's own ``mcp-containment:`` config, validated as the program validates it: the engine hands
a pack the stack's config (``PULUMI_CONFIG``), so no pipeline has to carry them. Policy config
(``--policy-pack-config``) may still set them, and then wins. Layers of policy config merge the
way the Pulumi CLI merges them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from ..config.load import spec_from_engine_config
from ..config.schema import Spec
from ..config.validate import SpecError
from .policies import POLICIES
from .registry import Level


def facts_of(spec: Spec) -> dict[str, Any]:
    """Every stack fact a policy may read, from a validated spec."""
    facts: dict[str, Any] = {
        "production": spec.is_production,
        "controllerVersion": spec.controller.version,
        "protect": spec.protected,
        "privateDependencies": [d.to_json() for d in spec.private_dependencies()],
        "caConfiguredElsewhere": spec.foundry.decryption_ca is not None
        and not spec.controller.owns_controller_wide,
    }
    if spec.lock:
        facts["lock"] = spec.lock.model_dump(by_alias=True, exclude_none=True, mode="json")
    return facts


def stack_facts(spec: Spec) -> dict[str, dict[str, Any]]:
    """The stack facts as policy config, per policy (``containment policy-config``). A fact
    the stack does not have (no lock yet) is left out rather than pinned empty: policy config
    wins over the stack, and a stale empty lock would switch subnet-immutability off."""
    facts = facts_of(spec)
    out = {p.name: {k: facts[k] for k in p.config if k in facts} for p in POLICIES}
    return {name: props for name, props in out.items() if props}


@dataclass(frozen=True, slots=True)
class StackFacts:
    """What the stack's config says, or why it could not be read."""

    values: Mapping[str, Any] = field(default_factory=dict)
    problem: str | None = None


def facts_from_engine_config(config: Mapping[str, Any]) -> StackFacts:
    """The stack facts from the config the engine hands a pack; nothing when the stack sets
    no ``mcp-containment:`` key (a stack that composes the components with its own config)."""
    try:
        spec = spec_from_engine_config(config)
    except SpecError as exc:
        shown = "; ".join(f"{i.path}: {i.message}" for i in exc.issues)
        return StackFacts(problem=f"the stack's mcp-containment config is invalid ({shown})")
    return StackFacts(facts_of(spec)) if spec else StackFacts()


@dataclass(frozen=True, slots=True)
class EffectiveConfig:
    level: Level
    properties: dict[str, Any]


def merge_config(layers: Sequence[Mapping[str, Any]]) -> dict[str, EffectiveConfig]:
    """Defaults (schema defaults, policy level), then each layer in order, as the engine
    reconciles them (pulumi/pulumi@1b5949891b ``pkg/resource/analyzer/config.go``,
    ``applyConfig``): a layer's ``all`` sets every level (its properties reach no policy), then
    each policy's own entry, a level string or an object with ``enforcementLevel`` and
    properties."""
    out: dict[str, EffectiveConfig] = {}
    for p in POLICIES:
        level = p.level
        props: dict[str, Any] = {k: v["default"] for k, v in p.config.items() if "default" in v}
        for layer in layers:
            level = _level(layer.get("all"), level)
            entry = layer.get(p.name)
            if entry is None:
                continue
            level = _level(entry, level)
            if isinstance(entry, Mapping):
                props.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
            elif not isinstance(entry, str):
                raise ValueError(f"policy config {p.name!r}: expected a level or an object")
        out[p.name] = EffectiveConfig(level, props)
    return out


def _level(entry: Any, current: Level) -> Level:
    if isinstance(entry, str):
        return Level(entry)
    if isinstance(entry, Mapping) and "enforcementLevel" in entry:
        return Level(entry["enforcementLevel"])
    return current


def config_errors(effective: Mapping[str, EffectiveConfig]) -> list[str]:
    """Properties that do not fit a policy's schema, as the engine refuses them before the
    pack runs ("validating policy config")."""
    errors: list[str] = []
    for p in POLICIES:
        schema = {"type": "object", "properties": {k: dict(v) for k, v in p.config.items()}}
        validator = jsonschema.Draft7Validator(schema)
        for err in validator.iter_errors(effective[p.name].properties):
            where = ".".join(str(x) for x in err.absolute_path)
            errors.append(f"{p.name}: {where + ': ' if where else ''}{err.message}")
    return errors


def unknown_policies(layers: Sequence[Mapping[str, Any]]) -> list[str]:
    names = {p.name for p in POLICIES} | {"all"}
    return sorted({k for layer in layers for k in layer if k not in names})
