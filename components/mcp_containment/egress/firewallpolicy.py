"""Per-server FirewallPolicy objects (``networking.aviatrix.com/v1alpha1``), and their rules.

:func:`generate` builds the object Obot's Aviatrix network-policy provider would reconcile for
an MCP server: the server's pods (by ``app`` label, or by /32 pod CIDRs in the EKS fallback),
``any-destination`` 0.0.0.0/0, one WebGroup of the server's sorted domains, then
``allow-approved-egress`` (TCP/443 to those domains) and ``deny-all-external``. A server that
declares ``denyAllEgress`` (or declares nothing while Obot's default is deny-all) gets the deny
rule alone; Obot's allow-all default is the domain list ``["*"]``.

:func:`to_rules` reads such an object back into DCF rules for the Kubernetes band, so the band
the simulator and the analysis see is derived from the very objects that are deployed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..spec import McpServer, PodIdentity, Spec
from . import catalog
from .fqdn import MATCH_ALL
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

API_VERSION = "networking.aviatrix.com/v1alpha1"
KIND = "FirewallPolicy"
MAX_NAME = 63
ANY_DESTINATION = "any-destination"
POD_LABEL = "app"
MANAGED_BY = "app.kubernetes.io/managed-by"
SERVER_LABEL = "obot.ai/mcp-server"
GENERATOR = "mcp-containment"


def truncate_name(name: str, limit: int = MAX_NAME) -> str:
    """Kubernetes-safe name of at most ``limit`` characters; long names keep a stable hash
    suffix so two long names that share a prefix never collide."""
    name = name.lower().strip("-.")
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


def policy_name(server: str) -> str:
    return truncate_name(f"{server.lower().replace('_', '-')}-egress")


def effective_domains(spec: Spec, server: McpServer) -> tuple[str, ...] | None:
    """The server's permitted domains, sorted; None when it may reach nothing."""
    if server.deny_all_egress:
        return None
    if server.egress_domains:
        return tuple(sorted(server.egress_domains))
    return None if spec.kubernetes.obot.default_deny_all_egress else (MATCH_ALL,)


def generate(spec: Spec, server: McpServer) -> dict[str, Any]:
    """The FirewallPolicy manifest for one MCP server."""
    name = policy_name(server.name)
    namespace = spec.kubernetes.obot.mcp_namespace
    domains = effective_domains(spec, server)
    selector = {"matchLabels": {POD_LABEL: server.name}}
    pods = truncate_name(f"{name}-pods")
    if spec.kubernetes.pod_identity is PodIdentity.CIDR:
        pod_selectors: list[dict[str, Any]] = [{"cidr": c} for c in server.pod_cidrs]
    else:
        pod_selectors = [
            {"type": "k8s", "k8sNamespace": namespace, "tags": {POD_LABEL: server.name}}
        ]
        if spec.kubernetes.cluster_id:
            pod_selectors[0]["k8sClusterId"] = spec.kubernetes.cluster_id
    smart_groups = [
        {"name": pods, "selectors": pod_selectors},
        {"name": ANY_DESTINATION, "selectors": [{"cidr": "0.0.0.0/0"}]},
    ]
    rules: list[dict[str, Any]] = []
    web_groups: list[dict[str, Any]] = []
    if domains is not None:
        web_group = truncate_name(f"{name}-domains")
        web_groups.append({"name": web_group, "domains": list(domains)})
        rules.append(
            {
                "name": catalog.FP_ALLOW,
                "action": "permit",
                "protocol": "tcp",
                "port": 443,
                "selector": selector,
                "destinationSmartGroups": [{"name": ANY_DESTINATION}],
                "webGroups": [{"name": web_group}],
                "logging": True,
            }
        )
    rules.append(
        {
            "name": catalog.FP_DENY,
            "action": "deny",
            "protocol": "any",
            "selector": selector,
            "destinationSmartGroups": [{"name": ANY_DESTINATION}],
            "logging": True,
        }
    )
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_BY: GENERATOR, SERVER_LABEL: server.name},
        },
        "spec": {"smartGroups": smart_groups, "webGroups": web_groups, "rules": rules},
    }


# --- reading an object back as Kubernetes-band rules ------------------------------------------


@dataclass(frozen=True, slots=True)
class BandRules:
    smart_groups: tuple[SmartGroup, ...]
    web_groups: tuple[WebGroup, ...]
    rules: tuple[Rule, ...]
    sources: tuple[str, ...]
    """The SmartGroups standing for this policy's pods."""


_ACTIONS = {
    "permit": Action.PERMIT,
    "deny": Action.DENY,
    "intrusion_detection_permit": Action.PERMIT,
}
_PROTOCOLS = {"tcp": Protocol.TCP, "udp": Protocol.UDP, "icmp": Protocol.ICMP, "any": Protocol.ANY}


def _selector(raw: Mapping[str, Any]) -> Selector:
    if "cidr" in raw:
        kind = SelectorKind.ANYWHERE if raw["cidr"] == "0.0.0.0/0" else SelectorKind.CIDR
        return Selector(kind, cidr=raw["cidr"])
    return Selector(
        SelectorKind.K8S,
        k8s_cluster_id=raw.get("k8sClusterId"),
        k8s_namespace=raw.get("k8sNamespace"),
        tags=tuple(sorted((raw.get("tags") or {}).items())),
    )


def to_rules(obj: Mapping[str, Any]) -> BandRules:
    """DCF rules for one FirewallPolicy. Group names are qualified with the policy
    (``namespace/policy/group``) because every policy defines its own ``any-destination``."""
    meta, body = obj["metadata"], obj["spec"]
    qual = f"{meta['namespace']}/{meta['name']}"

    def q(n: str) -> str:
        return f"{qual}/{n}"

    groups = tuple(
        SmartGroup(q(g["name"]), tuple(_selector(s) for s in g.get("selectors", ())))
        for g in body.get("smartGroups", ())
    )
    webs = tuple(
        WebGroup(q(w["name"]), tuple(w.get("domains", ()))) for w in body.get("webGroups", ())
    )
    # The rule's selector picks the policy's own pods: the pod SmartGroup of this policy.
    pod_groups = tuple(
        g.name for g in groups if not any(s.kind is SelectorKind.ANYWHERE for s in g.selectors)
    )
    server = meta.get("labels", {}).get(SERVER_LABEL, meta["name"])
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
                protocol=_PROTOCOLS[raw.get("protocol", "any")],
                ports=ports,
                web_groups=tuple(q(w["name"]) for w in raw.get("webGroups", ())),
                watch=bool(raw.get("watch", False)),
                logging=bool(raw.get("logging", False)),
                origin=f"server:{server}",
                policy=qual,
            )
        )
    return BandRules(groups, webs, tuple(rules), pod_groups)
