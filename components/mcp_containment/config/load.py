"""Read a stack's ``mcp-containment:`` config, from a stack file or from the Pulumi engine.

Both paths hand the same raw mapping to :func:`mcp_containment.config.validate.validate`, so
``containment validate`` and ``pulumi up`` accept and refuse exactly the same configs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .schema import PROJECT, Spec
from .validate import Issue, SpecError, validate

NAMESPACE = PROJECT + ":"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


CREDENTIAL_KEYS = frozenset({"aviatrix:password"})
"""Provider config that must only ever be a Pulumi secret (encrypted in the stack file)."""


def _plain_credential(key: str) -> Issue:
    return Issue(
        key,
        f"is in plain text; set it with `pulumi config set --secret {key}` so it is stored "
        "encrypted and masked in every output and log",
    )


def stack_file(stack: str, stacks_dir: Path | str = "stacks") -> Path:
    return Path(stacks_dir) / f"Pulumi.{stack}.yaml"


def raw_from_stack_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Pick our namespace out of a stack's ``config:`` map (keys may omit the project prefix)."""
    raw: dict[str, Any] = {}
    issues: list[Issue] = []
    for key, value in config.items():
        if ":" in key and not key.startswith(NAMESPACE):
            continue  # another namespace: aviatrix:, azure-native:, aws:, kubernetes:, ...
        name = key.removeprefix(NAMESPACE)
        if isinstance(value, Mapping) and "secure" in value:
            issues.append(
                Issue(
                    name,
                    "is a secret; mcp-containment config holds no secrets (controller "
                    "credentials go in aviatrix:password / aviatrix:username as Pulumi secrets)",
                )
            )
            continue
        raw[name] = value
    if issues:
        raise SpecError(issues)
    return raw


def load_file(path: Path | str) -> Spec:
    """Validate a ``Pulumi.<stack>.yaml`` file; raise SpecError naming every bad key."""
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except FileNotFoundError as exc:
        raise SpecError([Issue(str(path), "no such stack file")]) from exc
    except yaml.YAMLError as exc:
        raise SpecError([Issue(str(path), f"not valid YAML: {exc}")]) from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("config"), Mapping):
        raise SpecError([Issue(str(path), "has no 'config:' map")])
    config = doc["config"]
    plain = [
        _plain_credential(k)
        for k in sorted(CREDENTIAL_KEYS)
        if k in config and not (isinstance(config[k], Mapping) and "secure" in config[k])
    ]
    if plain:
        raise SpecError(plain)
    return validate(raw_from_stack_config(config))


def load_stack(stack: str, stacks_dir: Path | str = "stacks") -> Spec:
    return load_file(stack_file(stack, stacks_dir))


def _decode(value: Any) -> Any:
    # The engine hands structured values as JSON text and scalars as plain text.
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, dict | list | bool) else value
    return value


def spec_from_engine_config(config: Mapping[str, Any]) -> Spec | None:
    """Validate the ``mcp-containment:`` keys of config as the engine hands it to a plugin
    (``PULUMI_CONFIG``: ``namespace:key`` -> text, structured values as JSON); None when the
    stack sets none of them. Which keys are secret is not part of that hand-over, so the
    secret checks of :func:`load_pulumi_config` are the program's alone."""
    ours = {k: _decode(v) for k, v in config.items() if k.startswith(NAMESPACE)}
    return validate(raw_from_stack_config(ours)) if ours else None


def load_pulumi_config() -> Spec:
    """Validate the running stack's config, as ``pulumi up``/``preview`` provide it."""
    # Imported here so the CLI's validate path never pays for loading the Pulumi SDK.
    from pulumi.runtime import config as runtime_config  # noqa: PLC0415

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    # Older hosts pass secret keys in the environment, newer ones through set_all_config.
    secret = set(runtime_config.get_config_secret_keys_env()) | runtime_config._SECRET_KEYS.get()
    issues = [
        Issue(k.removeprefix(NAMESPACE), "is a secret; mcp-containment config holds no secrets")
        for k in sorted(secret)
        if k.startswith(NAMESPACE)
    ]
    issues += [
        _plain_credential(k) for k in sorted(CREDENTIAL_KEYS) if k in merged and k not in secret
    ]
    if issues:
        raise SpecError(issues)
    return validate(raw_from_stack_config({k: _decode(v) for k, v in merged.items()}))
