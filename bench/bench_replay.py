"""Replay throughput and memory: N flow-log lines against the example production stack.

The log is generated first (not timed) to a temporary file, JSON lines, optionally gzipped:
agent-subnet sources, destinations drawn from a pool of declared platform and tool-call names,
undeclared names, a share of names seen once, bare IPs, and 0.1% malformed lines, so the
verdict cache sees production-like repetition without a trivial hit rate.

Memory: peak RSS of the process, and tracemalloc's peak for the replay alone on two log sizes
(a flat peak as the log grows is the streaming claim).

    python bench/bench_replay.py [--lines 1000000] [--stack foundry-prod] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from ipaddress import IPv4Network
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "components"))

from mcp_containment.compile.replay import replay_file
from mcp_containment.config.load import load_file

ROOT = Path(__file__).resolve().parent.parent


def generate(path: Path, lines: int, compress: bool, subnet: str, seed: int = 7) -> None:
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
    opener = gzip.open if compress else open
    with opener(path, "wt") as out:  # type: ignore[operator]
        for n in range(lines):
            r = rnd.random()
            if r < 0.001:
                out.write("{not json\n")
                continue
            src = str(hosts[rnd.randrange(len(hosts))])
            flow: dict[str, object] = {
                "timestamp": f"2026-11-20T{n // 3600000 % 24:02d}:{n // 60000 % 60:02d}:"
                f"{n // 1000 % 60:02d}Z",
                "source": src,
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


def measure(spec: object, path: Path, traced: bool) -> tuple[float, int, dict[str, object]]:
    if traced:
        tracemalloc.start()
    t = time.perf_counter()
    report = replay_file(spec, path)  # type: ignore[arg-type]
    wall = time.perf_counter() - t
    peak = 0
    if traced:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return wall, peak, report.to_json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--stack", default="foundry-prod")
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    spec = load_file(ROOT / "stacks" / f"Pulumi.{args.stack}.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "flows.jsonl"
        small = Path(tmp) / "small.jsonl"
        t = time.perf_counter()
        subnet = spec.network.agent_subnet
        generate(big, args.lines, args.gzip, subnet)
        generate(small, max(args.lines // 10, 1), args.gzip, subnet)
        print(
            f"generated {args.lines} lines ({big.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - t:.1f} s"
        )
        wall, _, doc = measure(spec, big, traced=False)
        print(
            f"replay:  {wall:6.2f} s wall, {args.lines / wall:,.0f} lines/s "
            f"(stack {args.stack}, flows {doc['flows']}, would change {doc['wouldChange']}, "
            f"bad {doc['badLines']})"
        )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the process: {rss:.0f} MB")
        for path, label in ((small, f"{args.lines // 10} lines"), (big, f"{args.lines} lines")):
            _, peak, _ = measure(spec, path, traced=True)
            print(f"tracemalloc peak, {label:>15}: {peak / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
