"""``K8sFirewall``: the ``k8s-firewall`` chart, which installs the FirewallPolicy and
WebgroupPolicy CRDs (``networking.aviatrix.com/v1alpha1``) that everything else uses.

It is its own release, declared before Obot: Obot's network-policy provider crashes when the
CRDs are missing, and a FirewallPolicy applied before its CRD fails the whole update. On AKS it
also configures ip-masq-agent so pod source addresses reach the gateway unmasqueraded; without
it every pod looks like its node and per-server rules cannot tell servers apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from . import charts

COMPONENT = "mcp-containment:kubernetes:K8sFirewall"
IP_MASQ_CONFIGMAP = "azure-ip-masq-agent-config"


@dataclass(frozen=True, kw_only=True)
class K8sFirewallArgs:
    chart_version: str
    """An exact version: a range would make two previews of one commit differ."""
    namespace: str = "aviatrix-system"
    repository: str = charts.K8S_FIREWALL_REPO
    unmasquerade_pods: bool = False
    """AKS: ``nonMasqueradeCIDRs: [0.0.0.0/0]`` so the gateway sees pod addresses."""


class K8sFirewall(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: K8sFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        depends: list[pulumi.Resource] = []
        if args.unmasquerade_pods:
            depends.append(
                k8s.core.v1.ConfigMap(
                    f"{name}-ip-masq-agent",
                    metadata={
                        "name": IP_MASQ_CONFIGMAP,
                        "namespace": "kube-system",
                        "labels": {
                            "component": "ip-masq-agent",
                            "kubernetes.io/cluster-service": "true",
                            "addonmanager.kubernetes.io/mode": "EnsureExists",
                        },
                    },
                    data={
                        "ip-masq-agent": "nonMasqueradeCIDRs:\n  - 0.0.0.0/0\nmasqLinkLocal: true\n"
                    },
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.release = k8s.helm.v3.Release(
            name,
            name=charts.K8S_FIREWALL_CHART,
            chart=charts.K8S_FIREWALL_CHART,
            version=args.chart_version,
            repository_opts={"repo": args.repository},
            namespace=args.namespace,
            create_namespace=True,
            skip_crds=False,
            # A half-installed CRD release would let Obot start against missing CRDs.
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        self.register_outputs({"release": self.release.name, "version": args.chart_version})
