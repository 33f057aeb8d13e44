"""Cold start: ``containment validate`` against ``import pulumi``, each a fresh interpreter.

Both run as a user runs them, from the same virtualenv, alternately, median of N. Bytecode is
compiled first (``compileall``), as pip does when it installs the package: a checkout run with
PYTHONDONTWRITEBYTECODE (as this machine's shells are) would otherwise compile every module of
the package on every start, which no installation does.

    python bench/bench_cold.py [--runs 15] [--json]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "components" / "mcp_containment"


def _run(args: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t = time.perf_counter()
    subprocess.run(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def measure(runs: int = 15) -> dict[str, float]:
    compileall.compile_dir(PACKAGE, quiet=1)
    validate = [sys.executable, "-m", "mcp_containment.cli", "validate", "--stack", "obot-aks"]
    pulumi = [sys.executable, "-c", "import pulumi"]
    _run(validate), _run(pulumi)  # warm the file cache
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(_run(validate))
        theirs.append(_run(pulumi))
    return {"validate_s": statistics.median(ours), "import_pulumi_s": statistics.median(theirs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = measure(args.runs)
    if args.json:
        print(json.dumps(r))
        return
    print(
        f"containment validate {r['validate_s'] * 1e3:.0f} ms, import pulumi "
        f"{r['import_pulumi_s'] * 1e3:.0f} ms: {r['validate_s'] / r['import_pulumi_s']:.2f}x"
    )


if __name__ == "__main__":
    main()
