"""Replay memory on a hostile log: the worst case we could construct for every cache.

Each endpoint is new to every cache the replay keeps and comes back once, eight lines later
(the caches admit an entry on its second sighting, so this fills them): a flow cut by the
monitor-mode default deny with a distinct 250-character destination (resolution cache,
per-rule destinations, suggestions), a distinct 256-character unresolvable source (source
cache), a repeated IPv6 destination (the same refusal, re-raised on every line), a line of
100 KB without a newline every 1,000 lines, and garbage. tracemalloc's peak for the replay
alone is reported for growing log sizes: once the caches are full it must stop growing.

    python bench/bench_replay_memory.py [--lines 200000] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "components"))

from mcp_containment.compile.replay import replay_file
from mcp_containment.config.load import load_file

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / "stacks" / "Pulumi.foundry-dev.yaml"


def hostile_lines(count: int) -> Iterator[str]:
    """The pathological log, line by line (deterministic)."""
    base = {"timestamp": "2026-11-20T10:00:00Z", "port": 443, "protocol": "tcp"}
    for n in range(count):
        kind = n % 4
        if n % 1000 == 999:
            yield "x" * 100_000 + "\n"  # over the line cap: skipped in chunks
        elif kind == 0:
            label = f"{n // 8:061d}"
            host = ".".join([f"a{label}", f"b{label}", f"c{label}", f"d{n // 8:056d}", "com"])
            yield json.dumps({**base, "source": f"10.30.1.{n % 250 + 3}", "destination": host})
            yield "\n"
        elif kind == 1:
            source = f"s{n // 8:0255d}"
            yield json.dumps({**base, "source": source, "destination": "pypi.org"}) + "\n"
        elif kind == 2:
            yield json.dumps({**base, "source": "10.30.1.10", "destinationIp": "2001:db8::1"})
            yield "\n"
        else:
            yield f'{{"garbage": {n}, "\\u001b]0;title\\u0007"\n'


def write_log(path: Path, count: int, compress: bool) -> None:
    opener = gzip.open if compress else open
    with opener(path, "wt") as out:  # type: ignore[operator]
        for line in hostile_lines(count):
            out.write(line)


def peak_of(path: Path) -> tuple[float, float, dict[str, object]]:
    spec = load_file(STACK)
    tracemalloc.start()
    t = time.perf_counter()
    report = replay_file(spec, path).to_json()
    elapsed = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--json", action="store_true", help="{lines: peak MB} only")
    args = parser.parse_args()
    peaks: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for count in (args.lines // 8, args.lines // 4, args.lines // 2, args.lines):
            path = Path(tmp) / f"hostile-{count}.jsonl"
            write_log(path, count, args.gzip)
            peak, elapsed, report = peak_of(path)
            peaks[count] = peak
            size = path.stat().st_size / 2**20
            if args.json:
                continue
            print(
                f"{count:>9,} lines ({size:6.1f} MB): tracemalloc peak {peak:6.1f} MB, "
                f"{elapsed:5.1f} s traced; flows {report['flows']}, bad {report['badLines']}, "
                f"cut {report['wouldChange']}, suggestions omitted "
                f"{report['suggestionsOmitted']}"
            )
    if args.json:
        print(json.dumps(peaks))


if __name__ == "__main__":
    main()
