"""mcp-containment: contain the network blast radius of MCP servers and AI agents.

Layers, each importing only those below it:

- :mod:`~mcp_containment.core` — the rulebase and the algorithms on it (pure)
- :mod:`~mcp_containment.config` — the stack config: schema, validation, loading, lock
- :mod:`~mcp_containment.compile` — spec -> rulebase, FirewallPolicies, resolved flows
- :mod:`~mcp_containment.infra` — the Pulumi ComponentResources
- :mod:`~mcp_containment.crossguard` — the CrossGuard policy pack
- :mod:`~mcp_containment.offline` — the mock runtime and the in-process pack runner
"""

from __future__ import annotations

__version__ = "0.2.0"
