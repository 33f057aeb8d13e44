"""Fuzzing `validate`, `replay` and `lock` through the CLI, in process: arbitrary bytes and
arbitrary structures. Whatever the input: no traceback, exit 0 or 2, JSON under --json, and
the stack file byte-for-byte unchanged unless the command succeeded (and still valid when it
did)."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from mcp_containment.cli import app
from mcp_containment.config.load import load_file

from .helpers import STACKS_DIR

FUZZ = settings(
    # A few seconds in CI; FUZZ_EXAMPLES=2000 for a longer hunt.
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STACK = "foundry-prod"
STACK_TEXT = (STACKS_DIR / f"Pulumi.{STACK}.yaml").read_text()
CONFIG = yaml.safe_load(STACK_TEXT)["config"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["yes", "no", "10.40.1.0/24", "10.40.1.0/016", "[secret]", "*.com", "8.1"]),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        *CONFIG,
        "egress",
        "lock",
        "mcp-containmnet:egress",
        "aws:region",
        "mcp-containment:lock",
        "mcp-containment:mcpServers",
    ]
)


def run(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if "--json" in args:
        json.loads(result.stdout)  # always a JSON document
    return result


@contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        yield Path(tmp)


def _stack_with(changes: dict[str, Any]) -> str:
    config = {**CONFIG, **changes}
    return yaml.safe_dump({"config": config}, sort_keys=False, allow_unicode=True)


# --- validate -------------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=2048))
def test_validate_arbitrary_bytes(data: bytes) -> None:
    with _workdir() as work:
        path = work / "Pulumi.fuzz.yaml"
        path.write_bytes(data)
        run("validate", "--config", str(path), "--json")
        assert path.read_bytes() == data


@FUZZ
@given(st.dictionaries(keys, structures, max_size=3))
def test_validate_arbitrary_structures(changes: dict[str, Any]) -> None:
    with _workdir() as work:
        path = work / "Pulumi.fuzz.yaml"
        text = _stack_with(changes)
        path.write_text(text)
        result = run("validate", "--config", str(path), "--json")
        if result.exit_code == 0:
            load_file(path)  # what validate accepts, the program loads
        assert path.read_text() == text


@FUZZ
@given(st.text(max_size=400))
def test_validate_arbitrary_text_in_the_stack(noise: str) -> None:
    """Text spliced into a real stack file: YAML errors, odd keys, control characters."""
    cut = len(STACK_TEXT) // 2
    with _workdir() as work:
        path = work / "Pulumi.fuzz.yaml"
        path.write_text(STACK_TEXT[:cut] + noise + STACK_TEXT[cut:])
        before = path.read_bytes()
        result = run("validate", "--config", str(path))
        assert path.read_bytes() == before
        if result.exit_code == 2:
            assert "invalid:" in result.stderr


# --- replay ---------------------------------------------------------------------------------------

field_values = st.one_of(
    structures,
    st.sampled_from(
        ["10.40.1.9", "2001:db8::1", "pod:obot-mcp/github", "*.com", "\x1b]0;x\x07", "443"]
    ),
)
records = st.lists(
    st.dictionaries(
        st.sampled_from(
            ["timestamp", "source", "destination", "destinationIp", "port", "protocol", "action"]
        ),
        field_values,
    ),
    max_size=8,
)


def _replay(log: Path) -> Result:
    return run("replay", str(log), "--stack", STACK, "--stacks-dir", str(STACKS_DIR), "--json")


@FUZZ
@given(st.binary(max_size=4096), st.booleans())
def test_replay_arbitrary_bytes(data: bytes, packed: bool) -> None:
    with _workdir() as work:
        log = work / "flows.log"
        log.write_bytes(gzip.compress(data) if packed else data)
        _replay(log)


@FUZZ
@given(records, st.sampled_from(["jsonl", "gzip", "truncated", "csv"]))
def test_replay_arbitrary_records(rows: list[dict[str, Any]], form: str) -> None:
    with _workdir() as work:
        log = work / "flows.log"
        if form == "csv":
            header = "timestamp,source,destination,destinationIp,port,protocol\n"
            body = "".join(
                ",".join(json.dumps(r.get(c), default=str) for c in header.strip().split(","))
                + "\n"
                for r in rows
            )
            log.write_text(header + body)
        else:
            data = b"".join(json.dumps(r, default=str).encode() + b"\n" for r in rows)
            if form != "jsonl":
                data = gzip.compress(data)
            if form == "truncated":
                data = data[: max(2, len(data) // 2)]
            log.write_bytes(data)
        result = _replay(log)
        if result.exit_code == 0:
            doc = json.loads(result.stdout)
            assert doc["flows"] + doc["badLines"] <= max(doc["lines"], 1)


# --- lock -----------------------------------------------------------------------------------------


@FUZZ
@given(st.dictionaries(st.sampled_from(["agentSubnetId", "gatewayPrivateIp", "x"]), structures))
def test_lock_arbitrary_outputs(outputs: dict[str, Any]) -> None:
    with _workdir() as work:
        stack = work / "Pulumi.fuzz.yaml"
        stack.write_text(STACK_TEXT)
        out = work / "outputs.json"
        out.write_text(json.dumps(outputs))
        result = run("lock", "--config", str(stack), "--from-outputs", str(out), "--json")
        if result.exit_code == 0:
            assert load_file(stack).lock is not None
        else:
            assert stack.read_text() == STACK_TEXT


@FUZZ
@given(st.binary(max_size=1024) | st.text(max_size=300).map(str.encode))
def test_lock_arbitrary_outputs_file(data: bytes) -> None:
    with _workdir() as work:
        stack = work / "Pulumi.fuzz.yaml"
        stack.write_text(STACK_TEXT)
        out = work / "outputs.json"
        out.write_bytes(data)
        result = run("lock", "--config", str(stack), "--from-outputs", str(out), "--json")
        if result.exit_code != 0:
            assert stack.read_text() == STACK_TEXT


@FUZZ
@given(st.dictionaries(keys, structures, max_size=3), st.booleans())
def test_lock_arbitrary_stacks(changes: dict[str, Any], crlf: bool) -> None:
    with _workdir() as work:
        stack = work / "Pulumi.fuzz.yaml"
        text = _stack_with(changes)
        data = text.replace("\n", "\r\n").encode() if crlf else text.encode()
        stack.write_bytes(data)
        result = run("lock", "--config", str(stack), "--json")
        if result.exit_code == 0:
            relocked = load_file(stack)
            assert relocked.lock is not None
            assert stack.read_bytes().count(b"\r\n") == (
                stack.read_bytes().count(b"\n") if crlf else 0
            )
        else:
            assert stack.read_bytes() == data


@FUZZ
@given(st.binary(max_size=2048))
def test_lock_arbitrary_bytes(data: bytes) -> None:
    with _workdir() as work:
        stack = work / "Pulumi.fuzz.yaml"
        stack.write_bytes(data)
        result = run("lock", "--config", str(stack), "--json")
        if result.exit_code != 0:
            assert stack.read_bytes() == data
