"""Every command under every bad input of issue 13: exit 2, a message that names the input
(file, key or option), JSON under --json, no traceback, and the stack file untouched."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from mcp_containment.cli import app

from .helpers import STACK_COMMANDS, STACKS_DIR

COMMANDS = STACK_COMMANDS


def _stack_text(stack: str = "foundry-prod") -> str:
    return (STACKS_DIR / f"Pulumi.{stack}.yaml").read_text()


def _with_config(stack: str, **extra: object) -> str:
    doc = yaml.safe_load(_stack_text(stack))
    doc["config"].update(extra)
    return yaml.safe_dump(doc, sort_keys=False)


def _file(text: str | bytes) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        path = tmp_path / "Pulumi.bad.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return make


def _symlink_loop(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.loop.yaml"
    os.symlink(path, path)
    return path


# (how to make the bad --config, the error path it must name: FILE means the file itself)
BAD_STACKS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "binary junk": (_file(b"config:\n  x: \xff\xfe\x00\x81"), "FILE"),
    "deep nesting": (_file("config: " + "[" * 3000 + "]" * 3000), "FILE"),
    "integer key": (_file("1: 2\n"), "FILE"),
    "null key": (_file("config:\n  null: 1\n"), "FILE"),
    "a directory": (lambda tmp: tmp, "FILE"),
    "a symlink loop": (_symlink_loop, "FILE"),
    "/dev/zero": (lambda tmp: Path("/dev/zero"), "FILE"),
    "no such file": (lambda tmp: tmp / "Pulumi.none.yaml", "FILE"),
    "empty file": (_file(""), "FILE"),
    "yaml error": (_file("config:\n  aviatrix:password: pw: s3cret\n"), "FILE"),
    "two spellings": (_file(_with_config("foundry-prod", egress={"mode": "monitor"})), "egress"),
    "misspelled namespace": (
        _file(_with_config("foundry-prod", **{"mcp-containmnet:egress": {}})),
        "mcp-containmnet:egress",
    ),
    "aws:region": (_file(_with_config("obot-eks", **{"aws:region": "eu-west-1"})), "aws:region"),
    "ha: 'yes'": (
        _file(_stack_text().replace("ha: true", "ha: 'yes'")),
        "gateway.ha",
    ),
    "defaultAction on a stack that does not own it": (
        _file(_stack_text("foundry-dev").replace("defaultAction: DENY", "defaultAction: PERMIT")),
        "egress.defaultAction",
    ),
    "foundry on 8.1": (
        _file(_stack_text().replace('version: "8.2.1"', 'version: "8.1"')),
        "controller.version",
    ),
}


def _invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("bad", sorted(BAD_STACKS))
def test_every_command_refuses_every_bad_stack(command: str, bad: str, tmp_path: Path) -> None:
    make, where = BAD_STACKS[bad]
    path = make(tmp_path)
    expected = str(path) if where == "FILE" else where
    before = path.read_bytes() if path.is_file() and path != Path("/dev/zero") else None
    human = _invoke(command, "--config", str(path), *COMMANDS[command])
    assert human.exit_code == 2
    assert f"{expected}:" in human.stderr
    machine = _invoke(command, "--config", str(path), "--json", *COMMANDS[command])
    assert machine.exit_code == 2
    doc = json.loads(machine.stdout)
    assert doc["valid"] is False
    assert expected in [e["path"] for e in doc["errors"]]
    if before is not None:
        assert path.read_bytes() == before


USAGE_ERRORS: list[tuple[list[str], str, str]] = [
    (["simulate", "--dst", "a.io"], "--src", "Missing option '--src'"),
    (["simulate", "--src", "10.40.1.9", "--dst", "a.io", "--port", "443.0"], "--port", "443.0"),
    (["simulate", "--src", "10.40.1.9", "--dst", "a.io", "--port", "0"], "--port", "range"),
    (["validate", "--no-such-flag"], "--no-such-flag", "No such option"),
    (["replay"], "LOG", "Missing argument"),
    (["check", "--policy-config"], "--policy-config", "requires an argument"),
]


@pytest.mark.parametrize(("args", "where", "message"), USAGE_ERRORS)
def test_usage_errors_are_exit_2_and_json(args: list[str], where: str, message: str) -> None:
    stack = ["--stack", "foundry-prod", "--stacks-dir", str(STACKS_DIR)]
    # Options first, so the one under test comes last (--policy-config without its value).
    machine = _invoke(args[0], "--json", *stack, *args[1:])
    assert machine.exit_code == 2
    (error,) = json.loads(machine.stdout)["errors"]
    assert error["path"] == where
    assert message in error["message"]
    human = _invoke(args[0], *stack, *args[1:])
    assert human.exit_code == 2
    assert message in human.output


def test_a_stack_name_is_not_a_path() -> None:
    result = _invoke("validate", "--stack", "../../etc/passwd", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["path"] == "--stack"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"subnet-immutability": {"lock": "x"}}, "subnet-immutability.lock: 'x' is not of type"),
        (
            {"subnet-immutability": {"lock": {"agentSubnetCidr": 5}}},
            "subnet-immutability.lock.agentSubnetCidr: Input should be a valid string",
        ),
        (
            {"subnet-immutability": {"lock": {"agentSubnetCidr": "10.40.1.0/24", "routes": [1]}}},
            "subnet-immutability.lock.routes.0",
        ),
        ({"dcf-rule-ordering": {"production": "yes"}}, "'yes' is not of type 'boolean'"),
    ],
)
def test_a_wrong_typed_policy_config_is_exit_2(
    tmp_path: Path, config: dict[str, object], message: str
) -> None:
    # Once an AttributeError inside the policy: exit 1, the violations code.
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps(config))
    result = _invoke(
        "check", "--stack", "foundry-prod", "--stacks-dir", str(STACKS_DIR),
        "--policy-config", str(path), "--json",
    )  # fmt: skip
    assert result.exit_code == 2
    errors = json.loads(result.stdout)["errors"]
    assert any(e["path"] == "--policy-config" and message in e["message"] for e in errors), errors


def test_a_policy_config_that_is_a_device_is_not_read() -> None:
    result = _invoke(
        "check", "--stack", "foundry-prod", "--stacks-dir", str(STACKS_DIR),
        "--policy-config", "/dev/zero", "--json",
    )  # fmt: skip
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["path"] == "/dev/zero"
