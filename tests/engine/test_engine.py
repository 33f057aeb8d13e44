"""The policy pack as ``pulumi preview`` and ``pulumi up`` run it: started from the directory
``containment policy-pack`` writes, driven over gRPC with what the engine sends, in a first
preview (every computed output unknown) and in an update.

- every example stack and every policy fixture gets the same verdicts, policy by policy and
  level by level, as ``containment check``, which sends the same requests in process;
- every unsafe fixture is refused in a first preview, with no policy config at all;
- a program the library did not declare gets nothing: the pack can run org-wide.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from mcp_containment.config.schema import Spec
from mcp_containment.crossguard.pack_dir import write_pack
from mcp_containment.crossguard.policies import POLICIES
from mcp_containment.crossguard.registry import Level, Violation
from mcp_containment.offline import engine, runner, runtime
from mcp_containment.offline.runtime import Capture

from ..helpers import EXAMPLE_STACKS, stack_config_of
from ..test_policies import FAILING, example, fired
from .harness import EngineRun, Pack

Build = Callable[[bool], tuple[Spec, Capture]]
CASES: dict[str, Build] = {
    **{f"example-{s}": (lambda preview, s=s: example(s, preview)) for s in EXAMPLE_STACKS},
    **{f"fixture-{p}": build for p, (_, _, build) in FAILING.items()},
}
PHASES = pytest.mark.parametrize("preview", [True, False], ids=["first-preview", "update"])


class Packs:
    """Pack processes, one per stack config and phase (the engine starts a pack with the
    stack's config in its environment), each started once for the module."""

    def __init__(self, pack_dir: Path) -> None:
        self.pack_dir = pack_dir
        self._running: dict[tuple[str, bool, str], Pack] = {}

    def __call__(self, capture: Capture, stack_config: dict[str, str]) -> Pack:
        key = (capture.stack, capture.preview, json.dumps(stack_config, sort_keys=True))
        if key not in self._running:
            self._running[key] = Pack(
                self.pack_dir,
                project=capture.project,
                stack=capture.stack,
                dry_run=capture.preview,
                stack_config=stack_config,
            ).start()
        return self._running[key]

    def close(self) -> None:
        for pack in self._running.values():
            pack.close()


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Packs]:
    pool = Packs(write_pack(tmp_path_factory.mktemp("installed") / "pack"))
    try:
        yield pool
    finally:
        pool.close()


def through_engine(
    packs: Packs,
    capture: Capture,
    stack_config: dict[str, str],
    policy_config: dict[str, Any] | None = None,
) -> EngineRun:
    pack = packs(capture, stack_config)
    pack.configure(policy_config)
    # The engine hands AnalyzeStack its resources in no particular order.
    seed = zlib.crc32(repr((capture.stack, len(capture.resources))).encode())
    return pack.run(engine.requests(capture), shuffle=seed)


def verdicts(violations: list[Violation]) -> list[tuple[str, str, str | None, str]]:
    return sorted((v.policy, v.level.value, v.resource, v.message) for v in violations)


@pytest.mark.parametrize("case", sorted(CASES))
@PHASES
def test_the_engine_and_check_give_the_same_verdicts(
    case: str, preview: bool, packs: Packs
) -> None:
    spec, capture = CASES[case](preview)
    config = stack_config_of(spec)
    run = through_engine(packs, capture, config)
    assert verdicts(run.violations) == verdicts(runner.check(capture, [], config))
    # No policy is skipped the way CrossGuard skips one that reads an unknown value.
    assert not [v for v in run.violations if "can't run policy" in v.message]


@pytest.mark.parametrize("policy", sorted(FAILING))
def test_every_unsafe_fixture_is_refused_in_a_first_preview(policy: str, packs: Packs) -> None:
    level, reason, build = FAILING[policy]
    spec, capture = build(True)
    pack = packs(capture, stack_config_of(spec))
    # No policy config at all: the stack facts come from the stack's own config.
    assert all(not c["properties"] for c in pack.configure().values())
    run = pack.run(engine.requests(capture))
    hits = fired(run.violations, policy)
    assert hits and all(v.level is level for v in hits), run.violations
    assert any(reason in v.message for v in hits), [v.message for v in hits]
    assert (run.outcome is not None) == (level is Level.MANDATORY)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_examples_pass_a_first_preview(stack: str, packs: Packs) -> None:
    spec, capture = example(stack, True)
    run = through_engine(packs, capture, stack_config_of(spec))
    assert run.outcome is None, run.violations
    assert {v.policy for v in run.violations} <= {"dcf-rules-in-monitor-mode"}


def test_policy_config_reaches_the_pack_as_it_reaches_check(packs: Packs) -> None:
    spec, capture = FAILING["dcf-decryption-scope"][2](True)
    lowered = {"all": "advisory", "dcf-decryption-scope": {"controllerVersion": "8.2"}}
    run = through_engine(packs, capture, stack_config_of(spec), lowered)
    assert run.outcome is None
    assert verdicts(run.violations) == verdicts(
        runner.check(capture, [lowered], stack_config_of(spec))
    )
    assert not fired(run.violations, "dcf-decryption-scope")


# --- programs the library did not declare -------------------------------------------------


def _public_route_table() -> None:
    """A web tier's public subnet: a default route to an internet gateway, unprotected, with a
    Name that reads like one of ours."""
    vpc = aws.ec2.Vpc("shop", cidr_block="10.0.0.0/16")
    igw = aws.ec2.InternetGateway("shop", vpc_id=vpc.id)
    table = aws.ec2.RouteTable(
        "public", vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}]
    )
    subnet = aws.ec2.Subnet(
        "web", vpc_id=vpc.id, cidr_block="10.0.1.0/24", tags={"Name": "shop-agents"}
    )
    aws.ec2.RouteTableAssociation("web", subnet_id=subnet.id, route_table_id=table.id)


def _kubernetes_only() -> None:
    """A cluster's own releases: an unpinned chart, and a FirewallPolicy that ends in a permit
    with no aviatrix ruleset anywhere."""
    k8s.helm.v3.Release("ingress", chart="ingress-nginx", version="^4", namespace="ingress")
    k8s.apiextensions.CustomResource(
        "team-egress",
        api_version="networking.aviatrix.com/v1alpha1",
        kind="FirewallPolicy",
        metadata={"name": "team-egress", "namespace": "team"},
        spec={"rules": [{"name": "allow-all", "action": "permit"}]},
    )
    pulumi.export("namespace", "team")


@pytest.mark.parametrize("program", [_public_route_table, _kubernetes_only])
@PHASES
def test_a_program_the_library_did_not_declare_gets_nothing(
    program: Callable[[], None], preview: bool, packs: Packs
) -> None:
    capture = runtime.run(program, project="shop", stack="dev", preview=preview)
    run = through_engine(packs, capture, {"shop:owner": "web-team"})
    assert run.violations == [] and run.outcome is None
    assert runner.check(capture, [], {"shop:owner": "web-team"}) == []
    # Each policy says why it did not apply, as Pulumi Cloud's policy results show it.
    assert {name for name, _ in run.not_applicable} == {p.name for p in POLICIES}


def test_the_pack_starts_fast_enough_to_start_per_preview(packs: Packs) -> None:
    spec, capture = example("foundry-prod", True)
    pack = packs(capture, stack_config_of(spec))
    assert pack.started_in < 5, pack.started_in
