"""``ContainmentStack``: one deployment (a spec) as infrastructure.

Composition order is the containment argument: the spoke and its gateway first, the workload
subnets already routed through it, DCF groups and rulesets compiled by the egress core, then
the workloads (the Kubernetes releases, the catalog registered in Obot and the FirewallPolicies
of workloads Obot does not manage, or the Foundry account and capability host), each after
what makes it safe to start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from ..compile import catalog
from ..compile.controller import controller_layers
from ..compile.ruleset import compile_rulebase
from ..config import naming
from ..config.schema import Cloud, Spec
from ..core import names
from ..core.model import Layer, Rulebase
from .aviatrix import provider as avx
from .aviatrix.dcf import DcfController, DcfControllerArgs, DcfRulebase, DcfRulebaseArgs
from .kubernetes.catalog import ObotCatalog, ObotCatalogArgs
from .kubernetes.firewall import K8sFirewall, K8sFirewallArgs
from .kubernetes.mcp_server import McpServerEgress, McpServerEgressArgs
from .kubernetes.obot import Obot, ObotArgs
from .network.gateway_settings import GatewaySettings

if TYPE_CHECKING:
    # Each cloud's SDK is an optional extra: its modules load only for a stack on that cloud.
    from .foundry import FoundryAgents
    from .foundry.decryption import DecryptionCaArgs
    from .network.aws import AwsSpokeNetwork
    from .network.azure import AzureSpokeNetwork

COMPONENT = "mcp-containment:index:ContainmentStack"


@dataclass(frozen=True, kw_only=True)
class ContainmentStackArgs:
    spec: Spec
    """A validated spec (:func:`mcp_containment.config.load.load_pulumi_config` or
    :func:`mcp_containment.config.load.load_file`)."""
    obot_api_key: pulumi.Output[str] | None = None
    """Obot's API key as a Pulumi secret; required when ``kubernetes.obot.catalogSource`` is
    set (:func:`program` reads ``obot:apiKey``)."""
    kubernetes_provider: pulumi.ProviderResource | None = None
    """The cluster to install into (an existing cluster's provider); by default the ambient
    kubeconfig's."""
    obot_values: Mapping[str, Any] = field(default_factory=dict)
    """More Obot chart values (hostname, auth, database), merged under the keys the library
    enforces (:class:`~mcp_containment.infra.kubernetes.obot.ObotArgs`)."""


class ContainmentStack(pulumi.ComponentResource):
    # ``network`` and ``foundry`` are annotated in __init__: the Pulumi SDK resolves class
    # annotations at run time, and their classes load only with their cloud's SDK.
    rulebase: Rulebase
    controller: DcfController | None
    dcf: DcfRulebase
    servers: dict[str, McpServerEgress]
    """The FirewallPolicies of ``mcpWorkloads`` (Obot's servers get theirs from Obot)."""
    catalog: ObotCatalog | None
    agent_subnet_id: pulumi.Output[str]
    agent_subnet_ids: pulumi.Output[list[str]]
    """The workload (node) subnets, zone by zone: one on Azure, two on an EKS spoke."""
    ha_agent_subnet_id: pulumi.Output[str] | None
    """AWS: the second zone's workload subnet (``network.haAgentSubnet``), when declared."""
    pod_subnet_ids: pulumi.Output[list[str]] | None
    """The pod subnets, zone by zone, when pods have their own (``network.podSubnet``)."""
    gateway_private_ip: pulumi.Output[str]

    def __init__(
        self, name: str, args: ContainmentStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        spec = args.spec
        self.rulebase = compile_rulebase(spec)
        tags = {"environment": spec.environment, "managed-by": "mcp-containment"}
        self._name = name
        self.ha_agent_subnet_id = None
        self.network: AzureSpokeNetwork | AwsSpokeNetwork = self._network(spec, tags)
        self.agent_subnet_id = self.network.agent_subnet_id
        self.agent_subnet_ids = self.network.agent_subnet_ids
        self.pod_subnet_ids = self.network.pod_subnet_ids
        self.gateway_private_ip = self.network.gateway_private_ip
        onboarded = self._onboard_cluster(spec)
        self.controller = self._controller(spec) if spec.controller.owns_controller_wide else None
        self.dcf = DcfRulebase(
            f"{name}-dcf",
            DcfRulebaseArgs(
                rulebase=self.rulebase,
                name_prefix=spec.name_prefix,
                attachment_points=_point_ids(spec, own=True),
                points_declared_by=[self.controller] if self.controller else [],
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.network.gateway, *onboarded]),
        )
        self.catalog = None
        self.servers = self._kubernetes(spec, args) if spec.kubernetes.enabled else {}
        self.foundry: FoundryAgents | None = (
            self._foundry(spec, tags) if spec.foundry.enabled else None
        )
        self.register_outputs(
            {
                "agentSubnetId": self.agent_subnet_id,
                "agentSubnetIds": self.agent_subnet_ids,
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
            routing=spec.network.routing,
        )
        net = spec.network
        child = pulumi.ResourceOptions(parent=self)
        if spec.cloud is Cloud.AZURE:
            from .network.azure import AzureSpokeNetwork, AzureSpokeNetworkArgs  # noqa: PLC0415

            return AzureSpokeNetwork(
                f"{self._name}-network",
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
                    protect=spec.protected,
                    tags=tags,
                ),
                child,
            )
        from .network.aws import AwsSpokeNetwork, AwsSpokeNetworkArgs  # noqa: PLC0415

        zones = net.availability_zones or (f"{net.region}a", f"{net.region}b")
        aws = AwsSpokeNetwork(
            f"{self._name}-network",
            AwsSpokeNetworkArgs(
                region=net.region,
                name_prefix=naming.prefix(spec),
                cidr=net.cidr,
                gateway_subnet_cidr=net.gateway_subnet,
                ha_gateway_subnet_cidr=net.ha_gateway_subnet,
                agent_subnet_cidr=net.agent_subnet,
                pod_subnet_cidr=net.pod_subnet,
                ha_agent_subnet_cidr=net.ha_agent_subnet,
                ha_pod_subnet_cidr=net.ha_pod_subnet,
                availability_zones=(zones[0], zones[-1]),
                gateway=gateway,
                protect=spec.protected,
                tags=tags,
            ),
            child,
        )
        self.ha_agent_subnet_id = aws.ha_agent_subnet_id
        return aws

    def _onboard_cluster(self, spec: Spec) -> list[pulumi.Resource]:
        """Label and namespace SmartGroups resolve only once the controller knows the cluster."""
        k8s = spec.kubernetes
        if not (k8s.enabled and k8s.cluster_id):
            return []
        return [
            avx.KubernetesCluster(
                f"{self._name}-cluster-onboarding",
                avx.KubernetesClusterArgs(cluster_id=str(spec.k8s_cluster_id)),
                pulumi.ResourceOptions(parent=self, depends_on=[self.network.gateway]),
            )
        ]

    def _controller(self, spec: Spec) -> DcfController:
        """DCF on, its default action, and the policy tree every stack on the controller
        attaches to (the owner's own point first, then the others in the listed order)."""
        return DcfController(
            f"{self._name}-dcf-controller",
            DcfControllerArgs(
                name_prefix=spec.name_prefix,
                environments=(spec.name_prefix, *spec.controller.shared_with),
                layers=controller_layers(spec),
                default_action=spec.egress.default_action.value,
                attachment_points=_point_ids(spec, own=False),
                protect=spec.protected,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _kubernetes(self, spec: Spec, args: ContainmentStackArgs) -> dict[str, McpServerEgress]:
        """The CRDs first, then Obot, the catalog it serves and the FirewallPolicies of the
        workloads Obot does not manage."""
        k8s = spec.kubernetes
        child = pulumi.ResourceOptions(
            parent=self,
            providers={"kubernetes": args.kubernetes_provider}
            if args.kubernetes_provider
            else None,
        )
        firewall = K8sFirewall(
            f"{self._name}-k8s-firewall",
            K8sFirewallArgs(
                chart_version=k8s.k8s_firewall.chart_version,
                namespace=k8s.k8s_firewall.namespace,
                unmasquerade_pods=spec.cloud is Cloud.AZURE,
            ),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.dcf])),
        )
        obot = Obot(
            f"{self._name}-obot",
            ObotArgs(
                chart_version=k8s.obot.chart_version,
                namespace=k8s.obot.namespace,
                default_deny_all_egress=k8s.obot.default_deny_all_egress,
                network_policy_provider_version=k8s.obot.network_policy_provider_version,
                values=args.obot_values,
                depends_on=[firewall.release],
            ),
            child,
        )
        if k8s.obot.catalog_source and spec.mcp_servers:
            self.catalog = self._catalog(spec, args.obot_api_key, obot.release)
        return {
            w.name: McpServerEgress(
                f"{self._name}-mcp-{w.namespace}-{w.name}",
                McpServerEgressArgs(
                    workload=w,
                    pod_identity=k8s.pod_identity,
                    cluster_id=spec.k8s_cluster_id,
                    depends_on=[firewall.release],
                ),
                child,
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
            f"{self._name}-obot-catalog",
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
        from .foundry import FoundryAgents, FoundryAgentsArgs  # noqa: PLC0415
        from .network.azure import AzureSpokeNetwork  # noqa: PLC0415
        from .privatelink import PrivateEndpointTarget  # noqa: PLC0415

        network = self.network
        assert isinstance(network, AzureSpokeNetwork)  # validation: Foundry is Azure-only
        pe_subnet = network.private_endpoint_subnet
        return FoundryAgents(
            f"{self._name}-foundry",
            FoundryAgentsArgs(
                account_name=spec.foundry_account_name,
                project_name=spec.foundry.project_name,
                resource_group_name=network.resource_group_name,
                location=spec.network.region,
                agent_subnet_id=self.agent_subnet_id,
                depends_on=[network.agent_subnet, network.route_table, self.dcf],
                private_endpoint_subnet_id=pe_subnet.id if pe_subnet is not None else None,
                virtual_network_id=network.vnet_id,
                dependencies=[
                    PrivateEndpointTarget(
                        key=naming.kebab(d.key), service=d.service, resource_id=d.resource_id
                    )
                    for d in spec.private_dependencies()
                    if d.resource_id is not None
                ],
                decryption_ca=_decryption_ca(spec, tags),
                protect=spec.protected,
                tags=tags,
            ),
            pulumi.ResourceOptions(parent=self),
        )


OBOT_API_KEY = ("obot", "apiKey")
"""Pulumi config holding Obot's API key, as a secret (``pulumi config set --secret``)."""


def _point_ids(spec: Spec, *, own: bool) -> dict[Layer, str]:
    """Attachment point ids the stack config gives by name (``controller.attachmentPoints``):
    the stack's own points, or the controller's Terraform points the owner's tree hangs on."""
    given = spec.controller.attachment_points
    out: dict[Layer, str] = {}
    for layer in controller_layers(spec):
        point = names.attachment_point(spec.name_prefix, layer) if own else layer.attachment_point
        if point in given:
            out[layer] = given[point]
    return out


def _decryption_ca(spec: Spec, tags: dict[str, str]) -> DecryptionCaArgs | None:
    from .foundry.decryption import DecryptionCaArgs, GeneratedCaSettings  # noqa: PLC0415

    ca = spec.foundry.decryption_ca
    if ca is None:
        return None
    return DecryptionCaArgs(
        key_vault_id=ca.key_vault_id,
        certificate_name=ca.certificate_name,
        secret_suffix=spec.environment,
        certificate_pem=ca.certificate,
        generate=(
            GeneratedCaSettings(
                common_name=ca.generate.common_name, validity_days=ca.generate.validity_days
            )
            if ca.generate is not None
            else None
        ),
        configure_controller=spec.controller.owns_controller_wide,
        tags=tags,
    )


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
    # Zone by zone, for an EKS cluster and its node groups (`subnetIds`).
    pulumi.export("agentSubnetIds", stack.agent_subnet_ids)
    if stack.ha_agent_subnet_id is not None:
        # The lock records the second zone's subnet as it does the first's.
        pulumi.export("haAgentSubnetId", stack.ha_agent_subnet_id)
        pulumi.export("haAgentSubnetCidr", spec.network.ha_agent_subnet)
    if stack.pod_subnet_ids is not None:
        pulumi.export("podSubnetIds", stack.pod_subnet_ids)
    ca = stack.foundry.decryption_ca if stack.foundry is not None else None
    if ca is not None:
        # What agents set DECRYPTION_CA_SECRET_URI to (examples/foundry-agent-image).
        pulumi.export("decryptionCaCertificateUri", ca.certificate_uri)
    return stack
