"""Stack config validation: every example is valid; each kind of bad input is refused by key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pulumi.runtime.config as runtime_config
import pytest
import yaml

from mcp_containment.config.load import (
    load_file,
    load_pulumi_config,
    load_stack,
    raw_from_stack_config,
)
from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import SpecError, issues_of, validate

from .helpers import EXAMPLE_STACKS, ROOT, paths, raw_stack, with_changes

FOUNDRY = "foundry-prod"
AKS = "obot-aks"
EKS = "obot-eks"


def test_examples_cover_both_deployments_on_both_clouds() -> None:
    specs = [load_stack(name, ROOT / "stacks") for name in EXAMPLE_STACKS]
    kinds = {(s.cloud.value, s.foundry.enabled, s.kubernetes.enabled) for s in specs}
    assert ("azure", True, False) in kinds
    assert ("azure", False, True) in kinds
    assert ("aws", False, True) in kinds
    assert {"foundry-dev", "foundry-prod", "obot-aks", "obot-eks"} <= set(EXAMPLE_STACKS)


@pytest.mark.parametrize("name", EXAMPLE_STACKS)
def test_example_stack_is_valid(name: str) -> None:
    assert issues_of(raw_stack(name)) == []


def test_keys_are_snake_case_in_python() -> None:
    spec = validate(raw_stack(AKS))
    assert spec.network.gateway_subnet == "10.70.0.0/26"
    assert spec.kubernetes.obot.mcp_namespace == "obot-mcp"
    assert spec.kubernetes.k8s_firewall.chart_version == "10.0.0"
    assert spec.mcp_servers[0].egress_domains == ("api.github.com", "*.githubusercontent.com")


# --- one test per kind of rejection; each asserts the key path and the reason -------------------


def test_unknown_top_level_key() -> None:
    assert "unknown key" in paths(with_changes(raw_stack(FOUNDRY), netwrok={"x": 1}))["netwrok"]


def test_unknown_nested_key() -> None:
    found = paths(with_changes(raw_stack(FOUNDRY), gateway__hA=True))
    assert found == {"gateway.hA": "unknown key"}


def test_missing_required_section() -> None:
    assert paths(with_changes(raw_stack(FOUNDRY), network=None)) == {"network": "is required"}


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        ("10.40.0.0/33", "not a CIDR"),
        ("10.40.0.1/16", "not canonical"),
        ("10.40.0.0", "no prefix length"),
        ("banana", "not a CIDR"),
        ("fd00::/8", "IPv6"),
    ],
)
def test_malformed_or_non_canonical_cidr(cidr: str, reason: str) -> None:
    found = paths(with_changes(raw_stack(FOUNDRY), network__cidr=cidr))
    assert reason in found["network.cidr"]


def test_subnet_outside_vnet() -> None:
    found = paths(with_changes(raw_stack(FOUNDRY), network__agentSubnet="10.41.1.0/24"))
    assert found == {"network.agentSubnet": "10.41.1.0/24 is outside network.cidr 10.40.0.0/16"}


def test_overlapping_subnets() -> None:
    found = paths(with_changes(raw_stack(FOUNDRY), network__privateEndpointSubnet="10.40.1.128/26"))
    assert "overlaps network.agentSubnet" in found["network.privateEndpointSubnet"]


def test_gateway_subnet_too_small_for_single_gateway() -> None:
    raw = with_changes(raw_stack("foundry-dev"), network__gatewaySubnet="10.30.0.0/29")
    assert "needs at least 11" in paths(raw)["network.gatewaySubnet"]


def test_gateway_subnet_too_small_for_ha_pair() -> None:
    # A /28 holds one gateway but not an HA pair sharing the subnet (Azure).
    raw = with_changes(raw_stack(FOUNDRY), network__gatewaySubnet="10.40.0.0/28")
    assert "an HA gateway pair needs at least 17" in paths(raw)["network.gatewaySubnet"]
    single = with_changes(raw, gateway__ha=False, gateway__transitGateway=None, egress__eastWest=[])
    assert issues_of(single) == []


def test_aws_ha_needs_second_subnet() -> None:
    found = paths(with_changes(raw_stack(EKS), network__haGatewaySubnet=None))
    assert "required on AWS when gateway.ha is true" in found["network.haGatewaySubnet"]


def test_east_west_overlapping_the_spoke() -> None:
    found = paths(
        with_changes(raw_stack(FOUNDRY), egress__eastWest=["10.50.0.0/16", "10.40.8.0/24"])
    )
    assert found == {
        "egress.eastWest[1]": "10.40.8.0/24 overlaps this spoke's own network.cidr "
        "10.40.0.0/16; list adjacent spokes only"
    }


@pytest.mark.parametrize(
    ("cloud_key", "region", "hint"),
    [("azure", "us-east-1", "that is an aws region"), ("azure", "eastus9", "")],
)
def test_unsupported_cloud_region(cloud_key: str, region: str, hint: str) -> None:
    message = paths(with_changes(raw_stack(FOUNDRY), network__region=region))["network.region"]
    assert f"not a known {cloud_key} region" in message
    assert hint in message


def test_aws_region_on_azure_cloud_and_foundry_on_aws() -> None:
    raw = with_changes(
        raw_stack(EKS), foundry={"enabled": True}, kubernetes__enabled=False, mcpServers=None
    )
    assert "Azure only" in paths(raw)["foundry.enabled"]


def test_gateway_size_for_wrong_cloud() -> None:
    found = paths(with_changes(raw_stack(EKS), gateway__size="Standard_D3_v2"))
    assert "not an EC2 instance type" in found["gateway.size"]


@pytest.mark.parametrize("version", ["v8.2", "8", "latest", "8.x", "8.2.1.4.5", ""])
def test_controller_version_that_does_not_parse(version: str) -> None:
    found = paths(with_changes(raw_stack(FOUNDRY), controller__version=version))
    assert "not a controller version" in found["controller.version"]


def test_a_catalog_entry_key_used_twice() -> None:
    raw = raw_stack(AKS)
    raw["mcpServers"].append(
        {
            "name": "github",
            "displayName": "GitHub Enterprise",
            "runtime": "npx",
            "npxConfig": {"package": "x"},
            "egressDomains": ["api.github.com"],
        }
    )
    assert paths(raw) == {
        "mcpServers[5].name": "catalog entry key 'github' is used twice (also mcpServers[0])"
    }


@pytest.mark.parametrize("name", ["-github", "git hub", "a" * 64, "github!", ""])
def test_server_name_not_a_label_value(name: str) -> None:
    raw = raw_stack(AKS)
    raw["mcpServers"][0]["name"] = name
    assert "mcpServers[0].name" in paths(raw)


def test_deny_all_with_domains() -> None:
    raw = raw_stack(AKS)
    raw["mcpServers"][3]["egressDomains"] = ["api.example.com"]
    assert "egressDomains is also set" in paths(raw)["mcpServers[3].denyAllEgress"]


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("https://api.github.com", "protocol"),
        ("api.github.com/repos", "path"),
        ("api.github.com:443", "port"),
        ("140.82.112.6", "IP address"),
        ("github", "at least two labels"),
        ("*.*.github.com", "single leading"),
        ("api.*.github.com", "single leading"),
        ("localhost", "internal name"),
        ("kubernetes.default.svc", "internal name"),
        ("*.svc", "internal name"),
        ("redis.obot.svc.cluster.local", "internal name"),
        ("metadata.google.internal", "internal name"),
        ("10.in-addr.arpa", "internal name"),
        ("*", "cannot be declared"),
        ("api_github.com", "invalid label"),
        ("-api.github.com", "invalid label"),
    ],
)
def test_egress_domain_rules(domain: str, reason: str) -> None:
    raw = raw_stack(AKS)
    raw["mcpServers"][0]["egressDomains"] = [domain]
    assert reason in paths(raw)["mcpServers[0].egressDomains[0]"]


def test_domains_are_normalised() -> None:
    raw = raw_stack(AKS)
    raw["mcpServers"][0]["egressDomains"] = [" API.GitHub.com "]
    assert validate(raw).mcp_servers[0].egress_domains == ("api.github.com",)


def test_rule_modes_name_real_rules() -> None:
    found = paths(with_changes(raw_stack(FOUNDRY), egress__ruleModes={"default-deny": "enforce"}))
    assert "no rule named 'default-deny'" in found["egress.ruleModes.default-deny"]


def test_pod_cidrs_outside_pod_range() -> None:
    raw = raw_stack(EKS)
    raw["mcpWorkloads"][0]["podCidrs"] = ["10.80.0.5/32"]
    assert paths(raw)["mcpWorkloads[0].podCidrs[0]"] == (
        "10.80.0.5/32 is outside every pod range 10.80.64.0/18, 10.80.128.0/18"
    )
    # A pod of the second zone's pod subnet is inside the pod range.
    raw["mcpWorkloads"][0]["podCidrs"] = ["10.80.128.9/32"]
    assert "mcpWorkloads[0].podCidrs[0]" not in paths(raw)


def test_many_errors_reported_at_once() -> None:
    raw = raw_stack(AKS)
    raw["gateway"]["size"] = "c5.xlarge"
    raw["network"]["region"] = "us-east-1"
    raw["mcpServers"][0]["egressDomains"] = ["https://x.io"]
    raw["mcpServers"][2]["name"] = "atlassian"
    raw["egress"]["eastWest"] = ["10.70.0.0/24"]
    assert set(paths(raw)) == {
        "gateway.size",
        "network.region",
        "mcpServers[0].egressDomains[0]",
        "mcpServers[2].name",
        "egress.eastWest[0]",
    }


def test_secret_in_our_namespace_is_refused() -> None:
    with pytest.raises(SpecError) as exc:
        raw_from_stack_config({"mcp-containment:controllerPassword": {"secure": "AAAB"}})
    assert "holds no secrets" in str(exc.value)


def test_invalid_spec_is_never_returned() -> None:
    with pytest.raises(SpecError):
        validate(with_changes(raw_stack(FOUNDRY), network__cidr="10.40.0.0/33"))


def test_stack_file_and_pulumi_config_give_the_same_spec() -> None:
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{AKS}.yaml").read_text())
    # What the engine hands the program: structured values as JSON text, scalars as text.
    engine = {
        (k if ":" in k else f"mcp-containment:{k}"): v if isinstance(v, str) else json.dumps(v)
        for k, v in doc["config"].items()
    }
    token = runtime_config.CONFIG.set(engine)
    try:
        from_engine = load_pulumi_config()
    finally:
        runtime_config.CONFIG.reset(token)
    assert from_engine == load_stack(AKS, ROOT / "stacks")
    assert isinstance(from_engine, Spec)


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    text = (ROOT / "stacks" / f"Pulumi.{FOUNDRY}.yaml").read_text()
    bad = tmp_path / "Pulumi.dup.yaml"
    bad.write_text(text + "  mcp-containment:cloud: aws\n")
    with pytest.raises(SpecError) as exc:
        load_stack("dup", tmp_path)
    assert "duplicate key" in str(exc.value)


# --- the CLI ----------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_containment.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_cli_validate_accepts_example() -> None:
    result = _cli("validate", "--stack", FOUNDRY)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_cli_validate_rejects_with_exit_2(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{AKS}.yaml").read_text())
    doc["config"]["mcp-containment:mcpServers"][0]["egressDomains"] = ["https://x.io"]
    doc["config"]["mcp-containment:network"]["cidr"] = "10.70.0.0/33"
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = _cli("validate", "--config", str(path))
    assert result.returncode == 2
    assert "network.cidr" in result.stderr
    assert "mcpServers[0].egressDomains[0]" in result.stderr
    as_json = _cli("validate", "--config", str(path), "--json")
    assert as_json.returncode == 2
    body = json.loads(as_json.stdout)
    assert body["valid"] is False
    assert {e["path"] for e in body["errors"]} == {"network.cidr", "mcpServers[0].egressDomains[0]"}


def test_cli_requires_exactly_one_source() -> None:
    assert _cli("validate").returncode == 2


def test_plain_text_controller_password_is_refused_in_a_stack_file(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.foundry-dev.yaml").read_text())
    doc["config"]["aviatrix:password"] = "hunter2"
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump(doc))
    with pytest.raises(SpecError) as exc:
        load_file(stack)
    (issue,) = exc.value.issues
    assert issue.path == "aviatrix:password"
    assert "pulumi config set --secret aviatrix:password" in issue.message
    assert "hunter2" not in str(exc.value)
    # Encrypted, it is the provider's business and not ours.
    doc["config"]["aviatrix:password"] = {"secure": "v1:AAAB"}
    stack.write_text(yaml.safe_dump(doc))
    assert load_file(stack).environment == "dev"


def test_plain_text_controller_password_is_refused_by_the_program() -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.foundry-dev.yaml").read_text())
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in doc["config"].items()}
    config["aviatrix:password"] = "hunter2"
    token = runtime_config.CONFIG.set(config)
    try:
        with pytest.raises(SpecError) as exc:
            load_pulumi_config()
        assert [i.path for i in exc.value.issues] == ["aviatrix:password"]
        secret_token = runtime_config._SECRET_KEYS.set({"aviatrix:password"})
        try:
            assert load_pulumi_config().environment == "dev"
        finally:
            runtime_config._SECRET_KEYS.reset(secret_token)
    finally:
        runtime_config.CONFIG.reset(token)
