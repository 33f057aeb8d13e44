"""Flow logs: the gateway's recorded flows, read as a stream.

Format (one flow per line; JSON lines, or CSV with a header row of the same names)::

    timestamp       RFC 3339 time of the flow, e.g. 2026-11-20T10:00:00Z (required)
    source          IPv4 address or pod:NAMESPACE/SERVER (required)
    destination     hostname (SNI) the flow was for (this and/or destinationIp)
    destinationIp   IPv4 address the flow went to
    port            destination port, 1-65535 (required)
    protocol        tcp, udp or icmp (required)
    rule, action    what the gateway logged (optional)

Gzip input is detected by its magic bytes. Lines are streamed: nothing here holds more than
one line at a time, and a line is at most :data:`MAX_LINE_BYTES` (a longer one is skipped in
chunks and counted as a bad line, so a gzip that inflates to gigabytes without a newline costs
no memory). A stream that breaks (corrupt, truncated gzip, trailing garbage) ends the log with
one bad line naming the problem; the lines before it are kept. A file whose first line is
neither a JSON object nor a CSV header is not a flow log (:class:`LogFormatError`).
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, cast

import orjson

from . import fqdn
from .model import Protocol

COLUMNS = ("timestamp", "source", "destination", "destinationIp", "port", "protocol")
REQUIRED_CSV_COLUMNS = ("timestamp", "source", "port", "protocol")
MAX_LINE_BYTES = 1 << 16
"""64 KiB: a flow record is a few hundred bytes."""
MAX_SOURCE = 256
MAX_HOSTNAME = 255
MAX_IP = 64
_BOM = b"\xef\xbb\xbf"

Progress = Callable[[int], None]
"""Called with the number of (compressed) bytes read so far."""


class LogError(ValueError):
    """A line that cannot be replayed; the message names the field and the reason."""


class LogStreamError(LogError):
    """The file stops being readable here (corrupt or truncated gzip): no more lines follow."""


class LogFormatError(LogError):
    """The file as a whole is not a flow log: nothing in it can be replayed."""


def shown(value: Any, limit: int = 80) -> str:
    """``repr`` of a value from the log, cut short: messages quote what they refuse."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class Flow:
    timestamp: datetime
    source: str
    destination: str | None
    destination_ip: str | None
    port: int
    protocol: Protocol
    logged_action: str | None = None


@dataclass(frozen=True, slots=True)
class Fields:
    """What decides a flow's verdict, checked and normalised: everything of a record but its
    time and logged action. Equal raw fields give equal Fields (or the same error), so a
    replay caches the verdict on the raw fields."""

    source: str
    destination: str | None
    destination_ip: str | None
    port: int
    protocol: Protocol


def parse_time(value: Any) -> datetime:
    """A record's ``timestamp``, or :class:`LogError`."""
    if not isinstance(value, str) or not value:
        raise LogError("timestamp: missing")
    if value.endswith("z"):
        value = value[:-1] + "Z"  # RFC 3339 (5.6) allows a lower-case z; fromisoformat does not
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise LogError(f"timestamp: {shown(value)} is not an RFC 3339 time") from None
    if ts.tzinfo is None:
        raise LogError(f"timestamp: {shown(value)} has no time zone (write Z for UTC)")
    return ts


def logged_action(value: Any) -> str | None:
    """What the gateway logged, as compared with a verdict (``action``, optional)."""
    return str(value).upper()[:32] if value else None


def _text(field: str, value: Any, limit: int) -> str:
    """A text field from the log: bounded (the replay caches it) and free of control
    characters (a hostname or address never has one; a terminal would obey it)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise LogError(f"{field}: longer than {limit} characters")
    text = text.strip()
    if not text.isprintable():
        raise LogError(f"{field}: {shown(text)} contains control characters")
    return text


def parse_fields(row: Mapping[str, Any]) -> Fields:
    """A record's :class:`Fields`, or :class:`LogError` naming the first bad one (in the
    order :func:`parse_flow` checks them)."""
    source = row.get("source")
    if not isinstance(source, str) or not source.strip():
        raise LogError("source: missing")
    source = _text("source", source, MAX_SOURCE)
    host = row.get("destination") or None
    ip = row.get("destinationIp") or None
    if host is None and ip is None:
        raise LogError("destination: give destination (hostname) and/or destinationIp")
    if ip is not None:
        # Checked when the destination is first resolved (cached per destination).
        ip = _text("destinationIp", ip, MAX_IP)
    if host is not None:
        host = fqdn.normalize(_text("destination", host, MAX_HOSTNAME))
    raw_port = row.get("port")
    # Fast paths first: a million lines a run, nearly all of them well-formed.
    if type(raw_port) is int and 0 < raw_port < 65536:
        port = raw_port
    else:
        if raw_port is None or raw_port == "":
            raise LogError("port: missing")
        text = str(raw_port).strip()
        port = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else 0
        if not 0 < port < 65536:
            raise LogError(f"port: {shown(raw_port)} is not a port (1-65535)")
    raw_protocol = row.get("protocol")
    protocol = Protocol.parse(raw_protocol) if type(raw_protocol) is str else None
    if protocol is None or protocol is Protocol.ANY:
        raise LogError(f"protocol: {shown(raw_protocol)} is not tcp, udp or icmp")
    return Fields(source, host, ip, port, protocol)


def flow_of(fields: Fields, timestamp: datetime, action: str | None) -> Flow:
    return Flow(
        timestamp=timestamp,
        source=fields.source,
        destination=fields.destination,
        destination_ip=fields.destination_ip,
        port=fields.port,
        protocol=fields.protocol,
        logged_action=action,
    )


def parse_flow(row: Mapping[str, Any]) -> Flow:
    """One record -> a Flow, or :class:`LogError` naming the field."""
    fields = parse_fields(row)
    return flow_of(fields, parse_time(row.get("timestamp")), logged_action(row.get("action")))


class _Counting(io.RawIOBase):
    """Counts the bytes read from the file itself, so progress works for gzip too."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self.raw, self.progress, self.read_bytes = raw, progress, 0
        self._reported = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.read_bytes += n or 0
        if self.progress is not None and self.read_bytes - self._reported >= 1 << 20:
            self._reported = self.read_bytes
            self.progress(self.read_bytes)
        return n or 0


Line = bytes | LogError


def _skip_rest(stream: IO[bytes], read: int) -> Iterator[Line]:
    """Consume an over-long line in bounded chunks; one bad line for it."""
    while True:
        try:
            chunk = stream.readline(MAX_LINE_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            yield LogError(f"line longer than {MAX_LINE_BYTES} bytes")
            yield _broken(exc)
            return
        read += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            break
    yield LogError(f"line longer than {MAX_LINE_BYTES} bytes ({read} bytes): not a flow record")


def _broken(exc: BaseException) -> LogStreamError:
    what = "gzip stream" if isinstance(exc, EOFError | zlib.error | gzip.BadGzipFile) else "file"
    return LogStreamError(
        f"{what} unreadable from here on ({exc}); the lines before it are counted"
    )


def _lines(stream: IO[bytes]) -> Iterator[Line]:
    """The stream's lines, each at most MAX_LINE_BYTES; problems arrive as LogErrors."""
    while True:
        try:
            line = stream.readline(MAX_LINE_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            yield _broken(exc)
            return
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            yield from _skip_rest(stream, len(line))
            continue
        yield line


def _csv_header(line: bytes) -> list[str] | None:
    try:
        names = next(csv.reader([line.decode("utf-8", errors="replace")]))
    except (csv.Error, StopIteration):
        return None
    names = [n.strip() for n in names]
    return names if any(c in names for c in COLUMNS) else None


def _format(head: list[Line]) -> list[str] | None:
    """None for JSON lines, the column names for CSV; LogFormatError for neither."""
    first = head[0] if head else b""
    if isinstance(first, LogStreamError):
        raise LogFormatError(str(first).split(";")[0])
    if isinstance(first, LogError) or not first.strip() or first.lstrip().startswith(b"{"):
        return None
    header = _csv_header(first)
    if header is not None:
        missing = [c for c in REQUIRED_CSV_COLUMNS if c not in header]
        if missing:
            raise LogFormatError(
                f"CSV header lacks {', '.join(missing)} (columns: {', '.join(COLUMNS)})"
            )
        return header
    second = head[1] if len(head) > 1 else b""
    if isinstance(second, bytes) and second.lstrip().startswith(b"{"):
        return None  # JSON lines whose first line is damaged: one bad line
    raise LogFormatError(
        "line 1 is neither a JSON object nor a CSV header naming the columns "
        f"({', '.join(COLUMNS)}): not a flow log"
    )


def read_records(
    path: Path, progress: Progress | None = None
) -> Iterator[tuple[int, Mapping[str, Any] | LogError]]:
    """(line number, record or the reason it is unreadable), streaming. Gzip by magic bytes;
    CSV when the first line is a header naming the columns, JSON lines otherwise."""
    raw = path.open("rb")
    try:
        magic = raw.read(2)
        raw.seek(0)
        counted = io.BufferedReader(_Counting(raw, progress), 1 << 16)
        stream: IO[bytes] = cast(
            IO[bytes], gzip.GzipFile(fileobj=counted) if magic == b"\x1f\x8b" else counted
        )
        lines = _lines(stream)
        head = list(islice(lines, 2))
        if head and isinstance(head[0], bytes) and head[0].startswith(_BOM):
            head[0] = head[0][len(_BOM) :]
        header = _format(head)
        if header is None:
            yield from _json_lines(chain(head, lines))
        else:
            yield from _csv_lines(header, islice(chain(head, lines), 1, None))
        if progress is not None:
            progress(path.stat().st_size)
    finally:
        raw.close()


def _json_lines(lines: Iterable[Line]) -> Iterator[tuple[int, Mapping[str, Any] | LogError]]:
    for number, line in enumerate(lines, start=1):
        if isinstance(line, LogError):
            yield number, line
            continue
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield number, LogError(f"not JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            yield number, LogError("not a JSON object")
            continue
        yield number, record


def _csv_lines(
    names: list[str], lines: Iterable[Line]
) -> Iterator[tuple[int, Mapping[str, Any] | LogError]]:
    # One reader per line: a stray quote ends with its line instead of swallowing the rest
    # of the file into one field (csv's 131,072-character field limit is never reached).
    for number, line in enumerate(lines, start=2):
        if isinstance(line, LogError):
            yield number, line
            continue
        if not line.strip():
            continue
        try:
            row = next(csv.reader([line.decode("utf-8", errors="replace")]))
        except (csv.Error, StopIteration) as exc:
            yield number, LogError(f"not CSV ({exc})")
            continue
        if len(row) != len(names):
            yield number, LogError(f"{len(row)} columns, header has {len(names)}")
            continue
        yield number, dict(zip(names, row, strict=True))
