"""``ContainmentStack``: one deployment (a spec) as infrastructure.

Composition order is the containment argument: the spoke and its gateway first, the workload
subnets already routed through it, DCF groups and rulesets compiled by the egress core, then
the workloads (the Kubernetes releases and per-server FirewallPolicies, or the Foundry account
and capability host), each after what makes it safe to start.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from . import naming
from .aviatrix import provider as avx
from .aviatrix.dcf import DcfPolicy, DcfPolicyArgs
from .egress.model import CompiledPolicy
from .egress.ruleset import compile_policy
from .foundry import FoundryAgents, FoundryAgentsArgs
from .kubernetes.firewall import K8sFirewall, K8sFirewallArgs
from .kubernetes.mcp_server import McpServerEgress, McpServerEgressArgs
from .kubernetes.obot import Obot, ObotArgs
from .network.aws import AwsSpokeNetwork, AwsSpokeNetworkArgs
from .network.azure import AzureSpokeNetwork, AzureSpokeNetworkArgs
from .network.gateway_settings import GatewaySettings
from .spec import Cloud, Spec

COMPONENT = "mcp-containment:index:ContainmentStack"


@dataclass(frozen=True, kw_only=True)
class ContainmentStackArgs:
    spec: Spec
    """A validated spec (:func:`mcp_containment.config.load_pulumi_config` or
    :func:`mcp_containment.config.load_file`)."""


class ContainmentStack(pulumi.ComponentResource):
    policy: CompiledPolicy
    network: AzureSpokeNetwork | AwsSpokeNetwork
    dcf: DcfPolicy
    servers: dict[str, McpServerEgress]
    foundry: FoundryAgents | None
    agent_subnet_id: pulumi.Output[str]
    gateway_private_ip: pulumi.Output[str]

    def __init__(
        self, name: str, args: ContainmentStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        spec = args.spec
        self.policy = compile_policy(spec)
        tags = {"environment": spec.environment, "managed-by": "mcp-containment"}
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
        if spec.cloud is Cloud.AZURE:
            azure = AzureSpokeNetwork(
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
                pulumi.ResourceOptions(parent=self),
            )
            self.network = azure
        else:
            zones = net.availability_zones or (f"{net.region}a", f"{net.region}b")
            self.network = AwsSpokeNetwork(
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
                pulumi.ResourceOptions(parent=self),
            )
        self.agent_subnet_id = self.network.agent_subnet.id
        self.gateway_private_ip = self.network.gateway_private_ip

        k8s = spec.kubernetes
        onboarded: list[pulumi.Resource] = []
        if k8s.enabled and k8s.cluster_id:
            # Label and namespace SmartGroups resolve only once the controller knows the cluster.
            onboarded.append(
                avx.KubernetesCluster(
                    "cluster-onboarding",
                    avx.KubernetesClusterArgs(cluster_id=k8s.cluster_id),
                    pulumi.ResourceOptions(parent=self, depends_on=[self.network.gateway]),
                )
            )
        self.dcf = DcfPolicy(
            "dcf",
            DcfPolicyArgs(policy=self.policy, name_prefix=naming.prefix(spec)),
            pulumi.ResourceOptions(parent=self, depends_on=[self.network.gateway, *onboarded]),
        )

        self.servers = {}
        if k8s.enabled:
            firewall = K8sFirewall(
                "k8s-firewall",
                K8sFirewallArgs(
                    chart_version=k8s.k8s_firewall.chart_version,
                    namespace=k8s.k8s_firewall.namespace,
                    unmasquerade_pods=spec.cloud is Cloud.AZURE,
                ),
                pulumi.ResourceOptions(parent=self, depends_on=[self.dcf]),
            )
            Obot(
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
            for server in sorted(spec.mcp_servers, key=lambda s: s.name):
                self.servers[server.name] = McpServerEgress(
                    f"mcp-{server.name}",
                    McpServerEgressArgs(spec=spec, server=server, depends_on=[firewall.release]),
                    pulumi.ResourceOptions(parent=self),
                )

        self.foundry = None
        if spec.foundry.enabled:
            assert isinstance(self.network, AzureSpokeNetwork)  # validation: Foundry is Azure-only
            self.foundry = FoundryAgents(
                "foundry",
                FoundryAgentsArgs(
                    account_name=spec.foundry.account_name or f"{spec.environment}-foundry",
                    project_name=spec.foundry.project_name,
                    resource_group_name=self.network.resource_group.name,
                    location=net.region,
                    agent_subnet_id=self.agent_subnet_id,
                    depends_on=[self.network.agent_subnet, self.network.route_table, self.dcf],
                    tags=tags,
                ),
                pulumi.ResourceOptions(parent=self),
            )

        self.register_outputs(
            {
                "agentSubnetId": self.agent_subnet_id,
                "gatewayPrivateIp": self.gateway_private_ip,
                "ruleCount": len(self.policy.rules),
            }
        )


def program(spec: Spec) -> ContainmentStack:
    """The whole Pulumi program for one spec: the stack plus the outputs the lock reads."""
    stack = ContainmentStack(naming.prefix(spec), ContainmentStackArgs(spec=spec))
    pulumi.export("agentSubnetId", stack.agent_subnet_id)
    pulumi.export("gatewayPrivateIp", stack.gateway_private_ip)
    pulumi.export("agentSubnetCidr", spec.network.agent_subnet)
    return stack
