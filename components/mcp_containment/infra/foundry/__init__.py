"""The Foundry agents of a BYO-VNet deployment: the account, project and capability host with
their private endpoints (:mod:`.agents`), and the gateway's decryption CA (:mod:`.decryption`)."""

from .agents import FoundryAgents, FoundryAgentsArgs

__all__ = ["FoundryAgents", "FoundryAgentsArgs"]
