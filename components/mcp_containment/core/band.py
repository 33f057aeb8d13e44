"""The Kubernetes band: FirewallPolicy objects (``networking.aviatrix.com/v1alpha1``) read as
DCF rules.

The cluster's Aviatrix controller turns each FirewallPolicy into rules of the Kubernetes band.
:func:`to_rules` does the same reading, so the band the simulator, the analysis and the policy
pack see is derived from the objects themselves: the ones Obot's network-policy controller
writes for Obot's servers (:mod:`mcp_containment.core.npc`) and the ones this library declares
for workloads Obot does not manage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .model import (
    Action,
    Layer,
    PortRange,
    Protocol,
    Rule,
    Selector,
    SelectorKind,
    SmartGroup,
    WebGroup,
)

API_VERSION: Final = "networking.aviatrix.com/v1alpha1"
KIND: Final = "FirewallPolicy"
MAX_NAME: Final = 63
OBOT_SERVER_LABEL: Final = "obot.ai/mcp-server-name"
"""Set by Obot's network-policy controller: the Obot server a FirewallPolicy is for."""
WORKLOAD_LABEL: Final = "mcp-containment/workload"
"""Set by this library on the FirewallPolicy of a workload Obot does not manage."""


@dataclass(frozen=True, slots=True)
class BandRules:
    smart_groups: tuple[SmartGroup, ...]
    web_groups: tuple[WebGroup, ...]
    rules: tuple[Rule, ...]


_ACTIONS = {
    "permit": Action.PERMIT,
    "deny": Action.DENY,
    "intrusion_detection_permit": Action.PERMIT,
}


def policy_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    """Where a FirewallPolicy sits in the band: by namespace, then name."""
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def to_rules(obj: Mapping[str, Any]) -> BandRules:
    """DCF rules for one FirewallPolicy. Group names are qualified with the policy
    (``namespace/policy/group``) because every policy defines its own ``any-destination``."""
    meta, body = obj["metadata"], obj["spec"]
    qual = f"{meta['namespace']}/{meta['name']}"

    def q(n: str) -> str:
        return f"{qual}/{n}"

    groups = tuple(
        SmartGroup(q(g["name"]), tuple(Selector.from_wire(s) for s in g.get("selectors", ())))
        for g in body.get("smartGroups", ())
    )
    webs = tuple(
        WebGroup(q(w["name"]), tuple(w.get("domains", ()))) for w in body.get("webGroups", ())
    )
    # The rule's selector picks the policy's own pods: the pod SmartGroup of this policy.
    pod_groups = tuple(
        g.name for g in groups if not any(s.kind is SelectorKind.ANYWHERE for s in g.selectors)
    )
    labels = meta.get("labels") or {}
    server = labels.get(OBOT_SERVER_LABEL) or labels.get(WORKLOAD_LABEL) or meta["name"]
    rules: list[Rule] = []
    for raw in body["rules"]:
        port = raw.get("port")
        ports = (PortRange(port, raw.get("endPort", port)),) if port is not None else ()
        rules.append(
            Rule(
                name=f"{qual}:{raw['name']}",
                priority=len(rules),
                layer=Layer.KUBERNETES,
                action=_ACTIONS[raw.get("action", "permit")],
                src=pod_groups,
                dst=tuple(q(d["name"]) for d in raw["destinationSmartGroups"]),
                protocol=Protocol.parse(str(raw.get("protocol", "any"))) or Protocol.ANY,
                ports=ports,
                web_groups=tuple(q(w["name"]) for w in raw.get("webGroups", ())),
                monitor=bool(raw.get("watch", False)),
                logging=bool(raw.get("logging", False)),
                origin=f"server:{server}",
                firewall_policy=qual,
            )
        )
    return BandRules(groups, webs, tuple(rules))
