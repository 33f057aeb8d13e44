"""Replay throughput against parsing alone, as distinct endpoints grow, and its memory.

The standard log: N lines (default 1,000,000) against the example production stack, JSON lines:
agent-subnet sources, destinations drawn from a pool of declared platform and tool-call names,
undeclared names, a share of names seen once, bare IPs, and 0.1% malformed lines. Generated
first (not timed). Parsing alone is the floor: the file read line by line and each line given
to ``orjson.loads``, nothing else (the floor the replay was first measured against, kept as
it was). Reading alone is the replay's reader: ``read_records`` iterated, every line numbered
and decoded into a FlowRecord (msgspec), nothing judged. Parse, read and replay are timed
alternately, best of 3 each.

Distinct endpoints: logs of the same length whose destinations (half names, half addresses,
from 200 sources) are drawn uniformly from D distinct ones, D from 10 to 1,000,000: the
throughput at each D against D = 10. The more distinct endpoints, the more lines meet theirs
for the first time (at D = 1,000,000, 86% of 300,000 lines; at 100,000, 32%), and no cache
can answer a first sighting: it is checked, resolved and evaluated.

Memory: peak RSS of this process, and tracemalloc's peak for the replay alone on the standard
log at its size and at twice its size (flat: the replay streams, its caches are sized; a
verdict is cached on its second sighting, so they fill more slowly than one a line).

    python bench/bench_replay.py [--lines 1000000] [--sweep-lines 300000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "components"))

import orjson  # noqa: E402

from mcp_containment.compile.replay import replay_file  # noqa: E402
from mcp_containment.config.load import load_file  # noqa: E402
from mcp_containment.config.schema import Spec  # noqa: E402
from mcp_containment.core.flowlog import read_records  # noqa: E402

SWEEP = (10, 1_000, 10_000, 20_000, 100_000, 1_000_000)


def generate(path: Path, lines: int, subnet: str, seed: int = 7) -> None:
    """The standard log."""
    rnd = random.Random(seed)
    hosts = list(IPv4Network(subnet).hosts())[3:250]
    declared = [
        "mcr.microsoft.com",
        "login.microsoftonline.com",
        "api.github.com",
        "objects.githubusercontent.com",
        "eastus.data.mcr.microsoft.com",
        "acct.blob.core.windows.net",
        "management.azure.com",
    ]
    undeclared = [f"svc{i}.vendor{i % 97}.com" for i in range(4000)]
    with path.open("w") as out:
        for n in range(lines):
            r = rnd.random()
            if r < 0.001:
                out.write("{not json\n")
                continue
            flow: dict[str, object] = {
                "timestamp": f"2026-11-20T{n // 3600000 % 24:02d}:{n // 60000 % 60:02d}:"
                f"{n // 1000 % 60:02d}Z",
                "source": str(hosts[rnd.randrange(len(hosts))]),
                "port": 443,
                "protocol": "tcp",
            }
            if r < 0.60:
                flow["destination"] = rnd.choice(declared)
            elif r < 0.90:
                flow["destination"] = rnd.choice(undeclared)
            elif r < 0.95:
                flow["destination"] = f"once-{n}.example.org"
            else:
                flow["destinationIp"] = f"52.{rnd.randrange(256)}.{rnd.randrange(256)}.9"
                flow["port"] = rnd.choice((443, 53, 8443))
            out.write(json.dumps(flow) + "\n")


def generate_distinct(path: Path, lines: int, distinct: int, subnet: str, seed: int = 5) -> None:
    """A log whose destinations are drawn uniformly from ``distinct`` ones."""
    rnd = random.Random(seed)
    hosts = [str(h) for h in list(IPv4Network(subnet).hosts())[3:203]]
    with path.open("w") as out:
        for n in range(lines):
            k = rnd.randrange(distinct)
            flow: dict[str, object] = {
                "timestamp": f"2026-11-20T10:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}Z",
                "source": hosts[k % len(hosts)],
                "port": 443,
                "protocol": "tcp",
            }
            if k % 2:
                flow["destination"] = f"host{k}.vendor{k % 97}.com"
            else:
                flow["destinationIp"] = f"52.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255}"
            out.write(json.dumps(flow) + "\n")


def parse_only(path: Path) -> float:
    loads, error = orjson.loads, orjson.JSONDecodeError
    t = time.perf_counter()
    with path.open("rb") as f:
        for line in f:
            # Not contextlib.suppress: a context manager per line would slow the floor.
            try:  # noqa: SIM105
                loads(line)
            except error:
                pass
    return time.perf_counter() - t


def read_only(path: Path) -> float:
    t = time.perf_counter()
    for _ in read_records(path):
        pass
    return time.perf_counter() - t


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def best_times(path: Path, spec: Spec, runs: int = 3) -> tuple[float, float, float]:
    """(parse, read, replay seconds), each the best of ``runs``, taken alternately."""
    parse = read = replay = float("inf")
    for _ in range(runs):
        parse = min(parse, parse_only(path))
        read = min(read, read_only(path))
        replay = min(replay, timed(lambda: replay_file(spec, path)))
    return parse, read, replay


def traced_peak(path: Path, spec: Spec) -> float:
    tracemalloc.start()
    replay_file(spec, path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def measure(lines: int = 1_000_000, sweep_lines: int = 300_000) -> dict[str, Any]:
    spec = load_file(ROOT / "stacks" / "Pulumi.foundry-prod.yaml")
    subnet = spec.network.agent_subnet
    out: dict[str, Any] = {"lines": lines, "sweep_lines": sweep_lines}
    with tempfile.TemporaryDirectory() as tmp:
        big, double = Path(tmp) / "flows.jsonl", Path(tmp) / "double.jsonl"
        generate(big, lines, subnet)
        generate(double, 2 * lines, subnet)
        parse, read, replayed = best_times(big, spec)
        out["parse_per_s"], out["read_per_s"] = lines / parse, lines / read
        out["replay_per_s"] = lines / replayed
        out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["traced_mb"] = traced_peak(big, spec)
        out["traced_double_mb"] = traced_peak(double, spec)
        double.unlink()
        sweep: dict[int, float] = {}
        for distinct in SWEEP:
            path = Path(tmp) / f"distinct-{distinct}.jsonl"
            generate_distinct(path, sweep_lines, distinct, subnet)
            sweep[distinct] = sweep_lines / min(
                timed(lambda p=path: replay_file(spec, p)) for _ in range(2)
            )
            path.unlink()
        out["sweep_per_s"] = sweep
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--sweep-lines", type=int, default=300_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = measure(args.lines, args.sweep_lines)
    if args.json:
        print(json.dumps(r))
        return
    print(
        f"standard log, {r['lines']:,} lines: replay {r['replay_per_s']:,.0f} lines/s, parse "
        f"alone {r['parse_per_s']:,.0f}/s: {r['replay_per_s'] / r['parse_per_s']:.2f} of parse"
    )
    print(
        f"reading alone (read_records) {r['read_per_s']:,.0f} lines/s: "
        f"{r['parse_per_s'] / r['read_per_s']:.2f}x the time of parse alone"
    )
    print(
        f"memory: peak RSS {r['rss_mb']:.0f} MB; tracemalloc peak {r['traced_mb']:.1f} MB "
        f"at {r['lines']:,} lines, {r['traced_double_mb']:.1f} MB at {2 * r['lines']:,}"
    )
    base = r["sweep_per_s"][10]
    for distinct, rate in r["sweep_per_s"].items():
        print(f"{distinct:>9,} distinct endpoints: {rate:>9,.0f} lines/s ({rate / base:.2f})")


if __name__ == "__main__":
    main()
