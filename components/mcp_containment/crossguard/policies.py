"""The policies of the pack: what ``pulumi preview --policy-pack`` refuses, and
``containment check`` too. Each entry names its check (in :mod:`.checks`), its level, the stack
facts it reads and how to fix what it reports."""

from __future__ import annotations

from typing import Final

from .checks import dcf, foundry, kubernetes, network, rulesets
from .registry import (
    CA_ELSEWHERE,
    LOCK,
    PRIVATE_DEPENDENCIES,
    PRODUCTION,
    PROTECTION,
    RULE_FACTS,
    Level,
    PolicyDef,
)

POLICIES: Final[tuple[PolicyDef, ...]] = (
    PolicyDef(
        "subnet-immutability",
        "Agent subnets (both zones on AWS), UDR, gateway IP and capability host subnet match "
        "the network lock.",
        Level.MANDATORY,
        "resource",
        network.check_subnet_immutability,
        LOCK,
        remediation="Revert the network change, or record teardownAcknowledged in the lock "
        "(containment lock) to accept a Foundry teardown deliberately.",
    ),
    PolicyDef(
        "dcf-rule-ordering",
        "Threat intel first, platform permits before default deny, default deny after the "
        "Kubernetes band, east-west deny when transit-attached, no duplicates or shadowed "
        "rules, default action DENY.",
        Level.MANDATORY,
        "stack",
        dcf.findings_check(dcf.ORDERING),
        RULE_FACTS,
        remediation="Build rulesets with DcfRulebase from a compiled rulebase; extra rules go "
        "in a named band, never before threat intel or after the default deny.",
    ),
    PolicyDef(
        "dcf-decryption-scope",
        "ACA rules never decrypted; only the tool-call rule may; per-rule decryption needs "
        "controller 8.2+.",
        Level.MANDATORY,
        "stack",
        dcf.findings_check(dcf.DECRYPTION),
        RULE_FACTS,
        remediation="Set egress.toolCalls.decrypt only on controller 8.2+, and never decrypt "
        "Azure platform traffic.",
    ),
    PolicyDef(
        "dcf-audit-logging",
        "Every rule and the default action log.",
        Level.MANDATORY,
        "stack",
        dcf.findings_check(dcf.AUDIT),
        RULE_FACTS,
        remediation="Turn logging on: the audit trail is what a SOC reads after a blocked "
        "exfiltration attempt.",
    ),
    PolicyDef(
        "dcf-default-deny-enforced-in-production",
        "In production, default deny is enforced, not in monitor mode.",
        Level.MANDATORY,
        "stack",
        dcf.check_default_deny_enforced,
        RULE_FACTS,
        remediation="Set egress.ruleModes.default-deny-internet: enforce (replay the flow log "
        "first).",
    ),
    PolicyDef(
        "dcf-rules-in-monitor-mode",
        "Rules still in monitor mode (advisory: promote after replaying production flows).",
        Level.ADVISORY,
        "stack",
        dcf.check_monitor_mode,
        RULE_FACTS,
        remediation="Run containment replay on the gateway's flow log, then set the rule's "
        "mode to enforce.",
    ),
    PolicyDef(
        "dcf-containment-breadth",
        "No platform permit exposes storage to MCP pods; no permit to all of the internet "
        "in production.",
        Level.MANDATORY,
        "stack",
        dcf.check_containment_breadth,
        RULE_FACTS,
        remediation="Scope platform permits to nodes (set network.podSubnet), and permit "
        "named domains only.",
    ),
    PolicyDef(
        "dcf-rulesets-match-rulebase",
        "The groups and rulesets a DcfRulebase creates hold exactly the rulebase it registers "
        "(the one every DCF policy judges).",
        Level.MANDATORY,
        "stack",
        rulesets.check_rulesets_match,
        remediation="Change the rulebase DcfRulebase is given, never its rulesets or groups "
        "(transformations, ignore_changes, hand edits).",
    ),
    PolicyDef(
        "kubernetes-chart-versions-pinned",
        "Helm releases pin an exact chart version.",
        Level.MANDATORY,
        "resource",
        kubernetes.check_chart_pinned,
        remediation="Give the release an exact chart version such as 10.0.0.",
    ),
    PolicyDef(
        "obot-default-deny-egress",
        "Obot gives undeclared MCP servers no egress.",
        Level.MANDATORY,
        "resource",
        kubernetes.check_obot_deny_all,
        remediation="Set kubernetes.obot.defaultDenyAllEgress: true.",
    ),
    PolicyDef(
        "mcp-server-firewall-policy",
        "Each MCP server's FirewallPolicy validates against the CRD, ends with its deny "
        "rule, and (in production) permits no '*' domain.",
        Level.MANDATORY,
        "resource",
        kubernetes.check_server_policy,
        PRODUCTION,
        remediation="Declare the server's egressDomains (or denyAllEgress) so its policy "
        "lists what it may reach and ends with deny-all-external.",
    ),
    PolicyDef(
        "workload-default-route-via-gateway",
        "Every workload subnet's default route goes to the spoke gateway.",
        Level.MANDATORY,
        "stack",
        network.check_routing,
        remediation="Associate the workload subnet with the spoke's egress route table "
        "(0.0.0.0/0 to the gateway).",
    ),
    PolicyDef(
        "containment-infrastructure-protected",
        "Agent subnets (both zones on AWS), route table and routes, gateway and capability "
        "host are protected.",
        Level.MANDATORY,
        "resource",
        network.check_protected,
        PROTECTION,
        remediation="Declare the resource with protect=True (the library does in production, "
        "or with protect: true in the stack config).",
    ),
    PolicyDef(
        "foundry-dependencies-private",
        "Every Foundry dependency resolves to a private endpoint inside the spoke, and no "
        "permit sends it through the gateway (production).",
        Level.MANDATORY,
        "stack",
        foundry.check_private_paths,
        {**RULE_FACTS, **PRIVATE_DEPENDENCIES},
        remediation="Set network.privateEndpointSubnet and declare the dependency under "
        "foundry.dependencies (the stack creates its endpoint and linked zones); remove "
        "permits for its public names.",
    ),
    PolicyDef(
        "dcf-decryption-ca",
        "DECRYPT_ALLOWED only with the gateway's CA configured on the controller and "
        "published in Key Vault for the agents.",
        Level.MANDATORY,
        "stack",
        foundry.check_decryption_ca,
        {**RULE_FACTS, **CA_ELSEWHERE},
        remediation="Set foundry.decryptionCa (an existing Key Vault certificate or a "
        "generated CA), or turn egress.toolCalls.decrypt off.",
    ),
)
