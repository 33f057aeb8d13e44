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
one line at a time.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar, cast

import orjson

from . import fqdn
from .model import Protocol

COLUMNS = ("timestamp", "source", "destination", "destinationIp", "port", "protocol")

T = TypeVar("T")

Progress = Callable[[int], None]
"""Called with the number of (compressed) bytes read so far."""


class LogError(ValueError):
    """A line that cannot be replayed; the message names the field and the reason."""


@dataclass(frozen=True, slots=True)
class Flow:
    timestamp: datetime
    source: str
    destination: str | None
    destination_ip: str | None
    port: int
    protocol: Protocol
    logged_action: str | None = None


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        raise LogError("timestamp: missing")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise LogError(f"timestamp: {value!r} is not an RFC 3339 time") from None
    if ts.tzinfo is None:
        raise LogError(f"timestamp: {value!r} has no time zone (write Z for UTC)")
    return ts


def parse_flow(row: Mapping[str, Any]) -> Flow:
    """One record -> a Flow, or :class:`LogError` naming the field."""
    source = row.get("source")
    if not isinstance(source, str) or not source.strip():
        raise LogError("source: missing")
    host = row.get("destination") or None
    ip = row.get("destinationIp") or None
    if host is None and ip is None:
        raise LogError("destination: give destination (hostname) and/or destinationIp")
    if ip is not None:
        # Checked when the destination is first resolved (cached per destination).
        ip = str(ip).strip()
    if host is not None:
        host = fqdn.normalize(str(host))
    raw_port = row.get("port")
    # Fast paths first: a million lines a run, nearly all of them well-formed.
    if type(raw_port) is int and 0 < raw_port < 65536:
        port = raw_port
    else:
        if raw_port is None or raw_port == "":
            raise LogError("port: missing")
        try:
            port = int(str(raw_port))
        except (TypeError, ValueError):
            port = 0
        if not 0 < port < 65536:
            raise LogError(f"port: {raw_port!r} is not a port (1-65535)")
    raw_protocol = row.get("protocol")
    protocol = Protocol.parse(raw_protocol) if type(raw_protocol) is str else None
    if protocol is None or protocol is Protocol.ANY:
        raise LogError(f"protocol: {raw_protocol!r} is not tcp, udp or icmp")
    action = row.get("action")
    return Flow(
        timestamp=_parse_time(row.get("timestamp")),
        source=source.strip(),
        destination=host,
        destination_ip=ip,
        port=port,
        protocol=protocol,
        logged_action=str(action).upper() if action else None,
    )


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
        first = stream.readline()
        if first.lstrip().startswith(b"{") or not first.strip():
            # JSON lines are parsed from bytes: no text decoding pass over the whole log.
            yield from _json_lines(first, stream)
        else:
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
            yield from _csv_lines(first.decode("utf-8", errors="replace"), text)
        if progress is not None:
            progress(path.stat().st_size)
    finally:
        raw.close()


def _json_lines(
    first: bytes, rest: Iterable[bytes]
) -> Iterator[tuple[int, Mapping[str, Any] | LogError]]:
    number = 0
    for number, line in enumerate(_chain(first, rest), start=1):
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
    header: str, rest: Iterable[str]
) -> Iterator[tuple[int, Mapping[str, Any] | LogError]]:
    names = next(csv.reader([header]))
    missing = [c for c in ("timestamp", "source", "port", "protocol") if c not in names]
    if missing:
        yield 1, LogError(f"CSV header lacks {', '.join(missing)} (columns: {', '.join(COLUMNS)})")
        return
    for number, row in enumerate(csv.reader(rest), start=2):
        if not row:
            continue
        if len(row) != len(names):
            yield number, LogError(f"{len(row)} columns, header has {len(names)}")
            continue
        yield number, dict(zip(names, row, strict=True))


def _chain(first: T, rest: Iterable[T]) -> Iterator[T]:
    yield first
    yield from rest
