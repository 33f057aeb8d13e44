"""Read a stack's ``mcp-containment:`` config, from a stack file or from the Pulumi engine.

Both paths hand the same raw mapping to :func:`mcp_containment.config.validate.validate`, so
``containment validate`` and ``pulumi up`` accept and refuse exactly the same configs.

A stack file is read defensively: only a regular UTF-8 file of at most 1 MiB
(:mod:`~mcp_containment.config.files`), YAML without duplicate keys, non-string keys, nesting
deeper than :data:`MAX_DEPTH` or aliases that expand past :data:`MAX_VALUES` values. A YAML
error is reported with its line and column, never with the line's text: the line may hold a
password.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .files import read_text
from .schema import PROJECT, Spec
from .validate import SKIP_VERSION_VALIDATION, Issue, SpecError, validate

NAMESPACE = PROJECT + ":"
MAX_DEPTH = 32
"""Deepest nesting a stack file may have (a real one nests five levels)."""
MAX_VALUES = 100_000
"""Most values a stack file may hold once YAML aliases are expanded."""
_STR_TAG = "tag:yaml.org,2002:str"


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


class _Refused(Exception):
    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.message, self.mark = message, mark


def _at(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


class _Shape:
    """Walks a composed document once: key types, depth, cycles and expanded size.

    Sizes are memoised per node, so an alias bomb costs one visit per distinct node."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size(self, node: yaml.Node, depth: int = 0) -> int:
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        if key in self.open:
            raise _Refused("a YAML alias refers to its own anchor (a recursive value)", None)
        if depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        self.open.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG):
                    shown = (
                        f"key {key_node.value!r}"
                        if isinstance(key_node, yaml.ScalarNode)
                        else "a list or map used as a key"
                    )
                    raise _Refused(
                        f"{shown} is not a string (quote it if it is meant as one)",
                        key_node.start_mark,
                    )
                total += 1 + self.size(value_node, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(self.size(item, depth + 1) for item in node.value)
        self.open.discard(key)
        if total > MAX_VALUES:
            raise _Refused(f"holds more than {MAX_VALUES} values (YAML aliases?)", node.start_mark)
        self.sizes[key] = total
        return total


def _yaml_error(exc: yaml.YAMLError) -> str:
    """Where and what, without the snippet PyYAML quotes (the line may hold a secret)."""
    if isinstance(exc, yaml.reader.ReaderError):
        return f"not valid YAML: control character #x{exc.character:04x} at position {exc.position}"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        where = f" at {_at(mark).removesuffix(': ')}" if mark is not None else ""
        return f"not valid YAML{where}: {problem}"
    return f"not valid YAML ({type(exc).__name__})"


def parse_stack_text(text: str, where: str) -> Any:
    """The YAML document in ``text``; SpecError (path ``where``) for anything refused above."""
    try:
        loader = _UniqueKeyLoader(text)  # the reader refuses control characters up front
    except yaml.YAMLError as exc:
        raise SpecError([Issue(where, _yaml_error(exc))]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _Shape().size(node)
        return loader.construct_document(node)
    except _Refused as exc:
        raise SpecError([Issue(where, f"{_at(exc.mark)}{exc.message}")]) from None
    except RecursionError:
        raise SpecError([Issue(where, f"nested more than {MAX_DEPTH} levels deep")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Issue(where, _yaml_error(exc))]) from None
    finally:
        loader.dispose()


CREDENTIAL_KEYS = frozenset({"aviatrix:password", "obot:apiKey"})
"""Credentials that must only ever be Pulumi secrets (encrypted in the stack file): the
Aviatrix provider's password, and the Obot API key the catalog registration uses."""


def _plain_credential(key: str) -> Issue:
    return Issue(
        key,
        f"is in plain text; set it with `pulumi config set --secret {key}` so it is stored "
        "encrypted and masked in every output and log",
    )


def stack_file(stack: str, stacks_dir: Path | str = "stacks") -> Path:
    return Path(stacks_dir) / f"Pulumi.{stack}.yaml"


def _misspelled(namespace: str) -> bool:
    ratio = difflib.SequenceMatcher(None, namespace.lower(), PROJECT).ratio()
    return ratio >= 0.8


def _split_config(config: Mapping[Any, Any]) -> tuple[dict[str, Any], list[Issue]]:
    """Our namespace's keys (prefix stripped), and what is wrong with how they are spelled."""
    raw: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    issues: list[Issue] = []
    for key, value in config.items():
        if not isinstance(key, str):
            issues.append(Issue(repr(key), "config keys must be strings"))
            continue
        if ":" in key and not key.startswith(NAMESPACE):
            namespace = key.split(":", 1)[0]
            if _misspelled(namespace):
                issues.append(
                    Issue(
                        key,
                        f"namespace {namespace!r} is not {PROJECT!r}: keys of other namespaces "
                        "are ignored, so this value would have no effect",
                    )
                )
            continue  # another namespace: aviatrix:, azure-native:, aws:, kubernetes:, ...
        name = key.removeprefix(NAMESPACE)
        if name in spelled:
            issues.append(
                Issue(
                    name,
                    f"is set twice, as {spelled[name]!r} and {key!r}: one would silently "
                    "replace the other; keep one",
                )
            )
            continue
        spelled[name] = key
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
    return raw, issues


def raw_from_stack_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Pick our namespace out of a stack's ``config:`` map (keys may omit the project prefix)."""
    raw, issues = _split_config(config)
    if issues:
        raise SpecError(issues)
    return raw


def skips_version_validation(config: Mapping[str, Any]) -> bool:
    """The stack's ``aviatrix:skipVersionValidation`` (a YAML bool, or text from the engine)."""
    value = config.get(SKIP_VERSION_VALIDATION, False)
    return value is True or str(value).strip().lower() == "true"


def _provider_region(config: Mapping[str, Any], raw: Mapping[str, Any]) -> list[Issue]:
    """On AWS the VPC and subnets take their region from ``aws:region``, the gateway from
    ``network.region``: they must be the same region, and the first must be in the stack."""
    network = raw.get("network")
    region = network.get("region") if isinstance(network, Mapping) else None
    if raw.get("cloud") != "aws" or not isinstance(region, str):
        return []  # network.region itself is checked by validate()
    aws_region = config.get("aws:region")
    if aws_region is None:
        return [
            Issue(
                "aws:region",
                f"is not set: the AWS resources would go to whatever region the environment "
                f"names (AWS_REGION), the gateway to network.region {region!r}; set "
                f"aws:region: {region}",
            )
        ]
    if aws_region != region:
        return [
            Issue(
                "aws:region",
                f"{aws_region!r} differs from network.region {region!r}: the VPC and subnets "
                f"would be created in one region and the gateway in the other",
            )
        ]
    return []


def validate_config(config: Mapping[Any, Any]) -> Spec:
    """A stack's whole ``config:`` map (every namespace) -> Spec, or SpecError with every
    problem: spelling of keys, plain credentials, provider region, then :func:`validate`."""
    raw, issues = _split_config(config)
    issues += [
        _plain_credential(k)
        for k in sorted(CREDENTIAL_KEYS)
        if k in config and not (isinstance(config[k], Mapping) and "secure" in config[k])
    ]
    issues += _provider_region(config, raw)
    try:
        spec = validate(raw, skip_version_validation=skips_version_validation(config))
    except SpecError as exc:
        issues = [*exc.issues, *issues]
    if issues:
        raise SpecError(issues)
    return spec


def config_of(doc: Any, where: str) -> Mapping[Any, Any]:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("config"), Mapping):
        raise SpecError([Issue(where, "has no 'config:' map")])
    config: Mapping[Any, Any] = doc["config"]
    return config


def load_file(path: Path | str) -> Spec:
    """Validate a ``Pulumi.<stack>.yaml`` file; raise SpecError naming every bad key."""
    where = str(path)
    doc = parse_stack_text(read_text(path, "stack file"), where)
    return validate_config(config_of(doc, where))


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
    if not any(k.startswith(NAMESPACE) for k in config):
        return None
    # The program's own validation: the AWS provider's region, the provider's version check.
    return validate_config({k: _decode(v) for k, v in config.items() if k not in CREDENTIAL_KEYS})


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
    decoded = {k: _decode(v) for k, v in merged.items() if k not in CREDENTIAL_KEYS}
    return validate_config(decoded)
