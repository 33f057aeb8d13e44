"""Reading flow logs (core/flowlog.read_records): what each line of a file becomes.

Most tests compare the reader with :func:`reference`, a line-by-line reader kept small enough
to be obviously right: a line is numbered whether or not it yields anything, a blank one
yields nothing, one over MAX_LINE_BYTES is one bad line counting its bytes, anything else is
parsed on its own (with its newline, when it has one) by a second parser, orjson. A record is
compared by the fields a flow record has (the reader decodes only those, msgspec skipping the
rest); a line either parser refuses must be refused by the other, messages aside."""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_containment.core import flowlog
from mcp_containment.core.flowlog import (
    MAX_LINE_BYTES,
    FlowRecord,
    LogError,
    LogFormatError,
    LogStreamError,
    read_records,
)

from .helpers import written

GOOD = b'{"source": "10.30.1.10", "port": 443}'
Seen = list[tuple[int, Any]]
FIELDS = FlowRecord.__struct_fields__


def fields(record: FlowRecord | dict[str, Any]) -> dict[str, Any]:
    """A record's flow fields that are set (a JSON null is no value either)."""
    get = record.get
    return {k: get(k) for k in FIELDS if get(k) is not None}


REFUSED = "refused by the parser"


def plain(got: Seen) -> Seen:
    """Refusals by the parser without the parser's own words (the reference uses another):
    a damaged value that is not an object may be either "not JSON" or "not a JSON object",
    as far as the parser read before it knew."""
    return [(n, REFUSED if _refusal(v) else v) for n, v in got]


def _refusal(value: object) -> bool:
    return isinstance(value, str) and (
        value.startswith("not JSON (") or value == "not a JSON object"
    )


def reference(data: bytes, limit: int | None = None) -> Seen:
    """What a JSON-lines file holds, line by line, errors as their messages."""
    limit = MAX_LINE_BYTES if limit is None else limit
    lines = data.split(b"\n")
    out: Seen = []
    for number, content in enumerate(lines, start=1):
        last = number == len(lines)  # after the final newline, or a line without one
        line = content if last else content + b"\n"
        if len(content) > limit:
            reason = f"line longer than {limit} bytes ({len(line)} bytes): not a flow record"
            out.append((number, reason))
        elif line.strip():
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                out.append((number, REFUSED))
                continue
            out.append((number, fields(value) if isinstance(value, dict) else REFUSED))
    return out


def seen(path: Path) -> Seen:
    """read_records' output, errors as their messages, a stream's break as
    ``LogStreamError: ...``."""
    out: Seen = []
    for number, record in read_records(path):
        if isinstance(record, LogStreamError):
            out.append((number, f"LogStreamError: {record}"))
        elif isinstance(record, LogError):
            out.append((number, str(record)))
        else:
            out.append((number, fields(record)))
    return out


# --- numbering, blank lines, line ends ------------------------------------------------------------


def test_blank_lines_are_numbered_and_yield_nothing(tmp_path: Path) -> None:
    data = GOOD + b"\n\n   \n\t\r\n\r\n" + GOOD + b"\n\n"
    got = seen(written(tmp_path, data))
    assert [n for n, _ in got] == [1, 6]
    assert plain(got) == reference(data)


def test_crlf_lines_and_a_last_line_without_newline(tmp_path: Path) -> None:
    data = GOOD + b"\r\n" + b'{"port": 1}\r\n' + b'{"port": 2}'
    got = seen(written(tmp_path, data))
    assert got == [(1, json.loads(GOOD)), (2, {"port": 1}), (3, {"port": 2})]


def test_values_that_are_not_objects(tmp_path: Path) -> None:
    data = GOOD + b'\n[1]\n1\n"x"\nnull\ntrue\n{}\n'
    got = seen(written(tmp_path, data))
    assert got[1:] == [(n, "not a JSON object") for n in range(2, 7)] + [(7, {})]


def test_damaged_json_is_reported_as_the_parser_saw_the_line(tmp_path: Path) -> None:
    # An unterminated string is a control character when the newline follows, the end of
    # the data when the file ends there: the message is the parser's for the line as read.
    data = GOOD + b'\n"abc\n{"a": tru\n{"a": "abc'
    got = seen(written(tmp_path, data))
    assert got[1:] == [
        (2, "not JSON (JSON is malformed: invalid character (byte 4))"),
        (3, "not JSON (JSON is malformed: invalid character (byte 7))"),
        (4, "not JSON (Input data was truncated)"),
    ]
    assert plain(got) == reference(data)


def test_an_empty_file_yields_nothing(tmp_path: Path) -> None:
    assert seen(written(tmp_path, b"")) == []
    assert seen(written(tmp_path, b"\n\n")) == []


def test_a_bom_is_dropped_from_the_first_line_only(tmp_path: Path) -> None:
    got = seen(written(tmp_path, b"\xef\xbb\xbf" + GOOD + b"\n\xef\xbb\xbf" + GOOD + b"\n"))
    assert got[0] == (1, json.loads(GOOD))
    assert got[1] == (2, "not JSON (JSON is malformed: invalid character (byte 0))")


# --- line length ----------------------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    line = b'{"source": ""}'
    return line[:-2] + b"x" * (size - len(line)) + line[-2:]


def test_the_line_length_limit_counts_bytes_before_the_newline(tmp_path: Path) -> None:
    limit = MAX_LINE_BYTES
    data = b"\n".join(
        [
            GOOD,
            padded(limit),  # the longest line read
            padded(limit + 1),
            padded(limit - 1) + b"\r\r",  # a carriage return is part of the line
            padded(limit) + b"\r",
            GOOD,
            b"y" * (limit + 5),  # the last line, no newline: its bytes are all it has
        ]
    )
    got = seen(written(tmp_path, data))
    assert [n for n, _ in got] == [1, 2, 3, 4, 5, 6, 7]
    assert got[1] == (2, {"source": "x" * (limit - len('{"source": ""}'))})
    too_long = f"line longer than {limit} bytes ({{}} bytes): not a flow record"
    assert [r for _, r in got[2:5]] == [too_long.format(limit + 2)] * 3
    assert got[6] == (7, too_long.format(limit + 5))
    assert plain(got) == reference(data)


@pytest.mark.parametrize("size", [MAX_LINE_BYTES, MAX_LINE_BYTES + 1])
def test_the_last_line_without_newline_has_the_same_limit(tmp_path: Path, size: int) -> None:
    data = GOOD + b"\n" + padded(size)
    got = seen(written(tmp_path, data))
    assert plain(got) == reference(data)
    assert isinstance(got[1][1], dict) == (size == MAX_LINE_BYTES)


def test_an_over_long_first_line_is_a_bad_line_of_json_lines(tmp_path: Path) -> None:
    data = b"{" + b"a" * (3 * MAX_LINE_BYTES) + b"\n" + GOOD + b"\n"
    got = seen(written(tmp_path, data))
    assert plain(got) == reference(data)
    assert got[1] == (2, json.loads(GOOD))


def test_a_long_line_is_never_held_in_memory(tmp_path: Path) -> None:
    line = b"{" + b"a" * (16 << 20)
    log = written(tmp_path, GOOD + b"\n" + line + b"\n" + GOOD + b"\n")
    del line
    tracemalloc.start()
    got = seen(log)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [n for n, _ in got] == [1, 2, 3]
    assert peak < 1 << 20, f"{peak / 2**20:.1f} MB"


# --- gzip -----------------------------------------------------------------------------------------


def lines_gzip_reads(packed: bytes, tmp_path: Path) -> bytes:
    """The complete lines Python's gzip inflates, line by line, before the stream breaks."""
    path = written(tmp_path, packed, "probe.gz")
    kept = []
    with gzip.open(path) as stream:
        try:
            kept.extend(line for line in stream if line.endswith(b"\n"))
        except (OSError, EOFError) as exc:
            assert "gzip" in type(exc).__name__.lower() or str(exc), exc
    return b"".join(kept)


def flow_lines(count: int, seed: int = 3) -> bytes:
    rnd = random.Random(seed)
    return b"".join(
        json.dumps({"source": f"10.30.1.{rnd.randrange(256)}", "n": rnd.random()}).encode() + b"\n"
        for _ in range(count)
    )


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.93])
def test_a_truncated_gzip_keeps_every_line_inflated_before_it(tmp_path: Path, cut: float) -> None:
    packed = gzip.compress(flow_lines(30_000), mtime=0)
    broken = packed[: int(len(packed) * cut)]
    before = lines_gzip_reads(broken, tmp_path)
    got = seen(written(tmp_path, broken))
    kept = reference(before)
    assert got[:-1] == kept and len(kept) > 0
    number, reason = got[-1]
    assert number == before.count(b"\n") + 1
    assert reason.startswith("LogStreamError: gzip stream unreadable from here on (Compressed")


@pytest.mark.parametrize("where", [0.2, 0.5, 0.8])
def test_a_corrupt_gzip_keeps_every_line_inflated_before_it(tmp_path: Path, where: float) -> None:
    packed = bytearray(gzip.compress(flow_lines(30_000), mtime=0))
    packed[int(len(packed) * where)] ^= 0xFF
    before = lines_gzip_reads(bytes(packed), tmp_path)
    got = seen(written(tmp_path, bytes(packed)))
    assert plain(got[:-1]) == reference(before)
    number, reason = got[-1]
    assert number == before.count(b"\n") + 1
    assert reason.startswith("LogStreamError: gzip stream unreadable from here on")


def test_a_gzip_that_breaks_inside_an_over_long_line_ends_once(tmp_path: Path) -> None:
    rnd = random.Random(1)
    junk = bytes(rnd.randrange(1, 256) for _ in range(4 * MAX_LINE_BYTES)).replace(b"\n", b"x")
    packed = gzip.compress(GOOD + b"\n{" + junk + b"\n" + GOOD + b"\n", mtime=0)
    got = seen(written(tmp_path, packed[: len(packed) * 2 // 3]))
    assert got[:2] == [(1, json.loads(GOOD)), (2, f"line longer than {MAX_LINE_BYTES} bytes")]
    (number, reason), *after = got[2:]
    assert number == 3 and reason.startswith("LogStreamError: gzip stream unreadable")
    assert after == []  # no more lines follow a break, and it is reported once


def test_gzip_and_plain_read_alike(tmp_path: Path) -> None:
    data = flow_lines(5_000) + b"\n{bad\n[1]\r\n" + b"z" * (MAX_LINE_BYTES + 9) + b"\n" + GOOD
    got = seen(written(tmp_path, data))
    assert plain(got) == reference(data)
    assert seen(written(tmp_path, gzip.compress(data), "flows.gz")) == got


def test_a_file_that_breaks_at_once_is_not_a_flow_log(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="gzip stream unreadable from here on"):
        list(read_records(written(tmp_path, b"\x1f\x8b\x08\x00" + b"\x00" * 20)))


# --- progress -------------------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [False, True])
def test_progress_counts_the_bytes_of_the_file(tmp_path: Path, packed: bool) -> None:
    rnd = random.Random(5)
    data = b"".join(
        json.dumps({"source": rnd.randbytes(48).hex()}).encode() + b"\n" for _ in range(60_000)
    )
    log = written(tmp_path, gzip.compress(data) if packed else data)
    size = log.stat().st_size
    assert size > 3 << 20
    calls: list[int] = []
    assert sum(1 for _ in read_records(log, calls.append)) == 60_000
    assert calls[-1] == size  # the last call: all of it, compressed bytes for a gzip
    steps = [b - a for a, b in zip([0, *calls[:-2]], calls[:-1], strict=True)]
    assert len(steps) >= 3 and min(steps) >= 1 << 20  # every MiB or so, never per line
    assert calls == sorted(calls) and calls[-2] <= size


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_lines_are_numbered_like_json_lines(tmp_path: Path) -> None:
    head = "2026-11-20T10:00:00Z,10.30.1.10"
    text = (
        "timestamp,source,destination,port,protocol\r\n"
        f"{head},a.io,443,tcp\r\n"
        "\r\n"
        "\n"
        f"{head},b.io,443\r\n"
        f'{head},"c.io,443,tcp\n'  # a stray quote spoils its own line only
        f'{head},c.io,443,"tcp\n'  # a quote left open runs to the end of the line
        f"{head},d.io,443,tcp"
    )
    got = seen(written(tmp_path, text.encode(), "flows.csv"))
    row = {"timestamp": "2026-11-20T10:00:00Z", "source": "10.30.1.10", "port": "443"}
    assert got == [
        (2, {**row, "destination": "a.io", "protocol": "tcp"}),
        (5, "4 columns, header has 5"),
        (6, "3 columns, header has 5"),
        (7, {**row, "destination": "c.io", "protocol": "tcp\n"}),
        (8, {**row, "destination": "d.io", "protocol": "tcp"}),
    ]


# --- the reader against the reference, on random files --------------------------------------------

LIMIT = 40
"""MAX_LINE_BYTES for the property: over-long lines cost nothing to make."""

objects = st.dictionaries(
    st.sampled_from(["source", "port", "action"]) | st.text("abcxyz", max_size=4),
    st.integers(-5, 5) | st.text('ab"\\é', max_size=6) | st.none(),
    max_size=3,
).map(lambda d: json.dumps(d, ensure_ascii=False).encode())
line_kinds = st.one_of(
    objects,
    objects.map(lambda b: b.replace(b"{", b" {", 1) + b"\r"),
    st.sampled_from([b"", b" ", b"\r", b"\t \r", b"[1]", b"7", b'"s"', b"null", b"{}"]),
    st.sampled_from([b"{not json", b'{"a":', b'"abc', b"[1", b"\xff\xfe", b"{}}", b"{}{}"]),
    st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")),
    (st.integers(LIMIT - 3, LIMIT) | st.integers(LIMIT, 3 * LIMIT)).map(lambda n: b"{" + b"a" * n),
)
files = st.tuples(objects, st.lists(line_kinds, max_size=40), st.booleans()).map(
    lambda t: b"\n".join([t[0], *t[1]]) + (b"\n" if t[2] else b"")
)


@contextmanager
def small_lines(chunk: int) -> Iterator[None]:
    """Lines over LIMIT bytes are over-long; a plain file is split ``chunk`` bytes at a time
    (a gzip as its buffer fills: chunks over the limit, the reader's other path)."""
    with (
        mock.patch.object(flowlog, "MAX_LINE_BYTES", LIMIT),
        mock.patch.object(flowlog, "_CHUNK", chunk),
    ):
        yield


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files, st.integers(1, 3 * LIMIT), st.booleans())
def test_the_reader_reads_what_the_reference_reads(data: bytes, chunk: int, packed: bool) -> None:
    import tempfile  # noqa: PLC0415 - hypothesis refuses function-scoped fixtures

    with tempfile.TemporaryDirectory() as tmp, small_lines(chunk):
        log = written(Path(tmp), gzip.compress(data) if packed else data)
        assert plain(seen(log)) == reference(data, LIMIT)
