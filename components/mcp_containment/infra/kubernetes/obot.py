"""``Obot``: the MCP gateway and runtime, with Aviatrix's network-policy provider turned on and
MCP servers denied all egress unless they declare domains."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ...core.names import OBOT_DENY_ALL_EGRESS
from . import charts

COMPONENT = "mcp-containment:kubernetes:Obot"


@dataclass(frozen=True, kw_only=True)
class ObotArgs:
    chart_version: str
    namespace: str = "obot-system"
    default_deny_all_egress: bool = True
    network_policy_provider_version: str = "v0.0.1"
    repository: str = charts.OBOT_REPO
    depends_on: Sequence[pulumi.Resource] = ()
    """The CRD release: the provider controller crashes without the CRDs."""


def obot_values(args: ObotArgs) -> dict[str, object]:
    """The chart values; Obot reads its server settings from ``config`` as environment."""
    return {
        "config": {
            OBOT_DENY_ALL_EGRESS: "true" if args.default_deny_all_egress else "false",
            charts.PROVIDER_CHART_REPO: args.repository,
            charts.PROVIDER_CHART_NAME: charts.NETWORK_POLICY_PROVIDER_CHART,
            charts.PROVIDER_CHART_VERSION: args.network_policy_provider_version,
        }
    }


class Obot(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: ObotArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self.release = k8s.helm.v3.Release(
            name,
            name=charts.OBOT_CHART,
            chart=charts.OBOT_CHART,
            version=args.chart_version,
            repository_opts={"repo": args.repository},
            namespace=args.namespace,
            create_namespace=True,
            values=obot_values(args),
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"release": self.release.name, "version": args.chart_version})
