"""Wall time of the policy pack as the engine drives it, against ``containment check``.

Stack: the Obot-on-AKS example with N MCP servers (default 930: 1,888 resources), captured as a
first preview. The pack is started from the directory ``containment policy-pack`` writes and
sent, over gRPC, what the engine sends (tests/engine/harness.py): Remediate and Analyze per
resource, AnalyzeStack once. pulumi_policy decodes every resource once per stack policy; the
in-process check decodes it once.

    python bench/bench_pack.py [--servers 930] [--update]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "components"), str(ROOT)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=930)
    parser.add_argument("--update", action="store_true", help="an update instead of a preview")
    args = parser.parse_args()

    import yaml  # noqa: PLC0415
    from tests.engine.harness import Pack  # noqa: PLC0415

    from mcp_containment.config.load import raw_from_stack_config  # noqa: PLC0415
    from mcp_containment.config.schema import PROJECT  # noqa: PLC0415
    from mcp_containment.config.validate import validate  # noqa: PLC0415
    from mcp_containment.crossguard.pack_dir import write_pack  # noqa: PLC0415
    from mcp_containment.offline import engine, runner, runtime  # noqa: PLC0415

    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.obot-aks.yaml").read_text())
    raw = raw_from_stack_config(doc["config"])
    raw["mcpServers"] = [
        {"name": f"server-{i:03d}", "egressDomains": [f"api.vendor{i}.com", f"*.cdn{i}.net"]}
        for i in range(args.servers)
    ]
    capture = runtime.plan(validate(raw), preview=not args.update)
    config = engine.stack_config({f"{PROJECT}:{k}": v for k, v in raw.items()}, PROJECT)
    requests = engine.requests(capture)
    pack_dir = write_pack(Path(tempfile.mkdtemp()) / "pack")
    with Pack(
        pack_dir,
        project=capture.project,
        stack=capture.stack,
        dry_run=not args.update,
        stack_config=config,
    ) as pack:
        pack.configure()
        t0 = time.perf_counter()
        for request in requests.analyze:
            pack.stub.Remediate(request)
        t1 = time.perf_counter()
        for request in requests.analyze:
            pack.stub.Analyze(request)
        t2 = time.perf_counter()
        pack.stub.AnalyzeStack(requests.analyze_stack)
        t3 = time.perf_counter()
        started = pack.started_in
    runner.check(capture, [], config)
    t4 = time.perf_counter()

    print(f"resources:           {len(capture.resources)}")
    print(f"pack start:          {started:6.2f} s")
    print(f"Remediate, each:     {t1 - t0:6.2f} s")
    print(f"Analyze, each:       {t2 - t1:6.2f} s")
    print(f"AnalyzeStack:        {t3 - t2:6.2f} s")
    print(f"containment check:   {t4 - t3:6.2f} s")


if __name__ == "__main__":
    main()
