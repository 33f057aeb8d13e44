"""What the policies read back from provider resources, beside the rulebase a ``DcfRulebase``
declares.

The DCF policies judge the declared rulebase (known at preview);
``dcf-rulesets-match-rulebase`` reads the component's rulesets back with :func:`ruleset_rules`
to hold them to it. A ruleset's layer is read from its name
(:func:`~mcp_containment.core.names.layer_of_ruleset`, the names
:class:`~mcp_containment.infra.aviatrix.dcf.DcfRulebase` gives); a ruleset named otherwise is
taken to sit at the earliest point, where it can shadow the most. Obot's servers get their
FirewallPolicies from Obot's controller, never as resources: :func:`planned_policies` computes
them from a registered catalog with the controller's own translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import names, npc
from ..core.model import Action, Decrypt, Layer, PortRange, Protocol, Rule
from . import resources as res
from .resources import Resource


def raw_rules(r: Resource) -> list[Mapping[str, Any]]:
    """A ruleset's rules as declared (wire form)."""
    return list(r.props.get("rules") or r.props.get("policies") or [])


def ruleset_layer(r: Resource) -> Layer:
    return names.layer_of_ruleset(str(r.props.get("name") or r.name)) or Layer.BEFORE_UI


def ruleset_rules(rs: Resource, by_uuid: Mapping[str, str]) -> list[Rule]:
    """A ruleset's rules as core values, in priority order, group references resolved to
    names through ``by_uuid`` (left as they are when unknown to it)."""

    def resolve(refs: Any) -> tuple[str, ...]:
        return tuple(by_uuid.get(str(u), str(u)) for u in refs or ())

    layer = ruleset_layer(rs)
    out = []
    for raw in sorted(raw_rules(rs), key=lambda x: float(x.get("priority") or 0)):
        decrypt = raw.get("decryptPolicy")
        out.append(
            Rule(
                name=str(raw.get("name")),
                priority=int(raw.get("priority") or 0),
                layer=layer,
                action=Action.DENY if str(raw.get("action")).upper() == "DENY" else Action.PERMIT,
                src=resolve(raw.get("srcSmartGroups")),
                dst=resolve(raw.get("dstSmartGroups")),
                protocol=Protocol.parse(str(raw.get("protocol") or "ANY")) or Protocol.ANY,
                ports=tuple(
                    PortRange(int(p["lo"]), int(p.get("hi") or p["lo"]))
                    for p in raw.get("portRanges") or ()
                ),
                web_groups=resolve(raw.get("webGroups")),
                decrypt_policy=Decrypt(decrypt) if decrypt else None,
                tls_required=raw.get("flowAppRequirement") == "TLS_REQUIRED",
                monitor=bool(raw.get("watch")),
                logging=bool(raw.get("logging")),
            )
        )
    return out


def planned_policies(r: Resource) -> list[tuple[str, dict[str, Any]]]:
    """(entry key, FirewallPolicy) for each server of a registered Obot catalog: what Obot's
    network-policy controller will write, by its own translation of the entry."""
    if r.type != res.OBOT_CATALOG:
        return []
    out = []
    for key, entry in sorted((r.props.get("entries") or {}).items()):
        obj = npc.planned(
            str(key),
            entry,
            default_deny=bool(r.props.get("defaultDenyAllEgress")),
            runtime_namespace=str(r.props.get("mcpNamespace") or ""),
        )
        if obj is not None:
            out.append((str(key), obj))
    return out


__all__ = ["planned_policies", "raw_rules", "ruleset_layer", "ruleset_rules"]
