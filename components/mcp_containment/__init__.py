"""mcp-containment: contain the network blast radius of MCP servers and AI agents.

Layers, each importing only those below it:

- :mod:`~mcp_containment.core` — the rulebase and the algorithms on it (pure)
- :mod:`~mcp_containment.config` — the stack config: schema, validation, loading, lock
- :mod:`~mcp_containment.compile` — spec -> rulebase, FirewallPolicies, resolved flows
- :mod:`~mcp_containment.infra` — the Pulumi ComponentResources
- :mod:`~mcp_containment.crossguard` — the CrossGuard policy pack
- :mod:`~mcp_containment.offline` — the mock runtime and the in-process pack runner
- :mod:`~mcp_containment.testing` — mocks and checks for programs that use the components

The components and their ``Args`` are exported here. They load lazily: importing this package
costs nothing until a name is used, so the CLI's fast paths never load the Pulumi SDKs, and a
program that uses only Kubernetes never needs a cloud SDK installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

_EXPORTS: dict[str, str] = {
    "ContainmentStack": "infra.stack",
    "ContainmentStackArgs": "infra.stack",
    "AviatrixProvider": "infra.aviatrix.provider",
    "AviatrixProviderArgs": "infra.aviatrix.provider",
    "DcfRulebase": "infra.aviatrix.dcf",
    "DcfRulebaseArgs": "infra.aviatrix.dcf",
    "SpokeGateway": "infra.aviatrix.gateway",
    "SpokeGatewayArgs": "infra.aviatrix.gateway",
    "AzureSpokeNetwork": "infra.network.azure",
    "AzureSpokeNetworkArgs": "infra.network.azure",
    "ExistingVnet": "infra.network.azure",
    "ExistingVpc": "infra.network.aws",
    "DcfController": "infra.aviatrix.dcf",
    "DcfControllerArgs": "infra.aviatrix.dcf",
    "ObotCatalog": "infra.kubernetes.catalog",
    "ObotCatalogArgs": "infra.kubernetes.catalog",
    "AwsSpokeNetwork": "infra.network.aws",
    "AwsSpokeNetworkArgs": "infra.network.aws",
    "GatewaySettings": "infra.network.gateway_settings",
    "K8sFirewall": "infra.kubernetes.firewall",
    "K8sFirewallArgs": "infra.kubernetes.firewall",
    "Obot": "infra.kubernetes.obot",
    "ObotArgs": "infra.kubernetes.obot",
    "McpServerEgress": "infra.kubernetes.mcp_server",
    "McpServerEgressArgs": "infra.kubernetes.mcp_server",
    "FoundryAgents": "infra.foundry",
    "FoundryAgentsArgs": "infra.foundry",
    "Spec": "config.schema",
    "load_file": "config.load",
    "load_pulumi_config": "config.load",
    "Rulebase": "core.model",
    "compile_rulebase": "compile.ruleset",
}

__all__ = [
    "AviatrixProvider",
    "AviatrixProviderArgs",
    "AwsSpokeNetwork",
    "AwsSpokeNetworkArgs",
    "AzureSpokeNetwork",
    "AzureSpokeNetworkArgs",
    "ContainmentStack",
    "ContainmentStackArgs",
    "DcfController",
    "DcfControllerArgs",
    "DcfRulebase",
    "DcfRulebaseArgs",
    "ExistingVnet",
    "ExistingVpc",
    "FoundryAgents",
    "FoundryAgentsArgs",
    "GatewaySettings",
    "K8sFirewall",
    "K8sFirewallArgs",
    "McpServerEgress",
    "McpServerEgressArgs",
    "Obot",
    "ObotArgs",
    "ObotCatalog",
    "ObotCatalogArgs",
    "Rulebase",
    "Spec",
    "SpokeGateway",
    "SpokeGatewayArgs",
    "__version__",
    "compile_rulebase",
    "load_file",
    "load_pulumi_config",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from .compile.ruleset import compile_rulebase
    from .config.load import load_file, load_pulumi_config
    from .config.schema import Spec
    from .core.model import Rulebase
    from .infra.aviatrix.dcf import DcfController, DcfControllerArgs, DcfRulebase, DcfRulebaseArgs
    from .infra.aviatrix.gateway import SpokeGateway, SpokeGatewayArgs
    from .infra.aviatrix.provider import AviatrixProvider, AviatrixProviderArgs
    from .infra.foundry import FoundryAgents, FoundryAgentsArgs
    from .infra.kubernetes.catalog import ObotCatalog, ObotCatalogArgs
    from .infra.kubernetes.firewall import K8sFirewall, K8sFirewallArgs
    from .infra.kubernetes.mcp_server import McpServerEgress, McpServerEgressArgs
    from .infra.kubernetes.obot import Obot, ObotArgs
    from .infra.network.aws import AwsSpokeNetwork, AwsSpokeNetworkArgs, ExistingVpc
    from .infra.network.azure import AzureSpokeNetwork, AzureSpokeNetworkArgs, ExistingVnet
    from .infra.network.gateway_settings import GatewaySettings
    from .infra.stack import ContainmentStack, ContainmentStackArgs
