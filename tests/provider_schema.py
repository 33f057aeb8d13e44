"""Validate wire payloads against the vendored schema of the pinned Aviatrix provider.

The snapshot (``tests/upstream/aviatrix-v<version>.json``) is extracted from the provider's Go
source by ``scripts/extract-aviatrix-schema.py``. A payload is what the engine hands the
``terraform-provider`` bridge: camelCase names, a block with MaxItems 1 as one object, other
list and set blocks as arrays under a pluralised name. The bridge's naming rule
(pulumi/pulumi-terraform-bridge ``pkg/tfbridge/names.go``, ``terraformToPulumiName``): a list or
set whose MaxItems is not 1 takes the inflector's plural (``attachment_point`` ->
``attachmentPoints``), then snake_case becomes camelCase.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from mcp_containment.core.versions import AVIATRIX_PROVIDER

from .helpers import ROOT

SNAPSHOT = ROOT / "tests" / "upstream" / f"aviatrix-v{AVIATRIX_PROVIDER}.json"

Schema = Mapping[str, Any]


@cache
def snapshot() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    return doc


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def plural(name: str) -> str:
    """The inflector's plural for the endings provider argument names have."""
    if name.endswith("s"):
        return name
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    if re.search(r"(ch|sh|x|z)$", name):
        return name + "es"
    return name + "s"


def is_plural_block(attr: Schema) -> bool:
    return attr.get("type") in ("list", "set") and attr.get("maxItems") != 1


def wire_name(tf_name: str, attr: Schema) -> str:
    return camel(plural(tf_name) if is_plural_block(attr) else tf_name)


def token(tf_name: str, *, data_source: bool = False) -> str:
    """The bridge's token for a resource (``aviatrix:index/dcfRuleset:DcfRuleset``) or data
    source (``aviatrix:index/getDcfAttachmentPoint:getDcfAttachmentPoint``)."""
    member = camel(tf_name.removeprefix("aviatrix_"))
    if data_source:
        member = "get" + member[:1].upper() + member[1:]
        return f"aviatrix:index/{member}:{member}"
    return f"aviatrix:index/{member}:{member[:1].upper()}{member[1:]}"


def schema_for(tok: str) -> Schema | None:
    doc = snapshot()
    for name, schema in doc["resources"].items():
        if token(name) == tok:
            return dict(schema)
    for name, schema in doc["dataSources"].items():
        if token(name, data_source=True) == tok:
            return dict(schema)
    return None


def _settable(attr: Schema) -> bool:
    return bool(attr.get("required") or attr.get("optional"))


def errors(payload: Mapping[str, Any], schema: Schema, path: str = "") -> list[str]:
    """Every way ``payload`` breaks ``schema``: unknown or computed-only arguments, missing
    required ones, wrong types, too many blocks, values outside an enum or a pattern."""
    out: list[str] = []
    by_wire = {wire_name(k, a): k for k, a in schema.items()}
    for key, value in payload.items():
        if value is None:
            continue
        where = f"{path}{key}"
        tf = by_wire.get(key)
        if tf is None:
            out.append(f"{where}: unknown argument")
            continue
        if not _settable(schema[tf]):
            out.append(f"{where}: computed by the provider, cannot be set")
            continue
        out.extend(_value_errors(value, schema[tf], where))
    for tf, attr in schema.items():
        if attr.get("required") and payload.get(wire_name(tf, attr)) is None:
            out.append(f"{path}{wire_name(tf, attr)}: missing required argument")
    return out


def _value_errors(value: Any, attr: Schema, where: str) -> list[str]:
    kind = attr["type"]
    if kind in ("list", "set"):
        return _block_errors(value, attr, where)
    if kind == "map":
        if not isinstance(value, Mapping):
            return [f"{where}: expected a map, got {type(value).__name__}"]
        elem = attr.get("elem") or {"type": "string"}
        return [e for k, v in value.items() for e in _value_errors(v, elem, f"{where}.{k}")]
    return _scalar_errors(value, attr, where)


def _block_errors(value: Any, attr: Schema, where: str) -> list[str]:
    elem, nested = attr.get("elem") or {}, attr.get("elemKind") == "resource"
    if attr.get("maxItems") == 1 and nested:
        if not isinstance(value, Mapping):
            return [f"{where}: a block with MaxItems 1 is one object, got {type(value).__name__}"]
        return errors(value, elem, f"{where}.")
    if not isinstance(value, list):
        return [f"{where}: expected a list, got {type(value).__name__}"]
    out = []
    if "maxItems" in attr and len(value) > attr["maxItems"]:
        out.append(f"{where}: {len(value)} items, more than MaxItems {attr['maxItems']}")
    for i, item in enumerate(value):
        if nested:
            if not isinstance(item, Mapping):
                out.append(f"{where}[{i}]: expected a block, got {type(item).__name__}")
            else:
                out.extend(errors(item, elem, f"{where}[{i}]."))
        else:
            out.extend(_value_errors(item, elem, f"{where}[{i}]"))
    return out


_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "int": (int,), "bool": (bool,)}


def _scalar_errors(value: Any, attr: Schema, where: str) -> list[str]:
    kind = attr["type"]
    ok = isinstance(value, _TYPES.get(kind, (str, int, float, bool)))
    if kind == "int" and isinstance(value, bool):
        ok = False
    if kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok:
        return [f"{where}: expected {kind}, got {type(value).__name__} {value!r}"]
    out = []
    if "enum" in attr:
        allowed = attr["enum"]
        fold = attr.get("enumIgnoreCase", False)
        found = str(value).lower() in {a.lower() for a in allowed} if fold else value in allowed
        if not found:
            out.append(f"{where}: {value!r} is not one of {allowed}")
    if "pattern" in attr and not re.search(attr["pattern"], str(value)):
        out.append(f"{where}: {value!r} does not match {attr['pattern']}")
    if "min" in attr and value < attr["min"]:
        out.append(f"{where}: {value} is below {attr['min']}")
    if "max" in attr and value > attr["max"]:
        out.append(f"{where}: {value} is above {attr['max']}")
    for validator in attr.get("validators", ()):
        out.extend(_validator_errors(validator, value, where))
    for alternative in [attr["anyOf"]] if "anyOf" in attr else []:
        tried = [_validator_errors(v, value, where) for a in alternative for v in a["validators"]]
        if all(tried):
            out.append(f"{where}: {value!r} satisfies none of {alternative}")
    return out


def _validator_errors(name: str, value: Any, where: str) -> list[str]:
    """The provider's named validators we can restate; the rest are the provider's to apply."""
    text = str(value)
    if name == "validation.StringIsNotWhiteSpace" and not text.strip():
        return [f"{where}: must not be blank"]
    if name == "validation.IsCIDR":
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            return [f"{where}: {text!r} is not a CIDR"]
        return [] if "/" in text else [f"{where}: {text!r} is not a CIDR"]
    if name == "validation.IsIPAddress":
        try:
            ipaddress.ip_address(text)
        except ValueError:
            return [f"{where}: {text!r} is not an IP address"]
    if name == "validateAzureAZ" and not text.startswith("az-"):
        return [f"{where}: {text!r} is not an Azure zone (az-N)"]
    return []
