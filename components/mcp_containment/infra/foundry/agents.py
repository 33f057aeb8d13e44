"""``FoundryAgents``: the AIServices account, project and capability host of a BYO-VNet
Foundry agent deployment.

Created last: the account injects agents into the agent subnet, and an agent that starts
before the UDR exists egresses directly. The account (public access disabled) and every
dependency are reached through private endpoints, created before the capability host so no
agent ever resolves one of them publicly. A capability host cannot be updated in place, so
the account and host are ``protect``ed (in production) and any change to what they are bound
to is a visible delete-and-recreate (``replaceOnChanges`` + ``deleteBeforeReplace``), which the
network lock then refuses unless a teardown is acknowledged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure
from pulumi_azure_native import cognitiveservices as cs

from ...core.privatelink import AI_SERVICES
from ..privatelink import PrivateEndpoints, PrivateEndpointsArgs, PrivateEndpointTarget
from .decryption import DecryptionCa, DecryptionCaArgs

COMPONENT = "mcp-containment:foundry:FoundryAgents"
CAPABILITY_HOST = "agents"


@dataclass(frozen=True, kw_only=True)
class FoundryAgentsArgs:
    account_name: str
    project_name: str
    resource_group_name: pulumi.Input[str]
    location: str
    agent_subnet_id: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource] = ()
    """The agent subnet and its route table: agents must never run without the UDR."""
    sku: str = "S0"
    private_endpoint_subnet_id: pulumi.Input[str] | None = None
    """Where the account's and the dependencies' private endpoints go; None declares none
    (the account has public access disabled, so agents could not reach it)."""
    virtual_network_id: pulumi.Input[str] | None = None
    """The spoke VNet the ``privatelink.*`` zones are linked to (with the subnet above)."""
    dependencies: Sequence[PrivateEndpointTarget] = ()
    """Existing resources the agents use (Storage, AI Search, Cosmos DB, ...)."""
    decryption_ca: DecryptionCaArgs | None = None
    """The gateway's decryption CA, published for (and readable by) the project's identity
    before the capability host exists; its ``reader_principal_id`` is filled in here."""
    protect: bool = True
    """``protect`` the account, project and capability host (a stack protects production)."""
    tags: dict[str, str] = field(default_factory=dict)


ACCOUNT_ENDPOINT = "foundry-account"
"""The key of the account's own private endpoint."""


class FoundryAgents(pulumi.ComponentResource):
    account: azure.cognitiveservices.Account
    project: azure.cognitiveservices.Project
    capability_host: azure.cognitiveservices.AccountCapabilityHost
    private_endpoints: PrivateEndpoints | None
    decryption_ca: DecryptionCa | None
    principal_id: pulumi.Output[str]
    """The project's managed identity: what agents authenticate to Azure services as."""

    def __init__(
        self, name: str, args: FoundryAgentsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        bound = pulumi.ResourceOptions(
            parent=self,
            protect=args.protect,
            delete_before_replace=True,
            depends_on=list(args.depends_on),
        )
        self.account = self._account(name, args, bound)
        self.project = azure.cognitiveservices.Project(
            f"{name}-project",
            account_name=self.account.name,
            project_name=args.project_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            identity=cs.IdentityArgs(type=cs.ResourceIdentityType.SYSTEM_ASSIGNED),
            properties=cs.ProjectPropertiesArgs(),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.principal_id = self.project.identity.apply(
            lambda identity: identity.principal_id if identity else None
        )
        self.private_endpoints = self._private_endpoints(name, args)
        self.decryption_ca = self._decryption_ca(name, args)
        # Agents start only once every private path and the CA they must trust exist.
        ready: list[pulumi.Resource] = [self.project]
        ready += [c for c in (self.private_endpoints, self.decryption_ca) if c is not None]
        self.capability_host = azure.cognitiveservices.AccountCapabilityHost(
            f"{name}-capability-host",
            account_name=self.account.name,
            capability_host_name=CAPABILITY_HOST,
            resource_group_name=args.resource_group_name,
            capability_host_properties=cs.CapabilityHostArgs(
                capability_host_kind=cs.CapabilityHostKind.AGENTS,
                customer_subnet=args.agent_subnet_id,
            ),
            opts=pulumi.ResourceOptions.merge(
                bound,
                pulumi.ResourceOptions(
                    depends_on=ready,
                    replace_on_changes=["capabilityHostProperties"],
                ),
            ),
        )
        self.register_outputs(
            {
                "accountId": self.account.id,
                "projectId": self.project.id,
                "capabilityHostId": self.capability_host.id,
            }
        )

    def _decryption_ca(self, name: str, args: FoundryAgentsArgs) -> DecryptionCa | None:
        """Published for the project's identity, the one agents authenticate as."""
        if args.decryption_ca is None:
            return None
        return DecryptionCa(
            f"{name}-decryption-ca",
            dataclasses.replace(args.decryption_ca, reader_principal_id=self.principal_id),
            pulumi.ResourceOptions(parent=self),
        )

    def _private_endpoints(self, name: str, args: FoundryAgentsArgs) -> PrivateEndpoints | None:
        """The account's endpoint and the dependencies', before any agent can start."""
        if args.private_endpoint_subnet_id is None or args.virtual_network_id is None:
            return None
        own = PrivateEndpointTarget(
            key=ACCOUNT_ENDPOINT, service=AI_SERVICES, resource_id=self.account.id
        )
        return PrivateEndpoints(
            f"{name}-private-endpoints",
            PrivateEndpointsArgs(
                name_prefix=args.account_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                subnet_id=args.private_endpoint_subnet_id,
                virtual_network_id=args.virtual_network_id,
                targets=[own, *args.dependencies],
                tags=args.tags,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _account(
        self, name: str, args: FoundryAgentsArgs, bound: pulumi.ResourceOptions
    ) -> azure.cognitiveservices.Account:
        """The AIServices account, injecting agents into the BYO agent subnet."""
        return azure.cognitiveservices.Account(
            f"{name}-account",
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="AIServices",
            sku=cs.SkuArgs(name=args.sku),
            identity=cs.IdentityArgs(type=cs.ResourceIdentityType.SYSTEM_ASSIGNED),
            properties=cs.AccountPropertiesArgs(
                allow_project_management=True,
                custom_sub_domain_name=args.account_name,
                public_network_access=cs.PublicNetworkAccess.DISABLED,
                network_injections=[
                    cs.NetworkInjectionArgs(
                        scenario=cs.ScenarioType.AGENT,
                        subnet_arm_id=args.agent_subnet_id,
                        use_microsoft_managed_network=False,
                    )
                ],
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions.merge(
                bound, pulumi.ResourceOptions(replace_on_changes=["properties.networkInjections"])
            ),
        )
