"""``ContainmentStack``: one deployment (a spec) as infrastructure.

Composition order is the containment argument: the spoke and its gateway first, the workload
subnets already routed through it, DCF groups and rulesets compiled by the egress core, then
the workloads (the Kubernetes releases, the catalog registered in Obot and the FirewallPolicies
of workloads Obot does not manage, or the Foundry account and capability host), each after
what makes it safe to start.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from ..compile import catalog
from ..compile.ruleset import compile_rulebase
from ..config import naming
from ..config.schema import Cloud, Spec
from ..core.model import Rulebase
from .aviatrix import provider as avx
from .aviatrix.dcf import DcfRulebase, DcfRulebaseArgs
from .foundry import FoundryAgents, FoundryAgentsArgs
from .kubernetes.catalog import ObotCatalog, ObotCatalogArgs
from .kubernetes.firewall import K8sFirewall, K8sFirewallArgs
from .kubernetes.mcp_server import McpServerEgress, McpServerEgressArgs
from .kubernetes.obot import Obot, ObotArgs
from .network.aws import AwsSpokeNetwork, AwsSpokeNetworkArgs
from .network.azure import AzureSpokeNetwork, AzureSpokeNetworkArgs
from .network.gateway_settings import GatewaySettings

COMPONENT = "mcp-containment:index:ContainmentStack"


@dataclass(frozen=True, kw_only=True)
class ContainmentStackArgs:
    spec: Spec
    """A validated spec (:func:`mcp_containment.config.load.load_pulumi_config` or
    :func:`mcp_containment.config.load.load_file`)."""
    obot_api_key: pulumi.Output[str] | None = None
    """Obot's API key as a Pulumi secret; required when ``kubernetes.obot.catalogSource`` is
    set (:func:`program` reads ``obot:apiKey``)."""


class ContainmentStack(pulumi.ComponentResource):
    rulebase: Rulebase
    network: AzureSpokeNetwork | AwsSpokeNetwork
    dcf: DcfRulebase
    servers: dict[str, McpServerEgress]
    """The FirewallPolicies of ``mcpWorkloads`` (Obot's servers get theirs from Obot)."""
    catalog: ObotCatalog | None
    foundry: FoundryAgents | None
    agent_subnet_id: pulumi.Output[str]
    gateway_private_ip: pulumi.Output[str]

    def __init__(
        self, name: str, args: ContainmentStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        spec = args.spec
        self.rulebase = compile_rulebase(spec)
        tags = {"environment": spec.environment, "managed-by": "mcp-containment"}
        self.network = self._network(spec, tags)
        self.agent_subnet_id = self.network.agent_subnet.id
        self.gateway_private_ip = self.network.gateway_private_ip
        onboarded = self._onboard_cluster(spec)
        self.dcf = DcfRulebase(
            "dcf",
            DcfRulebaseArgs(rulebase=self.rulebase, name_prefix=naming.prefix(spec)),
            pulumi.ResourceOptions(parent=self, depends_on=[self.network.gateway, *onboarded]),
        )
        self.catalog = None
        self.servers = self._kubernetes(spec, args.obot_api_key) if spec.kubernetes.enabled else {}
        self.foundry = self._foundry(spec, tags) if spec.foundry.enabled else None
        self.register_outputs(
            {
                "agentSubnetId": self.agent_subnet_id,
                "gatewayPrivateIp": self.gateway_private_ip,
                "ruleCount": len(self.rulebase.rules),
            }
        )

    def _network(self, spec: Spec, tags: dict[str, str]) -> AzureSpokeNetwork | AwsSpokeNetwork:
        gateway = GatewaySettings(
            account_name=spec.controller.account_name,
            gateway_name=spec.gateway_name,
            size=spec.gateway.size,
            ha=spec.gateway.ha,
            transit_gateway=spec.gateway.transit_gateway,
            owns_controller_wide=spec.controller.owns_controller_wide,
            default_action=spec.egress.default_action.value,
            routing=spec.network.routing,
        )
        net = spec.network
        child = pulumi.ResourceOptions(parent=self)
        if spec.cloud is Cloud.AZURE:
            return AzureSpokeNetwork(
                "network",
                AzureSpokeNetworkArgs(
                    location=net.region,
                    resource_group_name=naming.resource_group(spec),
                    vnet_name=naming.vnet(spec),
                    route_table_name=naming.route_table(spec),
                    cidr=net.cidr,
                    gateway_subnet_cidr=net.gateway_subnet,
                    agent_subnet_cidr=net.agent_subnet,
                    pod_subnet_cidr=net.pod_subnet,
                    private_endpoint_subnet_cidr=net.private_endpoint_subnet,
                    delegate_agent_subnet=spec.foundry.enabled,
                    gateway=gateway,
                    tags=tags,
                ),
                child,
            )
        zones = net.availability_zones or (f"{net.region}a", f"{net.region}b")
        return AwsSpokeNetwork(
            "network",
            AwsSpokeNetworkArgs(
                region=net.region,
                name_prefix=naming.prefix(spec),
                cidr=net.cidr,
                gateway_subnet_cidr=net.gateway_subnet,
                ha_gateway_subnet_cidr=net.ha_gateway_subnet,
                agent_subnet_cidr=net.agent_subnet,
                pod_subnet_cidr=net.pod_subnet,
                availability_zones=(zones[0], zones[-1]),
                gateway=gateway,
                tags=tags,
            ),
            child,
        )

    def _onboard_cluster(self, spec: Spec) -> list[pulumi.Resource]:
        """Label and namespace SmartGroups resolve only once the controller knows the cluster."""
        k8s = spec.kubernetes
        if not (k8s.enabled and k8s.cluster_id):
            return []
        return [
            avx.KubernetesCluster(
                "cluster-onboarding",
                avx.KubernetesClusterArgs(cluster_id=k8s.cluster_id),
                pulumi.ResourceOptions(parent=self, depends_on=[self.network.gateway]),
            )
        ]

    def _kubernetes(
        self, spec: Spec, api_key: pulumi.Output[str] | None
    ) -> dict[str, McpServerEgress]:
        """The CRDs first, then Obot, the catalog it serves and the FirewallPolicies of the
        workloads Obot does not manage."""
        k8s = spec.kubernetes
        firewall = K8sFirewall(
            "k8s-firewall",
            K8sFirewallArgs(
                chart_version=k8s.k8s_firewall.chart_version,
                namespace=k8s.k8s_firewall.namespace,
                unmasquerade_pods=spec.cloud is Cloud.AZURE,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.dcf]),
        )
        obot = Obot(
            "obot",
            ObotArgs(
                chart_version=k8s.obot.chart_version,
                namespace=k8s.obot.namespace,
                default_deny_all_egress=k8s.obot.default_deny_all_egress,
                network_policy_provider_version=k8s.obot.network_policy_provider_version,
                depends_on=[firewall.release],
            ),
            pulumi.ResourceOptions(parent=self),
        )
        if k8s.obot.catalog_source and spec.mcp_servers:
            self.catalog = self._catalog(spec, api_key, obot.release)
        return {
            w.name: McpServerEgress(
                f"mcp-{w.namespace}-{w.name}",
                McpServerEgressArgs(spec=spec, workload=w, depends_on=[firewall.release]),
                pulumi.ResourceOptions(parent=self),
            )
            for w in sorted(spec.mcp_workloads, key=lambda w: (w.namespace, w.name))
        }

    def _catalog(
        self, spec: Spec, api_key: pulumi.Output[str] | None, release: pulumi.Resource
    ) -> ObotCatalog:
        obot = spec.kubernetes.obot
        if api_key is None or obot.url is None or obot.catalog_source is None:
            raise ValueError(
                "kubernetes.obot.catalogSource is set: ContainmentStackArgs.obot_api_key is "
                "required (set it with `pulumi config set --secret obot:apiKey ok1-...`)"
            )
        return ObotCatalog(
            "obot-catalog",
            ObotCatalogArgs(
                obot_url=obot.url,
                api_key=api_key,
                source_url=obot.catalog_source,
                entries=catalog.entries(spec),
                mcp_namespace=obot.mcp_namespace,
                default_deny_all_egress=obot.default_deny_all_egress,
                depends_on=[release],
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _foundry(self, spec: Spec, tags: dict[str, str]) -> FoundryAgents:
        """Last: an agent must never run before its subnet's egress route and rules exist."""
        network = self.network
        assert isinstance(network, AzureSpokeNetwork)  # validation: Foundry is Azure-only
        return FoundryAgents(
            "foundry",
            FoundryAgentsArgs(
                account_name=spec.foundry.account_name or f"{spec.environment}-foundry",
                project_name=spec.foundry.project_name,
                resource_group_name=network.resource_group.name,
                location=spec.network.region,
                agent_subnet_id=self.agent_subnet_id,
                depends_on=[network.agent_subnet, network.route_table, self.dcf],
                tags=tags,
            ),
            pulumi.ResourceOptions(parent=self),
        )


OBOT_API_KEY = ("obot", "apiKey")
"""Pulumi config holding Obot's API key, as a secret (``pulumi config set --secret``)."""


def program(spec: Spec) -> ContainmentStack:
    """The whole Pulumi program for one spec: the stack plus the outputs the lock reads."""
    api_key = None
    if spec.kubernetes.enabled and spec.kubernetes.obot.catalog_source and spec.mcp_servers:
        namespace, key = OBOT_API_KEY
        api_key = pulumi.Config(namespace).require_secret(key)
    stack = ContainmentStack(
        naming.prefix(spec), ContainmentStackArgs(spec=spec, obot_api_key=api_key)
    )
    pulumi.export("agentSubnetId", stack.agent_subnet_id)
    pulumi.export("gatewayPrivateIp", stack.gateway_private_ip)
    pulumi.export("agentSubnetCidr", spec.network.agent_subnet)
    return stack
