"""The FirewallPolicy objects (``networking.aviatrix.com/v1alpha1``) of the Kubernetes band.

Two owners, never both for one workload:

* An **Obot-managed server** (``mcpServers``) gets its policy from Obot's network-policy
  controller, which translates the MCPNetworkPolicy Obot writes when a server is launched.
  :func:`planned` is that object, computed with the controller's own translation
  (:func:`mcp_containment.core.npc.planned`) from the catalog entry the stack renders; the
  library never declares it.
* A **workload Obot does not manage** (``mcpWorkloads``, your own Deployment) gets the policy
  :func:`workload` builds, declared by ``McpServerEgress``: the controller's shape (pods,
  ``any-destination``, one WebGroup, ``allow-approved-egress`` then ``deny-all-external``) with
  the workload's own pod labels. A workload that lists no domain gets the deny rule alone:
  Obot's allow-all default is Obot's, not the library's.

:func:`mcp_containment.core.band.to_rules` reads either kind back as Kubernetes-band rules.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..config.schema import McpServer, McpWorkload, PodIdentity, Spec
from ..core import names, npc
from ..core.band import API_VERSION, KIND, MAX_NAME, WORKLOAD_LABEL
from ..core.model import DEFAULT_ROUTE
from ..core.obot import go_sorted
from . import catalog

ANY_DESTINATION = npc.ANY_DESTINATION
MANAGED_BY = "app.kubernetes.io/managed-by"
GENERATOR = "mcp-containment"


def planned(spec: Spec, server: McpServer) -> dict[str, Any] | None:
    """What the controller will write for ``server`` (None for a remote server)."""
    return npc.planned(
        server.name,
        catalog.entry(server),
        default_deny=spec.kubernetes.obot.default_deny_all_egress,
        runtime_namespace=spec.kubernetes.obot.mcp_namespace,
    )


def truncate_name(name: str, limit: int = MAX_NAME) -> str:
    """Kubernetes-safe name of at most ``limit`` characters; long names keep a stable hash
    suffix so two long names that share a prefix never collide."""
    name = name.lower().strip("-.")
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


def policy_name(workload: str) -> str:
    return truncate_name(f"{workload.lower().replace('_', '-')}-egress")


def _pod_selectors(
    workload: McpWorkload, pod_identity: PodIdentity, cluster_id: str | None
) -> list[dict[str, Any]]:
    if pod_identity is PodIdentity.CIDR:
        return [{"cidr": c} for c in workload.pod_cidrs]
    selector: dict[str, Any] = {
        "type": "k8s",
        "k8sNamespace": workload.namespace,
        "tags": dict(sorted(workload.pod_labels.items())),
    }
    if cluster_id:
        selector["k8sClusterId"] = cluster_id
    return [selector]


def workload(spec: Spec, w: McpWorkload) -> dict[str, Any]:
    """The FirewallPolicy manifest the library declares for a self-managed workload."""
    return workload_manifest(
        w, pod_identity=spec.kubernetes.pod_identity, cluster_id=spec.k8s_cluster_id
    )


def workload_manifest(
    w: McpWorkload, *, pod_identity: PodIdentity = PodIdentity.LABELS, cluster_id: str | None = None
) -> dict[str, Any]:
    """:func:`workload` from the workload alone: how its pods are selected (labels or /32 pod
    CIDRs) and the onboarded cluster's id (lower-cased for AKS) are all it needs of a stack."""
    name = policy_name(w.name)
    selector = {"matchLabels": dict(sorted(w.pod_labels.items()))}
    rules: list[dict[str, Any]] = []
    web_groups: list[dict[str, Any]] = []
    if w.egress_domains and not w.deny_all_egress:
        web_group = truncate_name(f"{name}-domains")
        web_groups.append({"name": web_group, "domains": go_sorted(w.egress_domains)})
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
            "namespace": w.namespace,
            "labels": {MANAGED_BY: GENERATOR, WORKLOAD_LABEL: w.name},
        },
        "spec": {
            "smartGroups": [
                {
                    "name": truncate_name(f"{name}-pods"),
                    "selectors": _pod_selectors(w, pod_identity, cluster_id),
                },
                {"name": ANY_DESTINATION, "selectors": [{"cidr": DEFAULT_ROUTE}]},
            ],
            "webGroups": web_groups,
            "rules": rules,
        },
    }
