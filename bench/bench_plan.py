"""Wall time of the offline plan and check of a large stack, as ``containment plan/check`` run.

Stack: the Obot-on-AKS example with N MCP servers (default 200), each with a few declared
domains. Measured in a fresh process, so imports are included, as a user would see them:
``plan`` = validate + mocked program run + capture; ``check`` = every policy over the capture,
sent the requests the engine sends (the stack's config as the engine hands it over). Also
reports the capture with version aliases kept, to show what the offline runner saves.

    python bench/bench_plan.py [--servers 200] [--preview] [--with-aliases]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "components"))

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--preview", action="store_true", help="a first preview: ids unknown")
    parser.add_argument("--with-aliases", action="store_true", help="also time an unpatched run")
    args = parser.parse_args()

    # Imported here, after the clock started: a user's `containment plan` pays for them too.
    import yaml  # noqa: PLC0415

    from mcp_containment.config.load import raw_from_stack_config  # noqa: PLC0415
    from mcp_containment.config.schema import PROJECT  # noqa: PLC0415
    from mcp_containment.config.validate import validate  # noqa: PLC0415
    from mcp_containment.offline import runner  # noqa: PLC0415
    from mcp_containment.offline import runtime as offline  # noqa: PLC0415
    from mcp_containment.offline.engine import stack_config  # noqa: PLC0415

    t_import = time.perf_counter()
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.obot-aks.yaml").read_text())
    raw = raw_from_stack_config(doc["config"])
    raw["mcpServers"] = [
        {
            "name": f"server-{i:03d}",
            "runtime": "npx",
            "npxConfig": {"package": f"@vendor{i}/mcp"},
            "egressDomains": [f"api.vendor{i}.com", f"*.cdn{i}.net"],
        }
        for i in range(args.servers)
    ]
    spec = validate(raw)
    t_valid = time.perf_counter()
    capture = offline.plan(spec, preview=args.preview)
    t_plan = time.perf_counter()
    config = stack_config({f"{PROJECT}:{k}": v for k, v in raw.items()}, PROJECT)
    violations = runner.check(capture, [], config)
    t_check = time.perf_counter()

    print(f"servers:            {args.servers}")
    print(f"resources captured: {len(capture.resources)}")
    print(f"imports:            {t_import - T0:6.2f} s")
    print(f"validate:           {t_valid - t_import:6.2f} s")
    print(f"plan (mocked run):  {t_plan - t_valid:6.2f} s")
    print(f"check (policies):   {t_check - t_plan:6.2f} s  ({len(violations)} violations)")
    print(f"total wall:         {t_check - T0:6.2f} s")

    if args.with_aliases:
        from contextlib import nullcontext  # noqa: PLC0415

        original = offline._without_version_aliases
        offline._without_version_aliases = lambda declared: nullcontext()  # type: ignore[assignment,misc]
        try:
            t = time.perf_counter()
            slow = offline.plan(spec)
            print(f"plan, aliases kept: {time.perf_counter() - t:6.2f} s ({len(slow.resources)})")
        finally:
            offline._without_version_aliases = original  # type: ignore[assignment]


if __name__ == "__main__":
    main()
