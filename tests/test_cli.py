"""Every command's exit codes: 0 for success, 1 for mandatory violations (``check``), 2 for bad
input, with a message that names the input (and JSON under ``--json``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mcp_containment import __version__
from mcp_containment.cli import app

from .helpers import STACK_COMMANDS, STACKS_DIR

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def stack_copy(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.copy.yaml"
    shutil.copy(STACKS_DIR / "Pulumi.foundry-prod.yaml", path)
    return path


def _edit(path: Path, **config: object) -> Path:
    doc = yaml.safe_load(path.read_text())
    for key, value in config.items():
        doc["config"][f"mcp-containment:{key}"] = value
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def invalid_stack(stack_copy: Path) -> Path:
    return _edit(stack_copy, network={"region": "eastus", "cidr": "10.0.0.0/33"})


COMMANDS = STACK_COMMANDS
# Exit 0 needs more than an example stack: a stack file to write, a catalog repository, live
# objects, a Pulumi CLI. Their own tests cover it (test_lock, test_catalog, test_verify,
# test_teardown); here, every command's exit 2.
NEEDS_MORE = {"lock", "catalog", "verify", "teardown"}


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - NEEDS_MORE))
def test_exit_0_on_an_example_stack(command: str) -> None:
    code, out, _ = invoke(command, "--stack", "foundry-prod", *COMMANDS[command])
    assert code == 0, out


def test_lock_exits_0_and_writes_the_lock(stack_copy: Path) -> None:
    code, out, _ = invoke("lock", "--config", str(stack_copy), "--json")
    assert code == 0, out
    assert json.loads(out)["lock"]["agentSubnetCidr"] == "10.40.1.0/24"
    assert "mcp-containment:lock" in yaml.safe_load(stack_copy.read_text())["config"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_exit_2_on_an_invalid_stack_names_the_key(command: str, invalid_stack: Path) -> None:
    before = invalid_stack.read_bytes()
    code, _, err = invoke(command, "--config", str(invalid_stack), *COMMANDS[command])
    assert code == 2
    assert "network.cidr" in err
    assert invalid_stack.read_bytes() == before  # nothing half-done


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - {"policy-config"}))
def test_exit_2_under_json_is_json(command: str, invalid_stack: Path) -> None:
    code, out, _ = invoke(command, "--config", str(invalid_stack), "--json", *COMMANDS[command])
    assert code == 2
    doc = json.loads(out)
    assert doc["valid"] is False
    assert any(e["path"] == "network.cidr" for e in doc["errors"])


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_exit_2_without_a_stack(command: str) -> None:
    code, _, err = invoke(command, *COMMANDS[command])
    assert code == 2
    assert "--stack" in err


def test_check_exits_1_on_a_mandatory_violation(stack_copy: Path) -> None:
    # Production with its default deny only monitoring: refused by the pack.
    _edit(
        stack_copy,
        egress={
            "defaultAction": "DENY",
            "mode": "enforce",
            "ruleModes": {"default-deny-internet": "monitor"},
            "eastWest": ["10.50.0.0/16"],
        },
    )
    code, out, _ = invoke("check", "--config", str(stack_copy), "--json")
    assert code == 1
    violations = json.loads(out)["violations"]
    assert {"dcf-default-deny-enforced-in-production"} <= {
        v["policy"] for v in violations if v["level"] == "mandatory"
    }


def test_check_exits_0_when_the_policy_config_lowers_the_violation(
    stack_copy: Path, tmp_path: Path
) -> None:
    _edit(
        stack_copy,
        egress={
            "mode": "enforce",
            "ruleModes": {"default-deny-internet": "monitor"},
            "eastWest": ["10.50.0.0/16"],
        },
    )
    lowered = tmp_path / "policy-config.json"
    lowered.write_text(json.dumps({"dcf-default-deny-enforced-in-production": "advisory"}))
    code, out, _ = invoke("check", "--config", str(stack_copy), "--policy-config", str(lowered))
    assert code == 0, out


def test_check_exit_2_on_an_unknown_policy_in_the_policy_config(tmp_path: Path) -> None:
    bad = tmp_path / "policy-config.json"
    bad.write_text(json.dumps({"subnet-immutabilty": "advisory"}))
    code, _, err = invoke("check", "--stack", "foundry-prod", "--policy-config", str(bad))
    assert code == 2
    assert "subnet-immutabilty" in err


def test_simulate_exit_2_names_the_flow_field() -> None:
    code, _, err = invoke(
        "simulate", "--stack", "foundry-prod", "--src", "nowhere", "--dst", "a.io"
    )
    assert code == 2
    assert "source" in err


def test_replay_exit_2_on_a_missing_log(tmp_path: Path) -> None:
    code, _, err = invoke("replay", "--stack", "foundry-prod", str(tmp_path / "none.jsonl"))
    assert code == 2
    assert "LOG" in err


def test_lock_exit_2_on_unreadable_outputs(stack_copy: Path, tmp_path: Path) -> None:
    before = stack_copy.read_bytes()
    outputs = tmp_path / "outputs.json"
    outputs.write_text("[1, 2]")
    code, _, err = invoke("lock", "--config", str(stack_copy), "--from-outputs", str(outputs))
    assert code == 2
    assert "--from-outputs" in err
    assert stack_copy.read_bytes() == before


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0
    assert out.strip() == f"containment {__version__}"


def test_check_judges_a_first_preview_on_request(stack_copy: Path) -> None:
    # A locked foundry-prod: its first preview cannot keep the subnet id or gateway address.
    code, out, _ = invoke("lock", "--config", str(stack_copy), "--json")
    assert code == 0, out
    doc = yaml.safe_load(stack_copy.read_text())
    doc["config"]["mcp-containment:lock"].update(
        agentSubnetId="/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/"
        "providers/Microsoft.Network/virtualNetworks/prod-mcp-spoke/subnets/agents",
        gatewayPrivateIp="10.40.0.4",
    )
    stack_copy.write_text(yaml.safe_dump(doc))
    code, out, _ = invoke("check", "--config", str(stack_copy), "--preview", "--json")
    assert code == 1
    messages = [v["message"] for v in json.loads(out)["violations"]]
    assert any("not known until apply" in m for m in messages), messages


def test_check_needs_no_policy_config_for_the_stack_facts(stack_copy: Path) -> None:
    # The network lock comes from the stack file itself, as in a real preview: a lock of
    # another agent subnet fails subnet-immutability with no policy config at all.
    _edit(stack_copy, lock={"agentSubnetCidr": "10.40.9.0/24"})
    code, out, _ = invoke("check", "--config", str(stack_copy), "--json")
    assert code == 1
    hits = [v for v in json.loads(out)["violations"] if v["policy"] == "subnet-immutability"]
    assert hits and all("10.40.9.0/24" in v["message"] for v in hits)


def test_policy_pack_writes_a_runnable_pack_and_prints_its_directory(tmp_path: Path) -> None:
    code, out, _ = invoke("policy-pack", "--out", str(tmp_path / "pack"))
    assert code == 0
    written = Path(out.strip())
    assert sorted(p.name for p in written.iterdir()) == [
        "PulumiPolicy.yaml",
        "__main__.py",
        "requirements.txt",
    ]
    doc = yaml.safe_load((written / "PulumiPolicy.yaml").read_text())
    venv = Path(doc["runtime"]["options"]["virtualenv"])
    assert venv.is_absolute() and (venv / "bin" / "python").is_file()
    assert doc["version"] == __version__
    # Writing again over an earlier pack is fine; over anything else it is refused.
    assert invoke("policy-pack", "--out", str(written))[0] == 0
    (written / "notes.txt").write_text("mine")
    code, _, err = invoke("policy-pack", "--out", str(written))
    assert code == 2 and "notes.txt" in err


def test_check_exit_2_on_a_property_the_engine_would_refuse(tmp_path: Path) -> None:
    bad = tmp_path / "policy-config.json"
    bad.write_text(json.dumps({"dcf-audit-logging": {"production": "yes"}}))
    code, _, err = invoke("check", "--stack", "foundry-prod", "--policy-config", str(bad))
    assert code == 2
    assert "--policy-config" in err and "'yes' is not of type 'boolean'" in err
