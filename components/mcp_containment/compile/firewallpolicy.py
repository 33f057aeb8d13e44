"""Per-server FirewallPolicy objects (``networking.aviatrix.com/v1alpha1``) for a spec.

:func:`generate` builds the object Obot's Aviatrix network-policy provider would reconcile for
an MCP server: the server's pods (by ``app`` label, or by /32 pod CIDRs in the EKS fallback),
``any-destination`` 0.0.0.0/0, one WebGroup of the server's sorted domains, then
``allow-approved-egress`` (TCP/443 to those domains) and ``deny-all-external``. A server that
declares ``denyAllEgress`` (or declares nothing while Obot's default is deny-all) gets the deny
rule alone; Obot's allow-all default is the domain list ``["*"]``.

:func:`mcp_containment.core.band.to_rules` reads such an object back as Kubernetes-band rules.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..config.schema import McpServer, PodIdentity, Spec
from ..core import names
from ..core.band import API_VERSION, KIND, MAX_NAME, SERVER_LABEL
from ..core.fqdn import MATCH_ALL
from ..core.model import DEFAULT_ROUTE

ANY_DESTINATION = "any-destination"
POD_LABEL = "app"
MANAGED_BY = "app.kubernetes.io/managed-by"
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
        if spec.k8s_cluster_id:
            pod_selectors[0]["k8sClusterId"] = spec.k8s_cluster_id
    smart_groups = [
        {"name": pods, "selectors": pod_selectors},
        {"name": ANY_DESTINATION, "selectors": [{"cidr": DEFAULT_ROUTE}]},
    ]
    rules: list[dict[str, Any]] = []
    web_groups: list[dict[str, Any]] = []
    if domains is not None:
        web_group = truncate_name(f"{name}-domains")
        web_groups.append({"name": web_group, "domains": list(domains)})
        rules.append(
            {
                "name": names.FP_ALLOW,
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
            "name": names.FP_DENY,
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
