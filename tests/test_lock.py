"""The network lock: built from the spec and deployed outputs, written into the stack file."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mcp_containment.cli import app
from mcp_containment.config.load import load_file, load_stack
from mcp_containment.config.lock import (
    _scalar,
    build_lock,
    lock_document,
    read_outputs,
    write_lock,
)
from mcp_containment.crossguard.policy_config import stack_facts

from .helpers import STACKS_DIR

OUTPUTS = {
    "agentSubnetId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/"
    "virtualNetworks/v/subnets/agents",
    "gatewayPrivateIp": "10.40.0.4",
}


def test_lock_from_spec_and_outputs() -> None:
    spec = load_stack("foundry-prod", STACKS_DIR)
    doc = lock_document(build_lock(spec, OUTPUTS))
    assert doc == {
        "agentSubnetCidr": "10.40.1.0/24",
        "agentSubnetId": OUTPUTS["agentSubnetId"],
        "routes": [
            {
                "addressPrefix": "0.0.0.0/0",
                "nextHopType": "VirtualAppliance",
                "nextHopIpAddress": "10.40.0.4",
            }
        ],
        "gatewayPrivateIp": "10.40.0.4",
        "capabilityHostSubnet": OUTPUTS["agentSubnetId"],
    }


def test_lock_before_deploy_records_only_what_is_known() -> None:
    doc = lock_document(build_lock(load_stack("foundry-prod", STACKS_DIR)))
    assert "agentSubnetId" not in doc and "gatewayPrivateIp" not in doc
    assert doc["routes"] == [{"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance"}]


def test_write_keeps_comments_and_the_file_still_validates(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.foundry-prod.yaml"
    shutil.copy(STACKS_DIR / "Pulumi.foundry-prod.yaml", path)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS))
    spec = load_file(path)
    write_lock(path, build_lock(spec, read_outputs(outputs)))
    text = path.read_text()
    assert "# Foundry hosted agents on Azure" in text  # comments survive
    relocked = load_file(path)
    assert relocked.lock is not None
    assert relocked.lock.gateway_private_ip == "10.40.0.4"
    assert relocked.network == spec.network  # nothing else moved
    # The lock reaches the policy pack through policy config.
    assert stack_facts(relocked)["subnet-immutability"]["lock"]["agentSubnetCidr"] == (
        "10.40.1.0/24"
    )


# --- issue 13: nothing lost --------------------------------------------------------------------

AZURE_ID = OUTPUTS["agentSubnetId"]


def _copy(tmp_path: Path, stack: str = "foundry-prod") -> Path:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    shutil.copy(STACKS_DIR / f"Pulumi.{stack}.yaml", path)
    return path


def _lock(path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["lock", "--config", str(path), *args])
    return result.exit_code, result.stdout, result.stderr


def _outputs(tmp_path: Path, doc: object) -> str:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_every_byte_outside_the_lock_is_kept(tmp_path: Path) -> None:
    """CRLF line ends, a byte-order mark, comments, quoting and a line far past any folding
    width survive; the only difference is the inserted lock block."""
    text = (STACKS_DIR / "Pulumi.foundry-prod.yaml").read_text()
    text = text.replace("accountName: azure-prod", "accountName: 'azure-prod'  # quoted")
    # The old ruamel round-trip folded long values at 80 columns: this one keeps its line.
    text = text.replace(
        "  azure-native:location: eastus\n",
        '  azure-native:location: eastus\n  azure-native:clientId: "' + "c" * 150 + '"\n',
    )
    text = text.replace(
        "  mcp-containment:foundry:", "  # Foundry: " + "x" * 300 + "\n  mcp-containment:foundry:"
    )
    text += "  # last words of config\nencryptionsalt: v1:c2FsdA==\n"
    original = ("\ufeff" + text).replace("\n", "\r\n").encode()
    path = tmp_path / "Pulumi.crlf.yaml"
    path.write_bytes(original)
    code, _, err = _lock(path, "--from-outputs", _outputs(tmp_path, OUTPUTS))
    assert code == 0, err
    written = path.read_bytes()
    assert written.count(b"\r\n") == written.count(b"\n")  # still CRLF throughout
    start = written.index(b"  mcp-containment:lock:\r\n")
    end = written.index(b"  # last words of config")
    assert written[:start] + written[end:] == original
    block = written[start:end].decode()
    assert "nextHopIpAddress: 10.40.0.4\r\n" in block
    assert f"agentSubnetId: {AZURE_ID}\r\n" in block  # one line, not folded


def test_a_value_yaml_would_misread_is_quoted() -> None:
    assert _scalar("no") == '"no"'
    assert _scalar("on") == '"on"'
    assert _scalar("0x1F") == '"0x1F"'
    assert _scalar("null") == '"null"'
    assert _scalar("2026-01-01") == '"2026-01-01"'
    assert _scalar("10.40.0.4") == "10.40.0.4"
    assert _scalar("a: b") == '"a: b"'


def test_a_subnet_id_of_no_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    # Once written unquoted, read back as a boolean, and refused by every command after.
    path = _copy(tmp_path)
    before = path.read_bytes()
    code, _, err = _lock(path, "--from-outputs", _outputs(tmp_path, {"agentSubnetId": "no"}))
    assert code == 2
    assert "lock.agentSubnetId: 'no' is not an Azure subnet resource id" in err
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("outputs", "reason"),
    [
        ({"gatewayPrivateIp": "[secret]"}, "gatewayPrivateIp is masked ('[secret]')"),
        ({"gatewayPrivateIp": "not-an-ip"}, "gatewayPrivateIp: 'not-an-ip' is not an IPv4"),
        ({"agentSubnetId": ["a", "b"]}, "agentSubnetId: expected a string, got list"),
        ({"agentSubnetId": 7}, "agentSubnetId: expected a string, got int"),
        ({"agentSubnetId": "a\nb"}, "agentSubnetId: 'a\\nb' is not a resource id"),
    ],
)
def test_bad_outputs_are_refused_and_nothing_is_written(
    tmp_path: Path, outputs: dict[str, object], reason: str
) -> None:
    # `pulumi stack output --json` prints secret outputs as "[secret]" without --show-secrets
    # (pulumi/pulumi pkg/backend/display massagePropertyValue, used by
    # pkg/cmd/pulumi/stack/stack_output.go at 321914d5).
    path = _copy(tmp_path)
    before = path.read_bytes()
    code, _, err = _lock(path, "--from-outputs", _outputs(tmp_path, outputs))
    assert code == 2
    assert "--from-outputs" in err and reason in err
    assert path.read_bytes() == before


def test_relocking_without_outputs_keeps_the_deployed_values(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    assert _lock(path, "--from-outputs", _outputs(tmp_path, OUTPUTS))[0] == 0
    locked = path.read_bytes()
    result = CliRunner().invoke(app, ["lock", "--config", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["carried"] == ["agentSubnetId", "gatewayPrivateIp"]
    assert doc["lock"]["gatewayPrivateIp"] == "10.40.0.4"
    assert path.read_bytes() == locked  # the same lock, byte for byte
    spec = load_file(path)
    assert spec.lock is not None and spec.lock.agent_subnet_id == AZURE_ID


def test_a_locked_value_cannot_change_without_an_acknowledgement(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    assert _lock(path, "--from-outputs", _outputs(tmp_path, OUTPUTS))[0] == 0
    locked = path.read_bytes()
    moved = {**OUTPUTS, "gatewayPrivateIp": "10.40.0.5"}
    code, _, err = _lock(path, "--from-outputs", _outputs(tmp_path, moved))
    assert code == 2
    assert 'lock.gatewayPrivateIp: is locked as "10.40.0.4" and the stack now gives' in err
    assert "teardownAcknowledged" in err
    assert path.read_bytes() == locked


def test_after_an_acknowledgement_a_new_lock_says_what_it_no_longer_holds(
    tmp_path: Path,
) -> None:
    path = _copy(tmp_path)
    assert _lock(path, "--from-outputs", _outputs(tmp_path, OUTPUTS))[0] == 0
    text = path.read_text().replace(
        "  mcp-containment:lock:\n", "  mcp-containment:lock:\n    teardownAcknowledged: CHG-1\n"
    )
    path.write_text(text)
    result = CliRunner().invoke(app, ["lock", "--config", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["dropped"] == ["agentSubnetId", "gatewayPrivateIp", "capabilityHostSubnet"]
    assert "teardownAcknowledged" not in path.read_text()  # never carried forward


def test_a_flow_style_stack_file_is_locked_in_place(tmp_path: Path) -> None:
    doc = yaml.safe_load((STACKS_DIR / "Pulumi.foundry-prod.yaml").read_text())
    path = tmp_path / "Pulumi.flow.yaml"
    path.write_text(json.dumps(doc))
    assert _lock(path, "--from-outputs", _outputs(tmp_path, OUTPUTS))[0] == 0
    relocked = yaml.safe_load(path.read_text())
    assert relocked["config"]["mcp-containment:lock"]["gatewayPrivateIp"] == "10.40.0.4"
    assert {k: v for k, v in relocked["config"].items() if k != "mcp-containment:lock"} == doc[
        "config"
    ]


def test_a_symlinked_stack_file_stays_a_symlink(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    link = tmp_path / "Pulumi.link.yaml"
    os.symlink(target, link)
    assert _lock(link)[0] == 0
    assert link.is_symlink()
    assert "mcp-containment:lock" in target.read_text()


def test_the_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    path.chmod(0o640)
    assert _lock(path)[0] == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
