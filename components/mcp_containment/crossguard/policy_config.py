"""Policy config: the stack facts a policy reads, and layers merged the way the Pulumi CLI
merges them (``--policy-pack-config``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config.schema import Spec
from .policies import POLICIES
from .registry import Level


def stack_facts(spec: Spec) -> dict[str, dict[str, Any]]:
    """The policy config a stack needs, per policy: production, controller version, lock."""
    facts: dict[str, Any] = {
        "production": spec.is_production,
        "controllerVersion": spec.controller.version,
        "lock": spec.lock.model_dump(by_alias=True, exclude_none=True) if spec.lock else {},
        "protect": spec.protected,
        "privateDependencies": [d.to_json() for d in spec.private_dependencies()],
        "caConfiguredElsewhere": spec.foundry.decryption_ca is not None
        and not spec.controller.owns_controller_wide,
    }
    return {p.name: {k: facts[k] for k in p.config} for p in POLICIES if p.config}


@dataclass(frozen=True, slots=True)
class EffectiveConfig:
    level: Level
    properties: dict[str, Any]


def merge_config(layers: Sequence[Mapping[str, Any]]) -> dict[str, EffectiveConfig]:
    """Defaults (schema defaults, policy level), then each layer in order; within a layer,
    ``all`` first, then the policy's own entry. A string is an enforcement level; an object
    may carry ``enforcementLevel`` and properties."""
    out: dict[str, EffectiveConfig] = {}
    for p in POLICIES:
        level = p.level
        props: dict[str, Any] = {k: v.get("default") for k, v in p.config.items()}
        for layer in layers:
            for key in ("all", p.name):
                entry = layer.get(key)
                if entry is None:
                    continue
                if isinstance(entry, str):
                    level = Level(entry)
                elif isinstance(entry, Mapping):
                    if "enforcementLevel" in entry:
                        level = Level(entry["enforcementLevel"])
                    props.update(
                        {
                            k: v
                            for k, v in entry.items()
                            if k != "enforcementLevel" and (key == p.name or k in p.config)
                        }
                    )
                else:
                    raise ValueError(f"policy config {key!r}: expected a level or an object")
        out[p.name] = EffectiveConfig(level, props)
    return out


def unknown_policies(layers: Sequence[Mapping[str, Any]]) -> list[str]:
    names = {p.name for p in POLICIES} | {"all"}
    return sorted({k for layer in layers for k in layer if k not in names})
