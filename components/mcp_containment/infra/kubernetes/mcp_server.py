"""``McpServerEgress``: the FirewallPolicy for one MCP server, declared in code.

The manifest is the one the egress core generates, the object Obot's Aviatrix provider
controller would produce for the same server, so a server declared here and one deployed
through Obot get identical policies, and the ruleset the simulator evaluates is this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from ...compile import firewallpolicy
from ...config.schema import McpServer, Spec
from ...core import band

COMPONENT = "mcp-containment:kubernetes:McpServerEgress"


@dataclass(frozen=True, kw_only=True)
class McpServerEgressArgs:
    spec: Spec
    """The deployment the server belongs to (namespace, pod identity, cluster id)."""
    server: McpServer
    depends_on: Sequence[pulumi.Resource] = ()
    """The CRD release: a FirewallPolicy applied before its CRD fails the update."""


class McpServerEgress(pulumi.ComponentResource):
    policy: k8s.apiextensions.CustomResource
    manifest: dict[str, object]

    def __init__(
        self, name: str, args: McpServerEgressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self.manifest = firewallpolicy.generate(args.spec, args.server)
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
