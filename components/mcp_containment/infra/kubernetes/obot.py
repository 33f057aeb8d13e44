"""``Obot``: the MCP gateway and runtime, with Aviatrix's network-policy provider turned on and
MCP servers denied all egress unless they declare domains.

Everything else about Obot (hostname, auth, database, replicas) is the chart's: pass it in
``ObotArgs.values``. The keys the containment depends on are the library's, and a value that
tries to change one is refused rather than silently overridden either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ...core.names import OBOT_DENY_ALL_EGRESS
from . import charts

COMPONENT = "mcp-containment:kubernetes:Obot"


@dataclass(frozen=True, kw_only=True)
class ObotArgs:
    chart_version: str
    """An exact chart version (``v0.21.0``): a range would make two previews differ."""
    namespace: pulumi.Input[str] = "obot-system"
    """Obot's own namespace (its MCP servers run in ``<release>-mcp`` unless configured)."""
    release_name: str = charts.OBOT_CHART
    """The Helm release name (Obot derives its MCP namespace default from it)."""
    default_deny_all_egress: bool = True
    """``OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS``: servers that declare no domain get none."""
    network_policy_provider_version: str = "v0.0.1"
    """The ``aviatrix-network-policy-controller`` chart Obot installs to write FirewallPolicies."""
    repository: str = charts.OBOT_REPO
    values: Mapping[str, Any] = field(default_factory=dict)
    """Any other chart values, merged under the keys above (see :func:`obot_values`)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The CRD release: the provider controller crashes without the CRDs."""


def enforced_values(args: ObotArgs) -> dict[str, Any]:
    """The values the containment depends on; Obot reads its server settings from ``config``
    as environment."""
    return {
        "config": {
            OBOT_DENY_ALL_EGRESS: "true" if args.default_deny_all_egress else "false",
            charts.PROVIDER_CHART_REPO: args.repository,
            charts.PROVIDER_CHART_NAME: charts.NETWORK_POLICY_PROVIDER_CHART,
            charts.PROVIDER_CHART_VERSION: args.network_policy_provider_version,
        }
    }


def obot_values(args: ObotArgs) -> dict[str, Any]:
    """``args.values`` with the enforced keys laid over them; a user value at an enforced key
    that differs from the library's is an error naming the key."""
    return _merge(dict(args.values), enforced_values(args), "values")


def _merge(user: dict[str, Any], enforced: Mapping[str, Any], path: str) -> dict[str, Any]:
    out = dict(user)
    for key, value in enforced.items():
        where = f"{path}.{key}"
        mine = out.get(key)
        if isinstance(value, Mapping):
            if mine is not None and not isinstance(mine, Mapping):
                raise ValueError(f"ObotArgs.{where} must be a mapping: the library sets keys in it")
            out[key] = _merge(dict(mine or {}), value, where)
        elif key in out and str(mine) != str(value):
            raise ValueError(
                f"ObotArgs.{where} is {mine!r}, but the library sets it to {value!r}: it is "
                "what contains MCP servers' egress; change it through ObotArgs instead"
            )
        else:
            out[key] = value
    return out


class Obot(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: ObotArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self.release = k8s.helm.v3.Release(
            name,
            name=args.release_name,
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
