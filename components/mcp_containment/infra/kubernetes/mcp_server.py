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
from ...config.schema import McpWorkload, Spec
from ...core import band

COMPONENT = "mcp-containment:kubernetes:McpServerEgress"


@dataclass(frozen=True, kw_only=True)
class McpServerEgressArgs:
    spec: Spec
    """The deployment the workload belongs to (pod identity, cluster id)."""
    workload: McpWorkload
    """The workload: its namespace, pod labels and egress."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The CRD release: a FirewallPolicy applied before its CRD fails the update."""


class McpServerEgress(pulumi.ComponentResource):
    policy: k8s.apiextensions.CustomResource
    manifest: dict[str, object]

    def __init__(
        self, name: str, args: McpServerEgressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self.manifest = firewallpolicy.workload(args.spec, args.workload)
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
