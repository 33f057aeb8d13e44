"""Validate manifests against the upstream FirewallPolicy and WebgroupPolicy CRDs.

The CRDs ship verbatim in ``mcp_containment/data/crds`` (Apache-2.0, from
AviatrixSystems/k8s-firewall-charts): FirewallPolicy from chart 10.1.0, WebgroupPolicy from
chart 8.2.0, each file naming its commit. The library deploys chart
:data:`~mcp_containment.core.versions.K8S_FIREWALL_CHART`, the newest the chart repository
publishes; its FirewallPolicy CRD lacks the rule fields
:data:`RULE_FIELDS_AFTER_PUBLISHED` (see :func:`unpublished_fields`). Their OpenAPI v3 schemas
are checked with jsonschema;
the CEL rules (``x-kubernetes-validations``) are not JSON Schema, so the two that exist are
restated here as Python checks with the CRD's own messages. Structural-schema rules the API
server would also apply (unknown fields are pruned, not refused) are noted, not enforced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema
import yaml

RULE_FIELDS_AFTER_PUBLISHED = frozenset(
    {"decryptPolicy", "flowAppRequirement", "logProfile", "tlsProfile", "watch"}
)
"""FirewallPolicy rule fields of the vendored CRD (chart 10.1.0) that the chart 8.2.0 CRD lacks.
The chart repository's history holds two versions of that CRD, first seen at the 8.2.0 and the
10.1.0 commits, so the published 10.0.0 ships the 8.2.0 one: an API server prunes these fields
from a FirewallPolicy it stores, silently (a ``watch: true`` rule would be enforced)."""

CRD_FILES = {
    "FirewallPolicy": "firewallpolicies.networking.aviatrix.com.yaml",
    "WebgroupPolicy": "webgrouppolicies.networking.aviatrix.com.yaml",
}


@cache
def crd(kind: str) -> dict[str, Any]:
    text = resources.files("mcp_containment").joinpath(f"data/crds/{CRD_FILES[kind]}").read_text()
    doc: dict[str, Any] = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return doc


def _schema(kind: str) -> dict[str, Any]:
    doc = crd(kind)
    version = next(v for v in doc["spec"]["versions"] if v["served"] and v["storage"])
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


@cache
def _validator(kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(_schema(kind))


@cache
def _is_valid(kind: str) -> Callable[[Any], Any]:
    """A compiled validator for the common case (valid objects): about 50x faster than the
    interpreting one, which still produces the full list of reasons when this one refuses."""
    return fastjsonschema.compile(_schema(kind))


def _refs(rule: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for key in ("destinationSmartGroups", "webGroups"):
        for i, ref in enumerate(rule.get(key) or ()):
            yield f"{key}[{i}]", ref


def _selector_errors(where: str, selector: Mapping[str, Any] | None) -> Iterator[str]:
    if not selector:
        return
    if selector.get("matchLabels") and selector.get("service"):
        yield f"{where}.selector: service is forbidden when matchLabels is set"


def _cel_errors(obj: Mapping[str, Any]) -> Iterator[str]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "WebgroupPolicy":
        yield from _selector_errors("spec", spec.get("selector"))
        return
    for i, rule in enumerate(spec.get("rules") or ()):
        where = f"spec.rules[{i}]"
        for path, ref in _refs(rule):
            if ("name" in ref) == ("uuid" in ref):
                yield f"{where}.{path}: Either name or uuid must be set, but not both."
        yield from _selector_errors(where, rule.get("selector"))


def _reference_errors(obj: Mapping[str, Any]) -> Iterator[str]:
    """Names a rule uses must be defined by the policy (or be UUIDs of controller objects)."""
    if obj.get("kind") != "FirewallPolicy":
        return
    spec = obj.get("spec") or {}
    smart = {g.get("name") for g in spec.get("smartGroups") or ()}
    web = {g.get("name") for g in spec.get("webGroups") or ()}
    names: dict[str, int] = {}
    for i, rule in enumerate(spec.get("rules") or ()):
        names[rule.get("name", "")] = names.get(rule.get("name", ""), 0) + 1
        for j, ref in enumerate(rule.get("destinationSmartGroups") or ()):
            if "name" in ref and ref["name"] not in smart:
                yield f"spec.rules[{i}].destinationSmartGroups[{j}]: no smartGroup {ref['name']!r}"
        for j, ref in enumerate(rule.get("webGroups") or ()):
            if "name" in ref and ref["name"] not in web:
                yield f"spec.rules[{i}].webGroups[{j}]: no webGroup {ref['name']!r}"
        if "endPort" in rule and "port" not in rule:
            yield f"spec.rules[{i}]: endPort is set without port"
    for name, count in names.items():
        if count > 1:
            yield f"spec.rules: rule name {name!r} is not unique within the policy"


def unpublished_fields(obj: Mapping[str, Any]) -> list[str]:
    """Paths of rule fields the published chart's FirewallPolicy CRD does not have."""
    rules = (obj.get("spec") or {}).get("rules") or ()
    return [
        f"spec.rules[{i}].{key}"
        for i, rule in enumerate(rules)
        for key in sorted(rule)
        if key in RULE_FIELDS_AFTER_PUBLISHED
    ]


def errors(obj: Mapping[str, Any]) -> list[str]:
    """Every reason ``obj`` would be refused (or would not reconcile); empty when valid."""
    kind = obj.get("kind")
    if kind not in CRD_FILES:
        return [f"kind: {kind!r} is not one of {', '.join(CRD_FILES)}"]
    out = []
    if obj.get("apiVersion") != "networking.aviatrix.com/v1alpha1":
        out.append(f"apiVersion: {obj.get('apiVersion')!r} is not networking.aviatrix.com/v1alpha1")
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    if not name or len(name) > 63:
        out.append(f"metadata.name: {name!r} must be 1-63 characters")
    try:
        _is_valid(kind)(dict(obj))
        schema_errors = []
    except fastjsonschema.JsonSchemaException:
        schema_errors = list(_validator(kind).iter_errors(dict(obj)))
    for err in sorted(schema_errors, key=lambda e: list(e.path)):
        path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err.path)
        out.append(f"{path.replace('.[', '[') or '<root>'}: {err.message}")
    out.extend(_cel_errors(obj))
    out.extend(_reference_errors(obj))
    return out
