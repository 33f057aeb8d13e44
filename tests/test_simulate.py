"""Golden flows through the layered policy: every rule of both deployments, and the kill chain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_containment.compile.flows import FlowError, simulate
from mcp_containment.config.load import load_stack
from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import validate

from .helpers import STACKS_DIR, raw_stack, with_changes

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def stack(name: str) -> Spec:
    return load_stack(name, STACKS_DIR)


def verdict(
    spec: Spec, src: str, dst: str, port: int = 443, proto: str = "tcp"
) -> tuple[str, str | None]:
    v = simulate(spec, src, dst, port, proto, now=NOW).to_json()
    return v["verdict"], v["rule"]


FOUNDRY_CASES = [
    # rule 1: threat intel wins over every permit, including a tool-call domain
    ("group:foundry-agents", "attacker.io", 443, "tcp", "DENY", "deny-threat-intel"),
    ("group:foundry-agents", "beacon.c2.badhost.net", 443, "tcp", "DENY", "deny-threat-intel"),
    ("10.40.1.20", "203.0.113.66", 22, "tcp", "DENY", "deny-threat-intel"),
    # rule 2: ACA platform FQDNs, TCP/443 only
    ("group:foundry-agents", "mcr.microsoft.com", 443, "tcp", "PERMIT", "allow-aca-fqdn"),
    ("10.40.1.20", "eastus.data.mcr.microsoft.com", 443, "tcp", "PERMIT", "allow-aca-fqdn"),
    ("10.40.1.20", "acct.blob.core.windows.net", 443, "tcp", "PERMIT", "allow-aca-fqdn"),
    ("10.40.1.20", "mcr.microsoft.com", 80, "tcp", "DENY", "default-deny-internet"),
    ("10.40.1.20", "data.mcr.microsoft.com", 443, "tcp", "DENY", "default-deny-internet"),
    # rule 3: service tags
    ("10.40.1.20", "svctag:AzureActiveDirectory", 443, "tcp", "PERMIT", "allow-aca-svctag"),
    ("10.40.1.20", "svctag:AzureActiveDirectory", 53, "udp", "DENY", "default-deny-internet"),
    ("10.40.1.20", "svctag:Storage", 443, "tcp", "DENY", "default-deny-internet"),
    # rule 4: tool calls
    ("10.40.1.20", "api.github.com", 443, "tcp", "PERMIT", "allow-tool-calls"),
    ("10.40.1.20", "team.atlassian.net", 443, "tcp", "PERMIT", "allow-tool-calls"),
    ("10.40.1.20", "api.github.com", 8443, "tcp", "DENY", "default-deny-internet"),
    ("10.40.1.20", "gist.github.com", 443, "tcp", "DENY", "default-deny-internet"),
    # rule 5: everything else public
    ("10.40.1.20", "attacker.example", 443, "tcp", "DENY", "default-deny-internet"),
    ("10.40.1.20", "8.8.8.8", 53, "udp", "DENY", "default-deny-internet"),
    # rule 6: adjacent spokes
    ("10.40.1.20", "10.50.3.4", 5432, "tcp", "DENY", "deny-east-west"),
    ("10.40.1.20", "10.60.0.9", 443, "tcp", "DENY", "deny-east-west"),
    # private, not an adjacent spoke: nothing matches, the DCF default action applies
    ("10.40.1.20", "10.99.0.1", 443, "tcp", "DENY", None),
    # a source outside the agent subnet is not governed by these rules
    ("10.40.0.5", "example.org", 443, "tcp", "DENY", None),
]


@pytest.mark.parametrize(("src", "dst", "port", "proto", "want", "rule"), FOUNDRY_CASES)
def test_foundry_golden(
    src: str, dst: str, port: int, proto: str, want: str, rule: str | None
) -> None:
    assert verdict(stack("foundry-prod"), src, dst, port, proto) == (want, rule)


AKS_CASES = [
    (
        "pod:obot-mcp/github",
        "api.github.com",
        443,
        "PERMIT",
        "obot-mcp/obot-github-fw:allow-approved-egress",
    ),
    (
        "pod:obot-mcp/github",
        "objects.githubusercontent.com",
        443,
        "PERMIT",
        "obot-mcp/obot-github-fw:allow-approved-egress",
    ),
    (
        "pod:obot-mcp/github",
        "api.github.com",
        8443,
        "DENY",
        "obot-mcp/obot-github-fw:deny-all-external",
    ),
    (
        "pod:obot-mcp/github",
        "api.atlassian.com",
        443,
        "DENY",
        "obot-mcp/obot-github-fw:deny-all-external",
    ),
    (
        "pod:obot-mcp/atlassian",
        "api.atlassian.com",
        443,
        "PERMIT",
        "obot-mcp/obot-atlassian-fw:allow-approved-egress",
    ),
    (
        "pod:obot-mcp/atlassian",
        "api.github.com",
        443,
        "DENY",
        "obot-mcp/obot-atlassian-fw:deny-all-external",
    ),
    (
        "pod:obot-mcp/scratch",
        "api.github.com",
        443,
        "DENY",
        "obot-mcp/obot-scratch-fw:deny-all-external",
    ),
    ("pod:obot-mcp/github", "attacker.io", 443, "DENY", "deny-threat-intel"),
    # platform permits reach nodes, not MCP pods
    ("10.70.4.10", "mcr.microsoft.com", 443, "PERMIT", "allow-cluster-infra"),
    (
        "pod:obot-mcp/github",
        "mcr.microsoft.com",
        443,
        "DENY",
        "obot-mcp/obot-github-fw:deny-all-external",
    ),
    ("group:obot-system-pods", "charts.obot.ai", 443, "PERMIT", "allow-obot-system"),
    # a remote server runs no pod: Obot's own pods call it, and may reach only its host
    ("group:obot-system-pods", "mcp.deepwiki.com", 443, "PERMIT", "allow-obot-remote-mcp"),
    ("group:obot-system-pods", "mcp.deepwiki.com", 80, "DENY", None),
    ("group:obot-system-pods", "attacker.example", 443, "DENY", None),
    (
        "pod:obot-mcp/github",
        "mcp.deepwiki.com",
        443,
        "DENY",
        "obot-mcp/obot-github-fw:deny-all-external",
    ),
    ("10.70.4.10", "20.103.10.24", 443, "PERMIT", "allow-k8s-api-server"),
    ("10.70.4.10", "20.103.10.24", 80, "DENY", "default-deny-internet"),
    ("10.70.4.10", "evil.example", 443, "DENY", "default-deny-internet"),
    # nodes to an adjacent spoke: the east-west deny (it may precede the band, so nodes only)
    ("10.70.4.10", "10.71.0.4", 6379, "DENY", "deny-east-west"),
    # a server pod to an adjacent spoke: its own policy's final deny covers 0.0.0.0/0
    ("pod:obot-mcp/github", "10.71.0.4", 6379, "DENY", "obot-mcp/obot-github-fw:deny-all-external"),
    # an unidentified address of the pod range: no rule before the band may name the pod range,
    # so the DCF default action denies it
    ("10.70.16.7", "10.71.0.4", 6379, "DENY", None),
]


@pytest.mark.parametrize(("src", "dst", "port", "want", "rule"), AKS_CASES)
def test_obot_aks_golden(src: str, dst: str, port: int, want: str, rule: str | None) -> None:
    assert verdict(stack("obot-aks"), src, dst, port) == (want, rule)


def test_kill_chain_exfiltration_is_denied_and_attributed() -> None:
    spec = validate(with_changes(raw_stack("obot-aks"), egress__threatFeed=[]))
    v = simulate(spec, "pod:obot-mcp/github", "attacker.io", 443, "tcp", now=NOW).to_json()
    assert (v["verdict"], v["enforced"]) == ("DENY", True)
    assert v["rule"] == "obot-mcp/obot-github-fw:deny-all-external"
    assert v["audit"] == {
        "timestamp": "2026-11-24T03:00:00Z",
        "source": {
            "identity": "pod:obot-mcp/github",
            "groups": ["prod-aks-cluster-pods", "obot-mcp/obot-github-fw/obot-github-pods"],
        },
        "destination": "attacker.io",
        "port": 443,
        "protocol": "TCP",
        "rule": "obot-mcp/obot-github-fw:deny-all-external",
        "action": "DENY",
        "enforced": True,
    }


def test_foundry_agent_kill_chain_default_deny() -> None:
    spec = validate(with_changes(raw_stack("foundry-prod"), egress__threatFeed=[]))
    v = simulate(spec, "10.40.1.33", "attacker.io", now=NOW).to_json()
    assert (v["verdict"], v["rule"], v["layer"]) == (
        "DENY",
        "default-deny-internet",
        "after-ui",
    )
    assert v["audit"]["source"] == {"identity": "10.40.1.33", "groups": ["prod-foundry-agents"]}


def test_monitor_mode_permits_and_reports_the_would_be_action() -> None:
    v = simulate(stack("foundry-dev"), "10.30.1.5", "attacker.example", now=NOW).to_json()
    assert (v["verdict"], v["rule"], v["enforced"], v["wouldAction"]) == (
        "PERMIT",
        "default-deny-internet",
        False,
        "DENY",
    )
    assert v["audit"]["action"] == "DENY" and v["audit"]["enforced"] is False


def test_default_action_applies_when_nothing_matches() -> None:
    v = simulate(stack("foundry-prod"), "192.168.1.1", "example.com", now=NOW).to_json()
    assert (v["verdict"], v["rule"], v["layer"]) == ("DENY", None, "default")
    assert v["audit"]["rule"] == "default-action"


@pytest.mark.parametrize(
    ("src", "dst", "port", "proto", "message"),
    [
        ("group:nope", "a.com", 443, "tcp", "unknown group 'nope'"),
        ("10.0.0.300", "a.com", 443, "tcp", "not an IPv4 address"),
        ("pod:obot-mcp/ghost", "a.com", 443, "tcp", "no catalog entry 'ghost' in mcpServers"),
        ("pod:obot-mcp/deepwiki", "a.com", 443, "tcp", "remote server and runs no pod"),
        ("pod:default/github", "a.com", 443, "tcp", "no MCP server pod default/github"),
        ("10.0.0.1", "https://a.com", 443, "tcp", "protocol"),
        ("10.0.0.1", "a.com", 0, "tcp", "out of range"),
        ("10.0.0.1", "a.com", 70000, "tcp", "out of range"),
        ("10.0.0.1", "a.com", 443, "sctp", "not one of tcp, udp, icmp"),
        ("10.0.0.1", "*.a.com", 443, "tcp", "pattern"),
    ],
)
def test_bad_flows_are_refused(src: str, dst: str, port: int, proto: str, message: str) -> None:
    with pytest.raises(FlowError, match=message.replace("(", r"\(").replace("*", r"\*")):
        simulate(stack("obot-aks"), src, dst, port, proto)


def test_simulate_json_shape_matches_design() -> None:
    v: dict[str, Any] = simulate(stack("foundry-prod"), "10.40.1.2", "api.github.com").to_json()
    assert set(v) >= {"verdict", "rule", "layer", "enforced", "wouldAction", "audit"}
    assert set(v["audit"]) >= {
        "timestamp",
        "source",
        "destination",
        "port",
        "protocol",
        "rule",
        "action",
        "enforced",
    }


def test_self_managed_workload_pods_are_simulated_by_namespace_and_name() -> None:
    eks = stack("obot-eks")
    assert verdict(eks, "pod:search-tools/internal-search", "api.search.brave.com") == (
        "PERMIT",
        "search-tools/internal-search-egress:allow-approved-egress",
    )
    assert verdict(eks, "pod:search-tools/internal-search", "api.github.com") == (
        "DENY",
        "search-tools/internal-search-egress:deny-all-external",
    )
    assert verdict(eks, "pod:obot-mcp/slack", "files.slack.com") == (
        "PERMIT",
        "obot-mcp/obot-slack-fw:allow-approved-egress",
    )
