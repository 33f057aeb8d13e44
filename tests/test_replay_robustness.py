"""Issue 13, replay side: hostile and damaged logs. Each test replays the input the issue
reported; lines already read are kept, problems are reported as bad lines (or, for a file
that is not a flow log at all, exit 2), and memory stays flat."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcp_containment.cli import app
from mcp_containment.compile.replay import replay, replay_file
from mcp_containment.config.load import load_file
from mcp_containment.core.flowlog import MAX_LINE_BYTES, parse_flow

from .helpers import STACKS_DIR, written

SPEC = load_file(STACKS_DIR / "Pulumi.foundry-dev.yaml")
FLOW = {
    "timestamp": "2026-11-20T10:00:00Z",
    "source": "10.30.1.10",
    "destination": "pypi.org",
    "port": 443,
    "protocol": "tcp",
}
LINES = 2000


def jsonl(n: int = LINES, **changes: Any) -> bytes:
    return b"".join(json.dumps({**FLOW, **changes}).encode() + b"\n" for _ in range(n))


def cli(log: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, ["replay", str(log), "--config", str(STACKS_DIR / "Pulumi.foundry-dev.yaml"), *args]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def report(log: Path) -> dict[str, Any]:
    code, out, err = cli(log, "--json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


# --- damaged gzip: the lines already read are kept, the problem is one bad line -----------------


def test_truncated_gzip_keeps_the_lines_read(tmp_path: Path) -> None:
    packed = gzip.compress(jsonl(20_000), mtime=0)
    doc = report(written(tmp_path, packed[: len(packed) // 2]))
    assert 0 < doc["flows"] < 20_000
    assert doc["badLines"] == 1
    (bad,) = doc["badLineSamples"]
    assert bad["line"] == doc["flows"] + 1
    assert bad["reason"].startswith("gzip stream unreadable from here on (Compressed file ended")
    assert bad["reason"].endswith("the lines before it are counted")
    assert doc["incomplete"] == f"line {bad['line']}: {bad['reason']}"


def test_gzip_with_trailing_garbage_keeps_every_line(tmp_path: Path) -> None:
    doc = report(written(tmp_path, gzip.compress(jsonl(), mtime=0) + b"trailing garbage"))
    assert doc["flows"] == LINES
    assert doc["badLines"] == 1
    assert "Not a gzipped file" in doc["badLineSamples"][0]["reason"]


def test_corrupt_gzip_keeps_the_lines_read(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(jsonl(20_000), mtime=0))
    packed[len(packed) * 3 // 4] ^= 0xFF  # a flipped byte in the deflate stream
    doc = report(written(tmp_path, bytes(packed)))
    assert 0 < doc["flows"] <= 20_000
    assert doc["badLines"] >= 1  # the garbled lines before the failure, then the failure
    assert doc["incomplete"].split(": ", 1)[1].startswith("gzip stream unreadable from here on")


def test_a_gzip_that_is_nothing_but_a_header_is_not_a_flow_log(tmp_path: Path) -> None:
    log = written(tmp_path, b"\x1f\x8b" + b"\x00junk" * 10)
    code, out, _ = cli(log, "--json")
    assert code == 2
    (error,) = json.loads(out)["errors"]
    assert error["path"] == "LOG"
    assert "unreadable" in error["message"]


# --- long lines and CSV limits --------------------------------------------------------------------


def test_a_csv_field_over_the_csv_module_limit_is_one_bad_line(tmp_path: Path) -> None:
    # Python's csv refuses fields over 131,072 characters and, read as one stream, stopped
    # the replay there. Every line after it must still count.
    header = "timestamp,source,destination,port,protocol\n"
    good = "2026-11-20T10:00:00Z,10.30.1.10,pypi.org,443,tcp\n"
    huge = f'2026-11-20T10:00:00Z,10.30.1.10,"{"a" * 140_000}",443,tcp\n'
    doc = report(written(tmp_path, (header + good + huge + good * 3).encode(), "flows.csv"))
    assert (doc["lines"], doc["flows"], doc["badLines"]) == (6, 4, 1)
    assert doc["badLineSamples"] == [
        {
            "line": 3,
            "reason": f"line longer than {MAX_LINE_BYTES} bytes ({len(huge)} bytes): "
            "not a flow record",
        }
    ]


def test_a_stray_csv_quote_does_not_swallow_the_rest(tmp_path: Path) -> None:
    header = "timestamp,source,destination,port,protocol\n"
    good = "2026-11-20T10:00:00Z,10.30.1.10,pypi.org,443,tcp\n"
    stray = '2026-11-20T10:00:00Z,10.30.1.10,"pypi.org,443,tcp\n'
    doc = report(written(tmp_path, (header + stray + good * 5).encode(), "flows.csv"))
    assert doc["flows"] == 5 and doc["badLines"] == 1


def test_a_gzip_without_newlines_costs_no_memory(tmp_path: Path) -> None:
    # The case: a small gzip that inflates to one enormous line.
    log = written(tmp_path, gzip.compress(b"{" + b"a" * (32 << 20), mtime=0))
    assert log.stat().st_size < 64 << 10
    tracemalloc.start()
    doc = replay_file(SPEC, log).to_json()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert doc["badLines"] == 1 and doc["flows"] == 0
    assert doc["badLineSamples"][0]["reason"].startswith(f"line longer than {MAX_LINE_BYTES}")
    assert peak < 2 << 20, f"{peak / 2**20:.1f} MB"


# --- format detection -----------------------------------------------------------------------------


def test_a_bom_is_ignored_in_json_lines(tmp_path: Path) -> None:
    doc = report(written(tmp_path, b"\xef\xbb\xbf" + jsonl(10)))
    assert (doc["flows"], doc["badLines"]) == (10, 0)


def test_a_bom_is_ignored_before_a_csv_header(tmp_path: Path) -> None:
    text = (
        "timestamp,source,destination,port,protocol\n2026-11-20T10:00:00Z,10.30.1.10,a.io,443,tcp\n"
    )
    doc = report(written(tmp_path, b"\xef\xbb\xbf" + text.encode(), "flows.csv"))
    assert (doc["flows"], doc["badLines"]) == (1, 0)


def test_csv_without_a_header_is_exit_2(tmp_path: Path) -> None:
    log = written(tmp_path, b"2026-11-20T10:00:00Z,10.30.1.10,pypi.org,443,tcp\n" * 3)
    code, out, _ = cli(log, "--json")
    assert code == 2
    (error,) = json.loads(out)["errors"]
    assert error["path"] == "LOG"
    assert "line 1 is neither a JSON object nor a CSV header" in error["message"]
    code, _, err = cli(log)
    assert code == 2 and "LOG:" in err


def test_json_lines_with_a_damaged_first_line_are_still_json(tmp_path: Path) -> None:
    doc = report(written(tmp_path, b'tamp": "2026-11-20T10:00:00Z"}\n' + jsonl(5)))
    assert (doc["flows"], doc["badLines"]) == (5, 1)


def test_binary_junk_is_not_a_flow_log(tmp_path: Path) -> None:
    code, _, err = cli(written(tmp_path, bytes(range(256)) * 4))
    assert code == 2 and "not a flow log" in err


def test_timestamps_take_a_lower_case_z() -> None:
    # RFC 3339 section 5.6: "T" and "Z" may alternatively be lower case.
    assert parse_flow({**FLOW, "timestamp": "2026-11-20t10:00:00z"}).timestamp.tzinfo is not None


def test_log_fields_are_bounded() -> None:
    doc = replay(SPEC, [(1, {**FLOW, "source": "1" * 10_000})]).to_json()
    assert doc["badLineSamples"] == [{"line": 1, "reason": "source: longer than 256 characters"}]


# --- memory ---------------------------------------------------------------------------------------


def _repeated_ipv6(n: int) -> Iterator[tuple[int, dict[str, Any]]]:
    row = {**FLOW, "destinationIp": "2001:db8::1"}
    row.pop("destination")
    for i in range(n):
        yield i + 1, row


def _peak(n: int) -> int:
    tracemalloc.start()
    doc = replay(SPEC, _repeated_ipv6(n)).to_json()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert doc["badLines"] == n
    return peak


def test_repeated_bad_lines_do_not_grow_memory() -> None:
    # Once 1.36 GB at 2M lines: a cached exception was re-raised and its traceback grew.
    small, large = _peak(2_000), _peak(40_000)
    assert large - small < 64 << 10, (small, large)


def test_replay_memory_is_bounded_on_a_hostile_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every line new to every cache (bench/bench_replay_memory.py builds the same log and
    reports the peak at full cache sizes). With the caps lowered so the test fills them
    quickly, tripling the log must not raise the peak."""
    from bench.bench_replay_memory import write_log  # noqa: PLC0415

    from mcp_containment.compile import replay as module  # noqa: PLC0415
    from mcp_containment.core import evaluate  # noqa: PLC0415

    monkeypatch.setattr(module, "_CACHE_LIMIT", 1_000)
    monkeypatch.setattr(module, "DISTINCT_CAP", 500)
    monkeypatch.setattr(module, "SUGGESTION_CAP", 1_000)
    monkeypatch.setattr(evaluate, "MEMO_LIMIT", 1_000)
    peaks = []
    for count in (10_000, 30_000):
        log = tmp_path / f"hostile-{count}.jsonl"
        write_log(log, count, compress=False)
        tracemalloc.start()
        doc = replay_file(SPEC, log).to_json()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert doc["suggestionsOmitted"] > 0  # the caps were reached
    assert peaks[1] < peaks[0] * 1.15, [round(p / 2**20, 2) for p in peaks]
    assert peaks[1] < 8 << 20


@pytest.mark.parametrize("sni", ["*.com", "*.example.com", "*"])
def test_a_wildcard_sni_is_never_suggested(sni: str) -> None:
    doc = replay(SPEC, [(1, {**FLOW, "destination": sni})]).to_json()
    (s,) = doc["suggestions"]
    assert s["add"] == []
    (u,) = s["unsuggestable"]
    assert u["destination"] == sni
    assert u["reason"].startswith("the SNI is a pattern")


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    hostile = "\x1b]0;owned\x07\x1b[2J\u202eevil.com"
    lines = [
        {**FLOW, "destination": "pypi.org", "source": f"10.30.1.1{hostile}"},
        {**FLOW, "port": f"44{hostile}"},
    ]
    log = written(tmp_path, b"".join(json.dumps(r).encode() + b"\n" for r in lines))
    code, out, _ = cli(log)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b" in out  # shown, escaped
