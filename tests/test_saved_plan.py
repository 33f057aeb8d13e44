"""``plan --save FILE`` / ``check --plan FILE``: the program runs once, the check judges
exactly what it would have planned, and a plan that could differ from today's is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mcp_containment.cli import _engine_config, app
from mcp_containment.config.load import load_file
from mcp_containment.crossguard.resources import Unknown
from mcp_containment.offline import runner, runtime, saved

from .helpers import STACKS_DIR

cli = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _violations(capture: runtime.Capture, stack_file: Path) -> list[dict[str, Any]]:
    return [v.to_json() for v in runner.check(capture, [], _engine_config(stack_file))]


@pytest.mark.parametrize("stack", ["foundry-dev", "obot-eks"])
def test_a_saved_plan_is_the_plan_and_judged_the_same(stack: str, tmp_path: Path) -> None:
    path = STACKS_DIR / f"Pulumi.{stack}.yaml"
    spec = load_file(path)
    capture = runtime.plan(spec)
    saved.save(capture, spec, tmp_path / "plan.json")
    back = saved.load(tmp_path / "plan.json", spec, preview=False)
    assert back == capture
    expected = _violations(capture, path)
    assert expected  # both stacks have findings: the comparison below means something
    assert _violations(back, path) == expected


def test_a_saved_preview_keeps_its_unknowns(tmp_path: Path) -> None:
    path = STACKS_DIR / "Pulumi.obot-eks.yaml"
    spec = load_file(path)
    capture = runtime.plan(spec, preview=True)
    saved.save(capture, spec, tmp_path / "plan.json")
    back = saved.load(tmp_path / "plan.json", spec, preview=True)
    unknowns = [
        (r.name, k, v.path)
        for r in back.resources
        for k, v in r.outputs.items()
        if isinstance(v, Unknown)
    ]
    assert unknowns == [
        (r.name, k, v.path)
        for r in capture.resources
        for k, v in r.outputs.items()
        if isinstance(v, Unknown)
    ]
    assert unknowns  # a first preview leaves ids unknown
    assert _violations(back, path) == _violations(capture, path)


def test_no_secret_is_written(tmp_path: Path) -> None:
    spec = load_file(STACKS_DIR / "Pulumi.obot-aks.yaml")
    saved.save(runtime.plan(spec), spec, tmp_path / "plan.json")
    text = (tmp_path / "plan.json").read_text()
    assert runtime.OFFLINE_OBOT_API_KEY not in text
    assert runtime.SECRET in text  # where the key goes, masked


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.copy.yaml"
    shutil.copy(STACKS_DIR / "Pulumi.foundry-dev.yaml", path)
    return path


def test_check_judges_the_saved_plan_without_running_the_program(
    stack_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_file = tmp_path / "plan.json"
    code, _, err = invoke("plan", "--config", str(stack_file), "--json", "--save", str(plan_file))
    assert code == 0, err
    code, planned_again, _ = invoke("check", "--config", str(stack_file), "--json")

    def never(*_: Any, **__: Any) -> runtime.Capture:
        raise AssertionError("check --plan ran the program")

    monkeypatch.setattr(runtime, "plan", never)
    code_saved, from_file, err = invoke(
        "check", "--config", str(stack_file), "--json", "--plan", str(plan_file)
    )
    assert (code_saved, from_file) == (code, planned_again), err
    assert json.loads(from_file)["violations"]


def _stale(stack_file: Path, plan_file: Path, *extra: str) -> str:
    code, out, _ = invoke(
        "check", "--config", str(stack_file), "--json", "--plan", str(plan_file), *extra
    )
    assert code == 2
    (error,) = json.loads(out)["errors"]
    assert error["path"] == "--plan"
    message: str = error["message"]
    return message


def test_a_plan_of_another_config_is_refused(stack_file: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert invoke("plan", "--config", str(stack_file), "--save", str(plan_file))[0] == 0
    doc = yaml.safe_load(stack_file.read_text())
    doc["config"]["mcp-containment:environment"] = "dev2"
    stack_file.write_text(yaml.safe_dump(doc))
    assert "is stale: the stack config has changed" in _stale(stack_file, plan_file)


def test_a_plan_by_another_installation_is_refused(stack_file: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert invoke("plan", "--config", str(stack_file), "--save", str(plan_file))[0] == 0
    doc = json.loads(plan_file.read_text())
    doc["provenance"]["package"] = "mcp-containment 0.0.1 0123456789abcdef"
    plan_file.write_text(json.dumps(doc))
    assert "was planned by mcp-containment 0.0.1" in _stale(stack_file, plan_file)
    doc["provenance"]["package"] = saved.provenance(load_file(stack_file), False)["package"]
    doc["provenance"]["sdks"]["pulumi"] = "0.0.1"
    plan_file.write_text(json.dumps(doc))
    assert "other Pulumi SDK versions" in _stale(stack_file, plan_file)


def test_an_update_plan_is_not_a_preview(stack_file: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert invoke("plan", "--config", str(stack_file), "--save", str(plan_file))[0] == 0
    assert "--preview plans a first preview itself" in _stale(stack_file, plan_file, "--preview")


def test_a_file_that_is_not_a_plan_is_refused(stack_file: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"resources": []}')
    assert "is not a saved plan" in _stale(stack_file, junk)
    assert "is not a saved plan" in _stale(stack_file, tmp_path / "missing.json")


def test_the_package_digest_changes_with_any_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An edited checkout is never taken for the release it was cut from.
    package = tmp_path / "mcp_containment"
    (package / "core").mkdir(parents=True)
    (package / "core" / "fqdn.py").write_text("A = 1\n")
    (package / "__pycache__").mkdir()
    monkeypatch.setattr(saved, "_PACKAGE", package)
    saved._package_digest.cache_clear()
    try:
        before = saved._package_digest()
        (package / "__pycache__" / "x.pyc").write_bytes(b"compiled")  # not the source
        saved._package_digest.cache_clear()
        assert saved._package_digest() == before
        (package / "core" / "fqdn.py").write_text("A = 2\n")
        saved._package_digest.cache_clear()
        assert saved._package_digest() != before
    finally:
        saved._package_digest.cache_clear()
