"""Issue 13, config side: each test feeds the input the issue reported and asserts the clear
refusal (key path and reason) that replaced the crash, the silent acceptance or the
misleading message."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mcp_containment.cli import app
from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.load import load_file, parse_stack_text, validate_config
from mcp_containment.config.validate import SpecError, issues_of, validate
from mcp_containment.core.analysis import Code, analyze

from .helpers import STACKS_DIR, paths, raw_stack, with_changes


def refusal(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        load_file(path)
    return [(i.path, i.message) for i in info.value.issues]


def example_config(stack: str) -> dict[str, Any]:
    doc = yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())
    config: dict[str, Any] = doc["config"]
    return config


# --- reading the file ----------------------------------------------------------------------------


def test_binary_junk_is_not_utf8(tmp_path: Path) -> None:
    junk = tmp_path / "Pulumi.junk.yaml"
    junk.write_bytes(b"config:\n  a: \xff\xfe\x00\x81binary")
    ((where, message),) = refusal(junk)
    assert where == str(junk)
    assert message == "is not UTF-8 text: byte 0xff at offset 13"


def test_utf16_is_named(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.utf16.yaml"
    path.write_bytes("config: {}\n".encode("utf-16"))
    assert "looks like UTF-16" in refusal(path)[0][1]


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.deep.yaml"
    path.write_text("config:\n  mcp-containment:egress: " + "[" * 5000 + "]" * 5000 + "\n")
    assert refusal(path) == [(str(path), "nested more than 32 levels deep")]
    shallow_but_deep = tmp_path / "Pulumi.deep2.yaml"
    shallow_but_deep.write_text("config: " + "{a: " * 40 + "1" + "}" * 40 + "\n")
    assert "nested more than 32 levels deep" in refusal(shallow_but_deep)[0][1]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1: 2\n", "'1'"),
        ("config:\n  null: 3\n", "'null'"),
        ("config:\n  mcp-containment:network: {1: 2}\n", "'1'"),
        ("config:\n  yes: 1\n", "'yes'"),
    ],
)
def test_non_string_keys_are_refused(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "Pulumi.keys.yaml"
    path.write_text(text)
    ((where, message),) = refusal(path)
    assert where == str(path)
    assert f"key {key} is not a string" in message
    assert message.startswith("line ")


def test_a_directory_is_not_a_stack_file(tmp_path: Path) -> None:
    assert refusal(tmp_path) == [(str(tmp_path), "is a directory, not a stack file")]


def test_a_symlink_loop_is_named(tmp_path: Path) -> None:
    loop = tmp_path / "Pulumi.loop.yaml"
    os.symlink(loop, loop)
    ((where, message),) = refusal(loop)
    assert where == str(loop)
    assert "Too many levels of symbolic links" in message


def test_dev_zero_is_not_read() -> None:
    ((where, message),) = refusal(Path("/dev/zero"))
    assert where == "/dev/zero"
    assert "not a regular file" in message


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.big.yaml"
    path.write_text("config:\n" + "#" * (1 << 20) + "\n")
    assert "larger than 1048576 bytes" in refusal(path)[0][1]


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(SpecError) as info:
        parse_stack_text("\n".join(lines), "f.yaml")
    assert "holds more than 100000 values" in info.value.issues[0].message


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        parse_stack_text("config: &c {loop: *c}\n", "f.yaml")
    assert "refers to its own anchor" in info.value.issues[0].message


def test_yaml_errors_never_echo_the_offending_line(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.secret.yaml"
    path.write_text("config:\n  aviatrix:password: hunter2: s3cr3t-Passw0rd\n")
    ((where, message),) = refusal(path)
    assert where == str(path)
    assert message == "not valid YAML at line 2, column 29: mapping values are not allowed here"
    assert "s3cr3t" not in message and "hunter2" not in message


def test_a_control_character_is_reported_by_position(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.ctl.yaml"
    path.write_text("config:\n  a: pass\x07word\n")
    assert refusal(path) == [(str(path), "not valid YAML: control character #x0007 at position 17")]


# --- namespaces -----------------------------------------------------------------------------------


def test_the_same_key_under_two_spellings_is_refused() -> None:
    config = example_config("foundry-dev")
    config["egress"] = {"mode": "enforce"}  # and mcp-containment:egress is already set
    with pytest.raises(SpecError) as info:
        validate_config(config)
    assert [(i.path, i.message) for i in info.value.issues] == [
        (
            "egress",
            "is set twice, as 'mcp-containment:egress' and 'egress': one would silently "
            "replace the other; keep one",
        )
    ]


def test_a_misspelled_namespace_is_refused() -> None:
    config = example_config("foundry-dev")
    config["mcp-containmnet:egress"] = {"mode": "enforce"}
    with pytest.raises(SpecError) as info:
        validate_config(config)
    ((issue),) = info.value.issues
    assert issue.path == "mcp-containmnet:egress"
    assert "namespace 'mcp-containmnet' is not 'mcp-containment'" in issue.message


def test_other_namespaces_are_still_ignored() -> None:
    config = example_config("foundry-dev")
    config["kubernetes:context"] = "whatever"
    config["azure-native:subscriptionId"] = "x"
    assert validate_config(config).environment == "dev"


# --- provider config ------------------------------------------------------------------------------


def test_aws_region_must_match_network_region() -> None:
    config = example_config("obot-eks")
    config["aws:region"] = "us-west-2"
    with pytest.raises(SpecError) as info:
        validate_config(config)
    ((issue),) = info.value.issues
    assert issue.path == "aws:region"
    assert "'us-west-2' differs from network.region 'us-east-1'" in issue.message


def test_aws_region_must_be_in_the_stack_file() -> None:
    config = example_config("obot-eks")
    del config["aws:region"]
    with pytest.raises(SpecError) as info:
        validate_config(config)
    assert [i.path for i in info.value.issues] == ["aws:region"]
    assert "set aws:region: us-east-1" in info.value.issues[0].message


def test_provider_and_spec_problems_are_reported_together() -> None:
    config = example_config("obot-eks")
    config["aws:region"] = "eu-west-1"
    config["mcp-containment:gateway"] = {"size": "c5.xlarge", "ha": "yes"}
    with pytest.raises(SpecError) as info:
        validate_config(config)
    assert {i.path for i in info.value.issues} >= {"aws:region", "gateway.ha"}


# --- field strictness -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "true", "on", 1, 0, "false"])
def test_booleans_must_be_booleans(value: object) -> None:
    found = paths(with_changes(raw_stack("foundry-prod"), gateway__ha=value))
    assert found == {"gateway.ha": f"{value!r} is not a boolean; write true or false, unquoted"}


def test_every_boolean_key_is_strict() -> None:
    raw = with_changes(
        raw_stack("obot-aks"),
        controller__ownsControllerWide="true",
        kubernetes__obot__defaultDenyAllEgress="false",
        foundry__enabled=0,
    )
    raw["mcpServers"][0]["denyAllEgress"] = "no"
    found = paths(raw)
    assert {
        "controller.ownsControllerWide",
        "kubernetes.obot.defaultDenyAllEgress",
        "foundry.enabled",
        "mcpServers[0].denyAllEgress",
    } <= set(found)


def test_a_zero_padded_prefix_is_not_called_host_bits() -> None:
    found = paths(with_changes(raw_stack("foundry-prod"), network__cidr="10.40.0.0/016"))
    assert found == {
        "network.cidr": "'10.40.0.0/016' is not canonical (zero-padded prefix); write 10.40.0.0/16"
    }
    host_bits = paths(with_changes(raw_stack("foundry-prod"), network__cidr="10.40.0.1/16"))
    assert "host bits set" in host_bits["network.cidr"]


@pytest.mark.parametrize("prefix", [28, 29, 32])
def test_a_foundry_agent_subnet_below_the_documented_minimum_is_refused(prefix: int) -> None:
    # Microsoft Foundry Agent Service FAQ (learn.microsoft.com/azure/ai-foundry/agents/faq,
    # "What is the minimum size for the agent subnet"): "The recommended delegated agent
    # subnet size is /24. The minimum is /27."
    subnet = f"10.40.1.0/{prefix}"
    found = paths(with_changes(raw_stack("foundry-prod"), network__agentSubnet=subnet))
    assert found == {
        "network.agentSubnet": f"{subnet} is too small for Foundry agents: the subnet is "
        "delegated to Microsoft.App/environments, which needs /27 or larger "
        "(Microsoft recommends /24)"
    }


def test_a_27_agent_subnet_is_the_smallest_accepted() -> None:
    raw = with_changes(raw_stack("foundry-prod"), network__agentSubnet="10.40.1.0/27")
    assert issues_of(raw) == []


# --- cross-key checks -----------------------------------------------------------------------------


def test_default_action_permit_needs_the_controller_wide_owner() -> None:
    raw = with_changes(raw_stack("foundry-dev"), egress__defaultAction="PERMIT")
    assert raw["controller"].get("ownsControllerWide") is not True
    found = paths(raw)
    assert list(found) == ["egress.defaultAction"]
    assert found["egress.defaultAction"].startswith(
        "PERMIT is declared only by the stack that owns the controller-wide objects"
    )
    # DENY is what the owner's stack must declare (the pack refuses anything else): accepted.
    deny = with_changes(raw_stack("foundry-dev"), egress__defaultAction="DENY")
    assert issues_of(deny) == []
    # The owner may declare PERMIT here; the policy pack refuses it there.
    owner = with_changes(raw, controller__ownsControllerWide=True)
    assert issues_of(owner) == []


def test_foundry_on_controller_8_1_is_refused_at_validation() -> None:
    found = paths(with_changes(raw_stack("foundry-prod"), controller__version="8.1"))
    assert set(found) == {"controller.version", "egress.toolCalls.decrypt"}
    assert "Foundry stacks need controller 8.2+" in found["controller.version"]


def test_kubernetes_on_controller_8_1_declares_no_decryption() -> None:
    # An 8.1 controller needs a provider pinned for it, or the provider's check skipped.
    raw = with_changes(raw_stack("obot-aks"), controller__version="8.1")
    rulebase = compile_rulebase(validate(raw, skip_version_validation=True))
    assert all(r.decrypt_policy is None for r in rulebase.rules)
    assert Code.DECRYPT_NEEDS_CONTROLLER_8_2 not in {f.code for f in analyze(rulebase)}
    # On 8.2 the same stack keeps its explicit DECRYPT_NOT_ALLOWED settings.
    current = compile_rulebase(validate(raw_stack("obot-aks")))
    assert any(r.decrypt_policy is not None for r in current.rules)


@pytest.mark.parametrize(
    ("zones", "path", "reason"),
    [
        (["us-east-1a"], "network.availabilityZones", "second zone for the HA gateway"),
        (["us-east-1a", "us-east-1a"], "network.availabilityZones", "two different zones"),
        (["us-west-2a", "us-east-1b"], "network.availabilityZones[0]", "not a zone of"),
        (["us-east-1a", "us-east-1b", "us-east-1c"], "network.availabilityZones", "at most"),
    ],
)
def test_aws_availability_zones(zones: list[str], path: str, reason: str) -> None:
    found = paths(with_changes(raw_stack("obot-eks"), network__availabilityZones=zones))
    assert reason in found[path]


@pytest.mark.parametrize(
    ("lock", "path", "reason"),
    [
        ({"gatewayPrivateIp": "not-an-ip"}, "lock.gatewayPrivateIp", "not an IPv4 address"),
        ({"agentSubnetId": "no"}, "lock.agentSubnetId", "is not an Azure subnet resource id"),
        ({"agentSubnetId": False}, "lock.agentSubnetId", "valid string"),
        ({"agentSubnetId": ["a"]}, "lock.agentSubnetId", "valid string"),
        ({"agentSubnetId": " /subscriptions/x"}, "lock.agentSubnetId", "not a resource id"),
        (
            {
                "routes": [
                    {
                        "addressPrefix": "0.0.0.0/0",
                        "nextHopType": "VirtualAppliance",
                        "nextHopIpAddress": "10.40.0.999",
                    }
                ]
            },
            "lock.routes[0].nextHopIpAddress",
            "not an IPv4 address",
        ),
    ],
)
def test_the_lock_is_validated_field_by_field(lock: dict[str, Any], path: str, reason: str) -> None:
    raw = raw_stack("foundry-prod")
    raw["lock"] = {"agentSubnetCidr": "10.40.1.0/24", **lock}
    found = paths(raw)
    assert reason in found[path], found


def test_an_aws_lock_takes_aws_subnet_ids() -> None:
    raw = raw_stack("obot-eks")
    raw["lock"] = {"agentSubnetCidr": "10.80.8.0/22", "agentSubnetId": "subnet-0123456789abcdef0"}
    assert issues_of(raw) == []
    raw["lock"]["agentSubnetId"] = "/subscriptions/s/resourceGroups/g/providers/x"
    assert "not an AWS subnet id" in paths(raw)["lock.agentSubnetId"]


def test_an_optional_section_written_as_null_means_its_defaults() -> None:
    # Found by tests/test_fuzz.py: `mcp-containment:egress:` with nothing under it passed
    # validation, then failed building the Spec (a traceback from `validate`).
    raw = raw_stack("foundry-dev")
    raw["egress"] = None
    assert validate(raw).egress.mode.value == "monitor"


def test_validate_and_check_agree_on_a_kubernetes_stack_on_8_1(tmp_path: Path) -> None:
    # Once: validate passed, then check failed on the library's own decryption settings.
    path = tmp_path / "Pulumi.aks81.yaml"
    text = (STACKS_DIR / "Pulumi.obot-aks.yaml").read_text()
    text = text.replace('version: "8.2.1"', 'version: "8.1.3"')
    path.write_text(
        text.replace("config:\n", "config:\n  aviatrix:skipVersionValidation: true\n", 1)
    )
    for command in ("validate", "check"):
        result = CliRunner().invoke(app, [command, "--config", str(path)])
        assert result.exit_code == 0, result.output
