"""The offline plan against the bare SDK, the check's growth, and check --plan.

Stacks: the Obot-on-AKS example with N ``mcpWorkloads`` (each a FirewallPolicy and its
``McpServerEgress`` component: two resources; Obot's own servers are catalog entries in one
resource and no longer scale the resource count).

* plan: ``offline.runtime.plan`` at 800 workloads against a bare program, in the same process,
  registering as many Kubernetes ConfigMaps under the SDK's own mocks, each carrying as many
  values as the captured resources do on average (and, for reference, one value); seconds per
  resource, imports excluded, best of 2;
* check: every policy over the capture (``offline.runner.check``) at about 1,000 and 10,000
  resources, best of 2; the exponent of the time in the resource count;
* check --plan: the plan read from a file saved by ``plan --save`` and checked, against planning
  and checking (what ``check`` without ``--plan`` does), at 500 workloads.

    python bench/bench_plan.py [--workloads 800] [--small 500] [--large 5000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "components"))

import pulumi_kubernetes as k8s  # noqa: E402
import yaml  # noqa: E402
from pulumi.runtime import mocks, settings  # noqa: E402
from pulumi.runtime.stack import run_pulumi_func  # noqa: E402

from mcp_containment.config.load import raw_from_stack_config  # noqa: E402
from mcp_containment.config.schema import PROJECT, Spec  # noqa: E402
from mcp_containment.config.validate import validate  # noqa: E402
from mcp_containment.offline import runner, runtime, saved  # noqa: E402
from mcp_containment.offline.engine import stack_config  # noqa: E402


def stack(workloads: int) -> tuple[Spec, dict[str, str]]:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.obot-aks.yaml").read_text())
    raw = raw_from_stack_config(doc["config"])
    raw["mcpWorkloads"] = [
        {
            "name": f"wl-{i:05d}",
            "namespace": f"tools-{i % 50}",
            "podLabels": {"app": f"wl-{i:05d}"},
            "egressDomains": [f"api.vendor{i}.com", f"*.cdn{i}.net"],
        }
        for i in range(workloads)
    ]
    return validate(raw), stack_config({f"{PROJECT}:{k}": v for k, v in raw.items()}, PROJECT)


class _Bare(mocks.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


def bare(resources: int, values: int) -> float:
    """Seconds for the SDK alone to register ``resources`` ConfigMaps of ``values`` values."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings.reset_options(project="bare", stack="bare")
    mocks.set_mocks(_Bare(), project="bare", stack="bare")

    def program() -> None:
        for i in range(resources):
            data = {f"k{j}": f"value-{i}-{j}" for j in range(values)}
            k8s.core.v1.ConfigMap(f"cm-{i}", data=data)

    try:
        t = time.perf_counter()
        loop.run_until_complete(run_pulumi_func(program))
        return time.perf_counter() - t
    finally:
        settings.reset_options()
        asyncio.set_event_loop(None)
        loop.close()


def _values(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_values(v) for v in value.values())
    if isinstance(value, list):
        return sum(_values(v) for v in value)
    return 1


def _best(fn: Any, runs: int = 2) -> float:
    best = math.inf
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def measure_plan(workloads: int) -> dict[str, Any]:
    runtime.plan(stack(5)[0])  # the provider SDKs imported, as in any second plan
    spec, _ = stack(workloads)
    capture = runtime.plan(spec)
    n = len(capture.resources)
    values = round(sum(_values(r.inputs) for r in capture.resources) / n)
    ours = _best(lambda: runtime.plan(spec))
    same = _best(lambda: bare(n, values))
    tiny = _best(lambda: bare(n, 1))
    return {
        "workloads": workloads,
        "resources": n,
        "values": values,
        "plan_ms": ours / n * 1e3,
        "bare_ms": same / n * 1e3,
        "bare_one_value_ms": tiny / n * 1e3,
    }


def measure_check(small: int, large: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, workloads in (("small", small), ("large", large)):
        spec, config = stack(workloads)
        capture = runtime.plan(spec)
        runner.check(capture, [], config)  # pulumi_policy imported
        out[f"{label}_resources"] = len(capture.resources)
        out[f"{label}_s"] = _best(lambda c=capture, k=config: runner.check(c, [], k))
        if label == "small":
            out.update(_reuse(spec, config, capture))
    out["exponent"] = math.log(out["large_s"] / out["small_s"]) / math.log(
        out["large_resources"] / out["small_resources"]
    )
    return out


def _reuse(spec: Spec, config: dict[str, str], capture: runtime.Capture) -> dict[str, float]:
    """check as it runs without --plan (plan, then check) and with it (read, then check)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        saved.save(capture, spec, path)
        planned = _best(lambda: runner.check(runtime.plan(spec), [], config))
        reused = _best(lambda: runner.check(saved.load(path, spec, False), [], config))
    return {"check_planning_s": planned, "check_saved_s": reused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=800)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = {**measure_plan(args.workloads), **measure_check(args.small, args.large)}
    if args.json:
        print(json.dumps(r))
        return
    print(
        f"plan, {r['resources']:,} resources: {r['plan_ms']:.2f} ms each; bare SDK "
        f"{r['bare_ms']:.2f} ms ({r['values']} values each), {r['bare_one_value_ms']:.2f} ms "
        f"(one value): {r['plan_ms'] / r['bare_ms']:.2f}x"
    )
    print(
        f"check: {r['small_s']:.2f} s at {r['small_resources']:,} resources, {r['large_s']:.2f} s "
        f"at {r['large_resources']:,}: exponent {r['exponent']:.2f}"
    )
    print(f"check --plan: {r['check_saved_s']:.2f} s, planning again {r['check_planning_s']:.2f} s")


if __name__ == "__main__":
    main()
