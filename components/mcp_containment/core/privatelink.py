"""Private paths to the Azure services a Foundry agent depends on.

An agent's inference, thread storage, vector search and file storage calls must never reach
the spoke gateway: each service it depends on gets a private endpoint in the spoke's
private-endpoint subnet, and the ``privatelink.*`` zones that service's names resolve through
are linked to the spoke VNet, so the public name resolves (by CNAME into the linked zone) to
the endpoint's address inside the spoke. The VNet's own range is more specific than the
workloads' 0.0.0.0/0 route, so that address is reached directly, never via the gateway.

This module is the one table of those facts (resource type, Private Link sub-resource, zones,
public name suffixes, addresses an endpoint takes), read by the config validation, the
components, the analysis and the policy pack alike. Sources: Microsoft's "Azure Private
Endpoint private DNS zone values" (learn.microsoft.com/azure/private-link/private-endpoint-dns)
and Foundry's "Set up private networking for Foundry Agent Service" DNS table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class PrivateLinkService:
    key: str
    """The ``foundry.dependencies`` key naming this service."""
    label: str
    resource_type: str
    """The ARM resource type a dependency id must have (compared case-insensitively)."""
    group_id: str
    """The Private Link sub-resource the endpoint connects to (``groupIds``)."""
    zones: tuple[str, ...]
    """Every private DNS zone the endpoint's zone group must register in."""
    public_suffixes: tuple[str, ...]
    """The public name of a resource is ``<name>.<suffix>``; each CNAMEs into a zone above."""
    addresses: int
    """Private addresses one endpoint takes in its subnet (Cosmos DB: the global endpoint and
    one per region; budgeted for a single-region account)."""
    service_tags: tuple[str, ...]
    """Azure service tags whose ranges include the service's public addresses."""

    def hostnames(self, name: str) -> tuple[str, ...]:
        """The public names of resource ``name`` (a custom subdomain for AI Services)."""
        return tuple(f"{name.lower()}.{suffix}" for suffix in self.public_suffixes)


AI_SERVICES: Final = PrivateLinkService(
    key="aiServices",
    label="Azure AI Services / Azure OpenAI",
    resource_type="Microsoft.CognitiveServices/accounts",
    group_id="account",
    zones=(
        "privatelink.cognitiveservices.azure.com",
        "privatelink.openai.azure.com",
        "privatelink.services.ai.azure.com",
    ),
    public_suffixes=("cognitiveservices.azure.com", "openai.azure.com", "services.ai.azure.com"),
    addresses=1,
    service_tags=("CognitiveServicesFrontend", "CognitiveServicesManagement"),
)
STORAGE: Final = PrivateLinkService(
    key="storage",
    label="Azure Storage (blob)",
    resource_type="Microsoft.Storage/storageAccounts",
    group_id="blob",
    zones=("privatelink.blob.core.windows.net",),
    public_suffixes=("blob.core.windows.net",),
    addresses=1,
    service_tags=("Storage",),
)
AI_SEARCH: Final = PrivateLinkService(
    key="aiSearch",
    label="Azure AI Search",
    resource_type="Microsoft.Search/searchServices",
    group_id="searchService",
    zones=("privatelink.search.windows.net",),
    public_suffixes=("search.windows.net",),
    addresses=1,
    service_tags=("AzureCognitiveSearch",),
)
COSMOS_DB: Final = PrivateLinkService(
    key="cosmosDb",
    label="Azure Cosmos DB (NoSQL)",
    resource_type="Microsoft.DocumentDB/databaseAccounts",
    group_id="Sql",
    zones=("privatelink.documents.azure.com",),
    public_suffixes=("documents.azure.com",),
    addresses=2,
    service_tags=("AzureCosmosDB",),
)
KEY_VAULT: Final = PrivateLinkService(
    key="keyVault",
    label="Azure Key Vault",
    resource_type="Microsoft.KeyVault/vaults",
    group_id="vault",
    zones=("privatelink.vaultcore.azure.net",),
    public_suffixes=("vault.azure.net", "vaultcore.azure.net"),
    addresses=1,
    service_tags=("AzureKeyVault",),
)

DEPENDENCY_SERVICES: Final = (AI_SERVICES, STORAGE, AI_SEARCH, COSMOS_DB)
"""What ``foundry.dependencies`` may declare, in the order endpoints are declared."""
SERVICES: Final = {s.key: s for s in (*DEPENDENCY_SERVICES, KEY_VAULT)}


@dataclass(frozen=True, slots=True)
class Dependency:
    """One service the agents must reach privately."""

    key: str
    """Where it was declared: ``foundryAccount`` (the stack's own account), a
    ``foundry.dependencies`` key, or ``decryptionCaVault``."""
    service: PrivateLinkService
    resource_id: str | None
    """The existing resource's ARM id; None for the Foundry account the stack creates."""
    name: str
    """The resource name its public hostnames are made of."""

    @property
    def hostnames(self) -> tuple[str, ...]:
        return self.service.hostnames(self.name)

    def to_json(self) -> dict[str, str | None]:
        return {
            "key": self.key,
            "service": self.service.key,
            "resourceId": self.resource_id,
            "name": self.name,
        }

    @classmethod
    def from_json(cls, raw: dict[str, str | None]) -> Dependency:
        service = SERVICES[str(raw["service"])]
        return cls(str(raw["key"]), service, raw.get("resourceId"), str(raw["name"]))


RESERVED_PER_SUBNET: Final = 5
"""Azure reserves five addresses in every subnet."""
REPLACEMENT_FACTOR: Final = 2
"""A replaced endpoint is created before the old one is deleted (Pulumi's default), so for a
moment both hold addresses: the subnet is budgeted for every endpoint twice."""


def subnet_addresses_needed(dependencies: Sequence[Dependency]) -> int:
    """Addresses a private-endpoint subnet needs for one endpoint to each dependency."""
    return RESERVED_PER_SUBNET + REPLACEMENT_FACTOR * sum(d.service.addresses for d in dependencies)


_ARM_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[0-9a-fA-F-]{36})"
    r"/resourceGroups/(?P<group>[-\w.()]{1,90})"
    r"/providers/(?P<namespace>[A-Za-z][\w.]*)/(?P<type>[A-Za-z]\w*)/(?P<name>[-\w.]{1,260})$"
)


@dataclass(frozen=True, slots=True)
class ArmId:
    """A top-level ARM resource id, parsed."""

    subscription: str
    resource_group: str
    resource_type: str
    name: str

    @classmethod
    def parse(cls, value: str) -> ArmId:
        match = _ARM_ID.match(value.strip())
        if match is None:
            raise ValueError(
                f"{value!r} is not an ARM resource id (/subscriptions/<guid>/resourceGroups/"
                "<group>/providers/<Namespace>/<type>/<name>)"
            )
        return cls(
            subscription=match["subscription"].lower(),
            resource_group=match["group"],
            resource_type=f"{match['namespace']}/{match['type']}",
            name=match["name"],
        )

    def is_type(self, resource_type: str) -> bool:
        return self.resource_type.lower() == resource_type.lower()

    def __str__(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{self.resource_type}/{self.name}"
        )


def same_resource(a: str, b: str) -> bool:
    """ARM ids compare case-insensitively."""
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()
