"""``FoundryAgents``: the AIServices account, project and capability host of a BYO-VNet
Foundry agent deployment.

Created last: the account injects agents into the agent subnet, and an agent that starts
before the UDR exists egresses directly. A capability host cannot be updated in place, so the
account and host are ``protect``ed and any change to what they are bound to is a visible
delete-and-recreate (``replaceOnChanges`` + ``deleteBeforeReplace``), which the network lock
then refuses unless a teardown is acknowledged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure
from pulumi_azure_native import cognitiveservices as cs

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
    tags: dict[str, str] = field(default_factory=dict)


class FoundryAgents(pulumi.ComponentResource):
    account: azure.cognitiveservices.Account
    project: azure.cognitiveservices.Project
    capability_host: azure.cognitiveservices.AccountCapabilityHost

    def __init__(
        self, name: str, args: FoundryAgentsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        bound = pulumi.ResourceOptions(
            parent=self,
            protect=True,
            delete_before_replace=True,
            depends_on=list(args.depends_on),
        )
        self.account = self._account(args, bound)
        self.project = azure.cognitiveservices.Project(
            f"{args.account_name}-{args.project_name}",
            account_name=self.account.name,
            project_name=args.project_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            identity=cs.IdentityArgs(type=cs.ResourceIdentityType.SYSTEM_ASSIGNED),
            properties=cs.ProjectPropertiesArgs(),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.capability_host = azure.cognitiveservices.AccountCapabilityHost(
            f"{args.account_name}-{CAPABILITY_HOST}",
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
                    depends_on=[self.project],
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

    def _account(
        self, args: FoundryAgentsArgs, bound: pulumi.ResourceOptions
    ) -> azure.cognitiveservices.Account:
        """The AIServices account, injecting agents into the BYO agent subnet."""
        return azure.cognitiveservices.Account(
            args.account_name,
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
