"""Flow logs: the gateway's recorded flows, read as a stream.

Format (one flow per line; JSON lines, or CSV with a header row of the same names)::

    timestamp       RFC 3339 time of the flow, e.g. 2026-11-20T10:00:00Z (required)
    source          IPv4 address or pod:NAMESPACE/SERVER (required)
    destination     hostname (SNI) the flow was for (this and/or destinationIp)
    destinationIp   IPv4 address the flow went to
    port            destination port, 1-65535 (required)
    protocol        tcp, udp or icmp (required)
    rule, action    what the gateway logged (optional)

A JSON line is decoded straight into a :class:`FlowRecord` (msgspec, typed: no dict is built
and other keys are skipped while parsing). Gzip input is detected by its magic bytes. Lines
are streamed, split a chunk of the file at a time (64 KiB), and a line is at most
:data:`MAX_LINE_BYTES` (a longer one is skipped and counted as a bad line, so a gzip that
inflates to gigabytes without a newline costs no memory). A stream that breaks (corrupt,
truncated gzip, trailing garbage) ends the log with one bad line naming the problem; the
lines before it are kept. A file whose first line is neither a JSON object nor a CSV header
is not a flow log (:class:`LogFormatError`).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

import msgspec

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


class FlowRecord(msgspec.Struct, gc=False):
    """One line of a flow log as logged: the fields the replay reads, any JSON value each
    (checked by the ``*_field`` functions, so a bad value is a bad line with a reason), None
    when the line has no such key. Other keys are skipped."""

    timestamp: Any = None
    source: Any = None
    destination: Any = None
    destinationIp: Any = None
    port: Any = None
    protocol: Any = None
    rule: Any = None
    action: Any = None

    def get(self, key: str, default: Any = None) -> Any:
        """As ``dict.get``: the checks read a record and a mapping alike."""
        return getattr(self, key) if key in _RECORD_FIELDS else default

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> FlowRecord:
        """A record from a mapping (a CSV row, or a caller's dict)."""
        return cls(**{k: v for k, v in row.items() if k in _RECORD_FIELDS})


_RECORD_FIELDS = frozenset(FlowRecord.__struct_fields__)
_decode = msgspec.json.Decoder(FlowRecord).decode
_UNREADABLE = (msgspec.DecodeError, UnicodeDecodeError)
"""What decoding a damaged line raises (msgspec.ValidationError, a value that is not an
object, is one of its DecodeErrors)."""


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


def source_field(raw: Any) -> str:
    """A record's ``source``, checked and trimmed, or :class:`LogError`."""
    if not isinstance(raw, str) or not raw.strip():
        raise LogError("source: missing")
    return _text("source", raw, MAX_SOURCE)


def destination_fields(raw_host: Any, raw_ip: Any) -> tuple[str | None, str | None]:
    """A record's ``destination`` (normalised) and ``destinationIp``, or :class:`LogError`."""
    host = raw_host or None
    ip = raw_ip or None
    if host is None and ip is None:
        raise LogError("destination: give destination (hostname) and/or destinationIp")
    if ip is not None:
        # Checked when the destination is first resolved (cached per destination).
        ip = _text("destinationIp", ip, MAX_IP)
    if host is not None:
        host = fqdn.normalize(_text("destination", host, MAX_HOSTNAME))
    return host, ip


def port_field(raw: Any) -> int:
    """A record's ``port``, 1-65535, or :class:`LogError`."""
    # Fast path first: a million lines a run, nearly all of them well-formed.
    if type(raw) is int and 0 < raw < 65536:
        return raw
    if raw is None or raw == "":
        raise LogError("port: missing")
    text = str(raw).strip()
    port = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else 0
    if not 0 < port < 65536:
        raise LogError(f"port: {shown(raw)} is not a port (1-65535)")
    return port


def protocol_field(raw: Any) -> Protocol:
    """A record's ``protocol`` (tcp, udp or icmp), or :class:`LogError`."""
    protocol = Protocol.parse(raw) if type(raw) is str else None
    if protocol is None or protocol is Protocol.ANY:
        raise LogError(f"protocol: {shown(raw)} is not tcp, udp or icmp")
    return protocol


def parse_fields(row: Mapping[str, Any] | FlowRecord) -> Fields:
    """A record's :class:`Fields`, or :class:`LogError` naming the first bad one (in the
    order :func:`parse_flow` checks them)."""
    source = source_field(row.get("source"))
    host, ip = destination_fields(row.get("destination"), row.get("destinationIp"))
    port = port_field(row.get("port"))
    protocol = protocol_field(row.get("protocol"))
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


def parse_flow(row: Mapping[str, Any] | FlowRecord) -> Flow:
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
"""A line as read, newline and all, or why it cannot be read (CSV sees lines this way)."""
Piece = list[bytes] | bytes | LogError
"""What the reader splits a stream into: a run of complete lines (their newlines cut off),
the last line when no newline ends the file, or one line that cannot be read."""
Numbered = tuple[int, FlowRecord | LogError]

_CHUNK = 1 << 16
"""Bytes split into lines at a time: a chunk's lines are still in the CPU's cache when they
are parsed, and in a chunk no longer than MAX_LINE_BYTES only the line carried into it can
be over-long."""
_BATCH_LINES = 512


def _broken(exc: BaseException) -> LogStreamError:
    what = "gzip stream" if isinstance(exc, EOFError | zlib.error | gzip.BadGzipFile) else "file"
    return LogStreamError(
        f"{what} unreadable from here on ({exc}); the lines before it are counted"
    )


def _too_long(size: int) -> LogError:
    return LogError(f"line longer than {MAX_LINE_BYTES} bytes ({size} bytes): not a flow record")


def _inflated(stream: gzip.GzipFile) -> Callable[[], bytes]:
    """Reads a gzip stream as its own buffer fills, as readline does: a corrupt stream breaks
    after the same lines as reading it line by line keeps (asked for more at once, zlib
    would drop more of what it inflated before the damage)."""

    def read() -> bytes:
        data = stream.peek(1)
        stream.read(len(data))
        return data

    return read


def _chunks(read: Callable[[], bytes]) -> Iterator[bytes | LogStreamError]:
    """The stream in chunks of about _CHUNK bytes; where it breaks, a LogStreamError after
    the bytes read before the break."""
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            part = read()
        except (OSError, EOFError, zlib.error) as exc:
            if parts:
                yield b"".join(parts)
            yield _broken(exc)
            return
        if not part:
            break
        parts.append(part)
        size += len(part)
        if size >= _CHUNK:
            yield b"".join(parts)
            parts, size = [], 0
    if parts:
        yield b"".join(parts)


def _pieces(chunks: Iterable[bytes | LogStreamError]) -> Iterator[Piece]:
    """The lines of a stream of chunks, split in C a chunk at a time. A line's start whose
    end is in a later chunk is carried over; once it is over MAX_LINE_BYTES it is dropped
    and only its length counted up to its newline: however long a line, the reader holds at
    most two chunks and MAX_LINE_BYTES of it."""
    carried = b""
    skipped = 0  # bytes of an over-long line so far
    for chunk in chunks:
        if isinstance(chunk, LogStreamError):
            if skipped:
                yield LogError(f"line longer than {MAX_LINE_BYTES} bytes")
            yield chunk  # no more lines: what was carried never got its end
            return
        data = chunk
        if skipped:
            end = chunk.find(b"\n")
            if end < 0:
                skipped += len(chunk)
                continue
            yield _too_long(skipped + end + 1)
            skipped, data = 0, chunk[end + 1 :]
        lines = data.split(b"\n")
        lines[0] = carried + lines[0]
        carried = lines.pop()
        if len(carried) > MAX_LINE_BYTES:
            skipped, carried = len(carried), b""
        if not lines:
            continue
        longest = len(lines[0]) if len(data) <= MAX_LINE_BYTES else max(map(len, lines))
        if longest > MAX_LINE_BYTES:
            yield from _bounded(lines)
        else:
            yield lines
    if skipped:
        yield _too_long(skipped)
    elif carried:
        yield carried


def _bounded(lines: list[bytes]) -> Iterator[Piece]:
    """Complete lines some of which may be over-long: each of those is one bad line."""
    start = 0
    for i, line in enumerate(lines):
        if len(line) > MAX_LINE_BYTES:
            if start < i:
                yield lines[start:i]
            yield _too_long(len(line) + 1)
            start = i + 1
    if start < len(lines):
        yield lines[start:]


def _as_read(piece: Piece) -> list[Line]:
    """A piece's lines with their newlines, as a line-by-line reader reads them."""
    if isinstance(piece, list):
        return [line + b"\n" for line in piece]
    return [piece]


def _head(pieces: Iterator[Piece]) -> list[Piece]:
    """The pieces up to the second line (the first two lines decide the format), a
    byte-order mark dropped from the first line."""
    head: list[Piece] = []
    lines = 0
    for piece in pieces:
        head.append(piece)
        lines += len(piece) if isinstance(piece, list) else 1
        if lines >= 2:
            break
    first = head[0] if head else None
    if isinstance(first, list) and first[0].startswith(_BOM):
        first[0] = first[0][len(_BOM) :]
    elif isinstance(first, bytes) and first.startswith(_BOM):
        head[0] = first[len(_BOM) :]
    return head


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
) -> Iterator[tuple[int, FlowRecord | LogError]]:
    """(line number, record or the reason it is unreadable), streaming. Gzip by magic bytes;
    CSV when the first line is a header naming the columns, JSON lines otherwise."""
    return chain.from_iterable(_record_runs(path, progress))


def _record_runs(path: Path, progress: Progress | None) -> Iterator[Iterable[Numbered]]:
    raw = path.open("rb")
    try:
        magic = raw.read(2)
        raw.seek(0)
        counted = io.BufferedReader(_Counting(raw, progress), 1 << 16)
        if magic == b"\x1f\x8b":
            read = _inflated(gzip.GzipFile(fileobj=counted))
        else:
            read = partial(counted.read1, _CHUNK)
        pieces = _pieces(_chunks(read))
        head = _head(pieces)
        header = _format([line for piece in head for line in _as_read(piece)][:2])
        if header is None:
            yield from _json_records(chain(head, pieces))
        else:
            lines = chain.from_iterable(map(_as_read, chain(head, pieces)))
            csv_lines = _csv_lines(header, islice(lines, 1, None))
            yield from iter(lambda: list(islice(csv_lines, _BATCH_LINES)), [])
        if progress is not None:
            progress(path.stat().st_size)
    finally:
        raw.close()


def _json_records(pieces: Iterable[Piece]) -> Iterator[Iterable[Numbered]]:
    number = 1
    for piece in pieces:
        if isinstance(piece, list):
            yield from _json_runs(piece, number)
            number += len(piece)
            continue
        record = piece if isinstance(piece, LogError) else _json_line(piece)
        if record is not None:
            yield ((number, record),)
        number += 1


def _json_runs(lines: list[bytes], first: int) -> Iterator[Iterable[Numbered]]:
    """Complete lines' records, numbered from ``first``. Runs of good lines are parsed and
    numbered in C (``list.extend`` keeps what it parsed before a line fails, and the
    iterator has moved past that line); a blank or damaged line is handled on its own, with
    its newline, as the parser would have seen it read line by line."""
    rest = iter(lines)
    pos, end = 0, len(lines)
    while pos < end:
        run: list[Any] = []
        with contextlib.suppress(*_UNREADABLE):
            run.extend(map(_decode, rest))
        if run:
            yield zip(range(first + pos, first + pos + len(run)), run, strict=True)
            pos += len(run)
        if pos < end:
            record = _json_line(lines[pos] + b"\n")
            if record is not None:
                yield ((first + pos, record),)
            pos += 1


def _json_line(line: Line) -> FlowRecord | LogError | None:
    """One line on its own: its record, why it is not one, or None when it is blank."""
    if not isinstance(line, bytes):
        return line
    if not line.strip():
        return None
    try:
        return _decode(line)
    except msgspec.ValidationError:
        return LogError("not a JSON object")
    except _UNREADABLE as exc:
        return LogError(f"not JSON ({exc})")


def _csv_lines(
    names: list[str], lines: Iterable[Line]
) -> Iterator[tuple[int, FlowRecord | LogError]]:
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
        yield number, FlowRecord.of(dict(zip(names, row, strict=True)))
