"""Verdicts per second of the egress core, against a naive baseline, in one run.

Policy: an AKS stack with 495 MCP servers (two rules each) plus the base rulesets, about
1,000 rules, and 20,000 egress domains (a quarter of them ``*.`` wildcards). Flows: 1,000,000
random (source pod or node IP, hostname or IP, port, protocol), drawn from a pool of names so
hostnames repeat as they do in production logs (most hit a declared domain, some do not).

Fast path: :class:`Evaluator` (memoised group membership, a reversed-label trie over every
WebGroup, per-hostname candidate rules). Baseline: first-match linear scan over every rule,
group membership by selector test, and ``fnmatch`` over every domain of each WebGroup rule.
The baseline runs on a sample (it is too slow for a million flows) and both must agree on it.

    python bench/bench_egress.py [--flows 1000000] [--baseline-flows 2000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "components"))

from mcp_containment.compile.flows import resolve_destination, resolve_source
from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.load import raw_from_stack_config
from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import validate
from mcp_containment.core.evaluate import (
    NO_MATCH,
    Evaluator,
    PreparedDestination,
    PreparedSource,
)
from mcp_containment.core.groups import group_contains
from mcp_containment.core.model import Protocol, Rulebase

ROOT = Path(__file__).resolve().parent.parent
SERVERS = 495
DOMAINS_PER_SERVER = 20_000 // SERVERS + 1


def big_spec(rng: random.Random) -> Spec:
    import yaml  # noqa: PLC0415

    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.obot-aks.yaml").read_text())
    raw = raw_from_stack_config(doc["config"])
    servers = []
    total = 0
    for i in range(SERVERS):
        domains = []
        for j in range(DOMAINS_PER_SERVER):
            if total >= 20_000:
                break
            base = f"vendor{i}-{j % 7}.example{i % 97}.com"
            domains.append(f"*.cdn{j}.{base}" if j % 4 == 0 else f"api{j}.{base}")
            total += 1
        servers.append(
            {
                "name": f"server-{i:03d}",
                "runtime": "npx",
                "npxConfig": {"package": f"@vendor{i}/mcp"},
                "egressDomains": domains,
            }
        )
    raw["mcpServers"] = servers
    return validate(raw)


def flows(spec: Spec, rng: random.Random, n: int) -> list[tuple[str, str, int, str]]:
    """Mostly a server calling its own declared domains, some calls elsewhere (another
    server's domain, an exfiltration host, a bare IP), over a pool of repeating names."""
    own = {s.name: list(s.egress_domains) for s in spec.mcp_servers if s.egress_domains}
    names = list(own)
    everything = [d for ds in own.values() for d in ds]

    def concrete(domain: str) -> str:
        return f"x{rng.randrange(20)}." + domain[2:] if domain.startswith("*.") else domain

    out = []
    for _ in range(n):
        server = rng.choice(names)
        src = (
            f"pod:obot-mcp/{server}"
            if rng.random() < 0.85
            else f"10.70.{rng.randrange(4, 8)}.{rng.randrange(1, 255)}"
        )
        r = rng.random()
        if r < 0.70:
            dst = concrete(rng.choice(own[server]))
        elif r < 0.85:
            dst = concrete(rng.choice(everything))
        elif r < 0.95:
            dst = f"exfil{rng.randrange(500)}.attacker-{rng.randrange(50)}.io"
        else:
            dst = f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.7"
        port = rng.choice((443, 443, 443, 443, 80, 8443))
        proto = "tcp" if rng.random() < 0.95 else "udp"
        out.append((src, dst, port, proto))
    return out


def fast(spec: Spec, policy: Rulebase, batch: list[tuple[str, str, int, str]]) -> list[int]:
    """As log replay runs: each distinct source/destination text is resolved and prepared
    once; a flow is then one call of the inner loop."""
    ev = Evaluator(policy)
    codes = {p.value.lower(): p.code for p in Protocol}
    srcs: dict[str, PreparedSource] = {}
    dsts: dict[str, PreparedDestination] = {}
    match = ev.match_prepared
    out = []
    append = out.append
    for src, dst, port, proto in batch:
        s = srcs.get(src)
        if s is None:
            s = srcs[src] = ev.prepare_source(resolve_source(spec, policy, src))
        d = dsts.get(dst)
        if d is None:
            d = dsts[dst] = ev.prepare_destination(resolve_destination(dst))
        append(match(s, d, port, codes[proto]))
    return out


def naive(spec: Spec, policy: Rulebase, batch: list[tuple[str, str, int, str]]) -> list[int]:
    groups = {g.name: g for g in policy.smart_groups}
    webs = {w.name: w.domains for w in policy.web_groups}
    threat = Evaluator(policy).threat
    out = []
    for src, dst, port, proto in batch:
        s = resolve_source(spec, policy, src)
        d = resolve_destination(dst)
        verdict = NO_MATCH
        for i, r in enumerate(policy.rules):
            if r.protocol is not Protocol.ANY and r.protocol.value.lower() != proto:
                continue
            if r.ports and not any(p.lo <= port <= p.hi for p in r.ports):
                continue
            if not any(group_contains(groups[g], s, threat) for g in r.src):
                continue
            if not any(group_contains(groups[g], d, threat) for g in r.dst):
                continue
            if r.web_groups and (
                d.host is None
                or not any(fnmatchcase(d.host, pat) for w in r.web_groups for pat in webs[w])
            ):
                continue
            verdict = i
            break
        out.append(verdict)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=1_000_000)
    ap.add_argument("--baseline-flows", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    spec = big_spec(rng)
    t1 = time.perf_counter()
    policy = compile_rulebase(spec)
    t2 = time.perf_counter()
    n_domains = sum(len(w.domains) for w in policy.web_groups)
    print(
        f"policy: {len(policy.rules)} rules, {len(policy.web_groups)} WebGroups, "
        f"{n_domains} domains (validate {t1 - t0:.2f} s, compile {t2 - t1:.2f} s)"
    )

    batch = flows(spec, rng, args.flows)
    t3 = time.perf_counter()
    results = fast(spec, policy, batch)
    t4 = time.perf_counter()
    fast_rate = len(batch) / (t4 - t3)
    denied = sum(1 for i in results if i == NO_MATCH or policy.rules[i].action.value == "DENY")
    print(
        f"fast:     {len(batch):>9,} flows in {t4 - t3:6.2f} s = {fast_rate:>10,.0f} verdicts/s "
        f"({denied / len(batch):.0%} denied)"
    )

    sample = batch[: args.baseline_flows]
    t5 = time.perf_counter()
    baseline = naive(spec, policy, sample)
    t6 = time.perf_counter()
    base_rate = len(sample) / (t6 - t5)
    agree = baseline == results[: len(sample)]
    print(
        f"baseline: {len(sample):>9,} flows in {t6 - t5:6.2f} s = {base_rate:>10,.0f} verdicts/s "
        f"(linear scan + fnmatch)"
    )
    print(f"speed-up: {fast_rate / base_rate:,.0f}x; verdicts agree on the sample: {agree}")
    report: dict[str, Any] = {"fast": fast_rate, "baseline": base_rate, "agree": agree}
    if not agree:
        raise SystemExit(f"fast and baseline disagree: {report}")


if __name__ == "__main__":
    main()
