"""Every benchmark, one table: each figure a ratio (or an exponent) measured in the same run.

Each script runs in its own interpreter (``--json``), so one benchmark's heap never slows the
next; this prints what they measured against the targets (issue 15). ``--quick`` runs them
smaller (minutes instead of ten), for a check that nothing regressed; its figures are not the
targets' scale. ``--markdown`` prints the table as the README shows it.

    python bench/run.py [--quick] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent

FULL = {
    "simulator": ["--servers", "5000", "--domains", "200000", "--flows", "1000000"],
    "replay": ["--lines", "1000000", "--sweep-lines", "300000"],
    "replay_memory": ["--lines", "320000"],
    "plan": ["--workloads", "800", "--small", "500", "--large", "5000"],
    "cold": ["--runs", "15"],
}
QUICK = {
    "simulator": ["--servers", "500", "--domains", "20000", "--flows", "100000"],
    "replay": ["--lines", "200000", "--sweep-lines", "60000"],
    "replay_memory": ["--lines", "80000"],
    "plan": ["--workloads", "200", "--small", "100", "--large", "1000"],
    "cold": ["--runs", "5"],
}


def run(name: str, args: list[str]) -> dict[str, Any]:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(BENCH / f"bench_{name}.py"), *args, "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(f"  {name}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


Row = tuple[str, str, str, str, bool]
"""(what, measured, figure, target, met)"""


def rows(r: dict[str, dict[str, Any]]) -> list[Row]:
    return (
        simulator_rows(r["simulator"])
        + replay_rows(r["replay"], r["replay_memory"])
        + (plan_rows(r["plan"]) + cold_rows(r["cold"]))
    )


def simulator_rows(s: dict[str, Any]) -> list[Row]:
    slower = s["floor_per_s"] / s["fast_per_s"]
    source = math.log(s["source_us"] / s["source_us_small"]) / math.log(
        s["rules"] / s["small_rules"]
    )
    scale = f"{s['rules']:,} rules, {s['domains']:,} domains"
    return [
        (
            f"simulator, {scale}, {s['flows']:,} flows "
            f"({s['distinct_destinations']:,} distinct destinations)",
            f"{s['fast_per_s']:,.0f} verdicts/s; exact-hostname dict {s['floor_per_s']:,.0f}/s",
            f"{slower:.1f}x the floor",
            "<= 10x",
            slower <= 10,
        ),
        (
            "simulator, a new pod source",
            f"{s['source_us']:.1f} us at {s['rules']:,} rules, "
            f"{s['source_us_small']:.1f} us at {s['small_rules']:,}",
            f"exponent {source:.2f}",
            "no growth with servers",
            source < 0.25,
        ),
        (
            "simulator, verdicts against the evaluator before indexing",
            f"{s['flows']:,} flows",
            "identical" if s.get("identical") else "not compared",
            "identical",
            bool(s.get("identical")),
        ),
    ]


def replay_rows(p: dict[str, Any], memory: dict[str, float]) -> list[Row]:
    ratio = p["replay_per_s"] / p["parse_per_s"]
    reading = p["parse_per_s"] / p["read_per_s"]
    sweep = {int(k): v for k, v in p["sweep_per_s"].items()}
    low, high = min(sweep), max(sweep)
    worst = min(sweep.values()) / sweep[low]
    at_cache = sweep.get(20_000, sweep[high]) / sweep.get(10_000, sweep[low])
    peaks = list(memory.values())
    return [
        (
            f"replay, standard log ({p['lines']:,} lines)",
            f"{p['replay_per_s']:,.0f} lines/s; orjson parse alone {p['parse_per_s']:,.0f}/s; "
            f"reading alone {p['read_per_s']:,.0f}/s ({reading:.2f}x the time of parse)",
            f"{ratio:.2f} of parse",
            ">= 0.3",
            ratio >= 0.3,
        ),
        (
            f"replay, distinct endpoints {low:,} -> {high:,} ({p['sweep_lines']:,} lines)",
            ", ".join(f"{d:,}: {v / 1e3:,.0f}k" for d, v in sweep.items()),
            f"{worst:.2f} at {high:,}; {at_cache:.2f} across the cache size",
            "no step down",
            worst >= 0.8,
        ),
        (
            "replay memory, standard log",
            f"tracemalloc {p['traced_mb']:.1f} MB at {p['lines']:,} lines, "
            f"{p['traced_double_mb']:.1f} MB at {2 * p['lines']:,}; peak RSS {p['rss_mb']:.0f} MB",
            f"{p['traced_double_mb']:.1f} MB, under the caches' full size ({peaks[-1]:.1f} MB)",
            "bounded by the caches",
            p["traced_double_mb"] <= peaks[-1],
        ),
        (
            "replay memory, hostile log (every endpoint new, and seen twice to fill the caches)",
            ", ".join(f"{int(k):,}: {v:.1f} MB" for k, v in memory.items()),
            f"{peaks[-1] / peaks[-2]:.2f}x for 2x the lines",
            "flat",
            peaks[-1] <= 1.1 * peaks[-2],
        ),
    ]


def plan_rows(p: dict[str, Any]) -> list[Row]:
    ratio = p["plan_ms"] / p["bare_ms"]
    reuse = p["check_saved_s"] / p["check_planning_s"]
    return [
        (
            f"plan, {p['workloads']} workloads ({p['resources']:,} resources)",
            f"{p['plan_ms']:.2f} ms/resource; bare SDK {p['bare_ms']:.2f} ms "
            f"({p['values']} values each), {p['bare_one_value_ms']:.2f} ms (one)",
            f"{ratio:.2f}x the bare SDK ({p['plan_ms'] / p['bare_one_value_ms']:.2f}x one value)",
            "<= 1.5x",
            ratio <= 1.5,
        ),
        (
            f"check, {p['small_resources']:,} -> {p['large_resources']:,} resources",
            f"{p['small_s']:.2f} s -> {p['large_s']:.2f} s",
            f"exponent {p['exponent']:.2f}",
            "linear (1.0)",
            p["exponent"] <= 1.1,
        ),
        (
            "check --plan (a plan saved by plan --save)",
            f"{p['check_saved_s']:.2f} s; planning again {p['check_planning_s']:.2f} s",
            f"{reuse:.2f} of check",
            "no second program run",
            reuse < 0.5,
        ),
    ]


def cold_rows(c: dict[str, Any]) -> list[Row]:
    ratio = c["validate_s"] / c["import_pulumi_s"]
    return [
        (
            "cold start, containment validate",
            f"{c['validate_s'] * 1e3:.0f} ms; import pulumi {c['import_pulumi_s'] * 1e3:.0f} ms",
            f"{ratio:.2f}x import pulumi",
            "<= 1.2x",
            ratio <= 1.2,
        )
    ]


def table(found: list[Row], markdown: bool) -> str:
    head = ("path", "measured", "ratio", "target", "met")
    lines = [(w, m, f, t, "yes" if ok else "NO") for w, m, f, t, ok in found]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    return "\n".join("  ".join(line) for line in [head, *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, not the targets' scale")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    results = {name: run(name, plan[name]) for name in plan}
    print(table(rows(results), args.markdown))


if __name__ == "__main__":
    main()
