"""``McpServerEgress``: the FirewallPolicy of one MCP server Obot does not manage.

Obot's own servers get theirs from Obot's network-policy controller, never from here: a policy
declared beside the controller's would select no pod (Obot labels pods with generated names)
and the controller would neither own nor prune it. This component is for your own MCP server
Deployments (``mcpWorkloads``), selected by the pod labels you give, and validated against the
same CRD.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from ...compile import firewallpolicy
from ...config.schema import McpWorkload, PodIdentity
from ...core import band

COMPONENT = "mcp-containment:kubernetes:McpServerEgress"


@dataclass(frozen=True, kw_only=True)
class McpServerEgressArgs:
    workload: McpWorkload
    """The workload: its namespace, pod labels and egress (validated as the stack file's
    ``mcpWorkloads`` entries are)."""
    pod_identity: PodIdentity = PodIdentity.LABELS
    """How the controller selects its pods: by label, or by /32 pod CIDRs (the EKS fallback)."""
    cluster_id: str | None = None
    """The onboarded cluster's id, for label selectors (AKS ids lower-cased)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The CRD release: a FirewallPolicy applied before its CRD fails the update."""


class McpServerEgress(pulumi.ComponentResource):
    policy: k8s.apiextensions.CustomResource
    manifest: dict[str, object]

    def __init__(
        self, name: str, args: McpServerEgressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self.manifest = firewallpolicy.workload_manifest(
            args.workload, pod_identity=args.pod_identity, cluster_id=args.cluster_id
        )
        self.policy = k8s.apiextensions.CustomResource(
            name,
            api_version=band.API_VERSION,
            kind=band.KIND,
            metadata=cast(dict[str, Any], self.manifest["metadata"]),
            spec=self.manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        meta = cast(dict[str, Any], self.manifest["metadata"])
        self.register_outputs({"policyName": meta["name"], "namespace": meta["namespace"]})
