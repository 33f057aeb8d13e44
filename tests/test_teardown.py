"""`containment teardown`: the plan against the planned dependency graph, and the exact Pulumi
CLI invocations it makes, against a stand-in `pulumi` executable that records them.

The Automation API lines come from pulumi 3.272.0 (`pulumi/automation/_cmd.py`,
`_local_workspace.py`, `_stack.py`): every command runs as `pulumi --non-interactive <args>`,
stack operations end with `--stack NAME`, `destroy` runs `--skip-preview --yes` and is followed
by `stack history`, and `cli_api.state_unprotect` runs `state unprotect --yes ... -- URN...`.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mcp_containment.cli import EXIT_INVALID, EXIT_OK, app
from mcp_containment.offline.runtime import Capture
from mcp_containment.operations.graph import StateResource, deletion_order, reaches
from mcp_containment.operations.teardown import (
    SAL_RETRY_SECONDS,
    SAL_WAIT_SECONDS,
    TeardownRefused,
    plan_teardown,
    run_teardown,
)

from .helpers import ROOT
from .test_components import planned

STANDIN = ROOT / "tests" / "fixtures" / "standin"
CAP_HOST = "azure-native:cognitiveservices:AccountCapabilityHost"
SUBNET = "azure-native:network:Subnet"
FIREWALL_POLICY = "kubernetes:networking.aviatrix.com/v1alpha1:FirewallPolicy"
HELM = "kubernetes:helm.sh/v3:Release"
RULESET = "aviatrix:index/dcfRuleset:DcfRuleset"
GROUPS = ("aviatrix:index/smartGroup:SmartGroup", "aviatrix:index/webGroup:WebGroup")


def state_of(capture: Capture) -> dict[str, Any]:
    """The `pulumi stack export` document the captured program would leave (protect is only
    written when set, as `protect,omitempty` in the CLI's apitype)."""
    resources: list[dict[str, Any]] = []
    for r in capture.resources:
        entry: dict[str, Any] = {
            "urn": r.urn,
            "type": r.type,
            "custom": r.custom,
            "inputs": r.inputs,
            "dependencies": sorted(
                {*r.depends_on, *(u for us in r.property_dependencies.values() for u in us)}
            ),
            "propertyDependencies": {k: list(v) for k, v in r.property_dependencies.items()},
        }
        if r.parent:
            entry["parent"] = r.parent
        if r.protect:
            entry["protect"] = True
        resources.append(entry)
    return {"version": 3, "deployment": {"manifest": {}, "resources": resources}}


@cache
def state_resources(stack: str) -> tuple[StateResource, ...]:
    raw = state_of(planned(stack))["deployment"]["resources"]
    return tuple(StateResource.from_state(r) for r in raw)


def simulated(resources: tuple[StateResource, ...]) -> list[list[str]]:
    """The URNs each phase of the teardown deletes, in order: a targeted phase deletes its
    targets and their dependents, the last everything left, each in destroy order."""
    plan = plan_teardown(resources)
    left = list(resources)
    out = []
    for phase in plan.phases:
        urns = {r.urn for r in left}
        if phase.targets:
            chosen = set(phase.targets) | {
                r.urn for r in left if reaches(left, r.urn, phase.targets)
            }
        else:
            chosen = urns
        order = [u for u in deletion_order(left) if u in chosen]
        out.append(order)
        left = [r for r in left if r.urn not in chosen]
    return out


def position(phases: list[list[str]]) -> dict[str, tuple[int, int]]:
    return {urn: (p, i) for p, urns in enumerate(phases) for i, urn in enumerate(urns)}


def test_foundry_teardown_deletes_the_capability_host_a_wait_before_the_agent_subnet() -> None:
    resources = state_resources("foundry-prod")
    plan = plan_teardown(resources)
    assert plan.phases[0].targets == tuple(r.urn for r in resources if r.type == CAP_HOST)
    assert plan.phases[0].wait_seconds == SAL_WAIT_SECONDS == 900
    phases = simulated(resources)
    where = position(phases)
    agent_subnet = next(
        r.urn for r in resources if r.type == SUBNET and r.inputs.get("subnetName") == "agents"
    )
    host = plan.phases[0].targets[0]
    # Not merely earlier: in a phase of its own, with the wait between.
    assert where[host][0] < where[agent_subnet][0]
    assert phases[0] == [host]
    assert sum(len(p) for p in phases) == len(resources)


def test_the_account_goes_after_its_endpoint_and_before_the_subnet_it_injects_into() -> None:
    resources = state_resources("foundry-prod")
    order = deletion_order(resources)
    by_type = {r.urn: r.type for r in resources}
    account = next(u for u in order if by_type[u] == "azure-native:cognitiveservices:Account")
    endpoints = [u for u in order if by_type[u] == "azure-native:network:PrivateEndpoint"]
    pe_subnet = next(
        r.urn
        for r in resources
        if r.type == SUBNET and r.inputs.get("subnetName") == "private-endpoints"
    )
    own = next(u for u in endpoints if "foundry-account" in u)
    assert order.index(own) < order.index(account)
    assert all(order.index(e) < order.index(pe_subnet) for e in endpoints)


@pytest.mark.parametrize("stack", ["obot-aks", "obot-eks", "foundry-prod", "foundry-dev"])
def test_the_graph_already_orders_what_the_controller_and_kubernetes_need(stack: str) -> None:
    resources = state_resources(stack)
    phases = simulated(resources)
    where = position(phases)
    policies = [r.urn for r in resources if r.type == FIREWALL_POLICY]
    crds = [r.urn for r in resources if r.type == HELM and "K8sFirewall" in r.urn]
    rulesets = [r.urn for r in resources if r.type == RULESET]
    groups = [r.urn for r in resources if r.type in GROUPS]
    assert rulesets and groups
    assert all(where[p] < where[c] for p in policies for c in crds)
    assert all(where[r] < where[g] for r in rulesets for g in groups)
    if stack.startswith("obot"):
        # Obot's servers get their FirewallPolicies from Obot; the stack's own workloads
        # (obot-eks declares one) are the library's.
        assert crds
        assert bool(policies) == (stack == "obot-eks")
    # Dependencies carry every order: no phase beyond the capability host's and the rest.
    reasons = [p.reason for p in plan_teardown(resources).phases]
    assert reasons[-1] == "everything else"
    assert len(reasons) == (2 if stack.startswith("foundry") else 1)


def test_an_order_the_graph_does_not_carry_gets_a_phase_of_its_own() -> None:
    parent = StateResource(
        urn="urn:pulumi:s::p::mcp-containment:aviatrix:DcfRulebase$aviatrix:index/dcfPolicyGroup:DcfPolicyGroup::root",
        type="aviatrix:index/dcfPolicyGroup:DcfPolicyGroup",
        inputs={"attachmentPoints": [{"name": "team-a", "priority": 300}]},
    )
    child = StateResource(
        urn="urn:pulumi:s::p::mcp-containment:aviatrix:DcfRulebase$aviatrix:index/dcfPolicyGroup:DcfPolicyGroup::team-a",
        type="aviatrix:index/dcfPolicyGroup:DcfPolicyGroup",
        inputs={"attachTo": "uuid-of-team-a"},
    )
    plan = plan_teardown([parent, child])
    assert [p.targets for p in plan.phases] == [(child.urn,), ()]
    linked = StateResource(child.urn, child.type, inputs=child.inputs, dependencies=(parent.urn,))
    assert [p.targets for p in plan_teardown([parent, linked]).phases] == [()]


def test_it_unprotects_exactly_the_librarys_protected_resources() -> None:
    resources = state_resources("foundry-prod")
    protected = {r.urn for r in resources if r.protect}
    assert protected, "production protects its network, gateway and Foundry resources"
    assert set(plan_teardown(resources).unprotect) == protected
    assert not any(r.protect for r in state_resources("foundry-dev"))


def test_a_protected_resource_outside_the_library_refuses_before_anything_changes() -> None:
    mine = StateResource(
        urn="urn:pulumi:prod::mcp-containment::azure-native:keyvault:Vault::team-vault",
        type="azure-native:keyvault:Vault",
        protect=True,
    )
    with pytest.raises(TeardownRefused, match="team-vault"):
        plan_teardown([*state_resources("foundry-prod"), mine])


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in `pulumi` first on PATH, a project directory, and the log it writes."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    log = tmp_path / "calls.jsonl"
    log.touch()
    monkeypatch.setenv("PATH", f"{STANDIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_LOG", str(log))
    monkeypatch.setenv("STANDIN_FAIL_DESTROY", str(tmp_path / "fail-destroy"))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "not-used")
    return tmp_path


def calls(standin: Path) -> list[list[str]]:
    return [json.loads(line) for line in (standin / "calls.jsonl").read_text().splitlines()]


def with_state(
    standin: Path, stack: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[StateResource, ...]:
    """What `stack export` answers: the state the captured program would leave."""
    path = standin / "state.json"
    path.write_text(json.dumps(state_of(planned(stack))))
    monkeypatch.setenv("STANDIN_STATE", str(path))
    return state_resources(stack)


def test_teardown_drives_the_pulumi_cli_in_the_recorded_sequence(
    standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = with_state(standin, "foundry-prod", monkeypatch)
    waits: list[float] = []
    steps = run_teardown(
        "foundry-prod", str(standin / "project"), sleep=waits.append, echo=lambda _: None
    )
    protected = [r.urn for r in resources if r.protect]
    host = [r.urn for r in resources if r.type == CAP_HOST]
    stack = ["--stack", "foundry-prod"]
    assert calls(standin) == [
        ["version"],
        ["stack", "select", *stack],
        ["stack", "export", "--show-secrets", *stack],
        ["state", "unprotect", "--yes", *stack, "--", *protected],
        [
            "destroy",
            "--skip-preview",
            "--yes",
            "--target",
            *host,
            "--target-dependents",
            "--exec-kind",
            "auto.local",
            *stack,
        ],
        ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", *stack],
        ["destroy", "--skip-preview", "--yes", "--exec-kind", "auto.local", *stack],
        ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", *stack],
    ]
    assert waits == [SAL_WAIT_SECONDS]
    assert [s.action for s in steps] == ["unprotect", "destroy", "wait", "destroy"]


def test_teardown_retries_while_azure_still_holds_the_subnet(
    standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_state(standin, "foundry-prod", monkeypatch)
    (standin / "fail-destroy").touch()
    waits: list[float] = []
    run_teardown("foundry-prod", str(standin / "project"), sleep=waits.append, echo=lambda _: None)
    destroys = [c for c in calls(standin) if c[0] == "destroy"]
    assert [("--target" in c) for c in destroys] == [True, False, False]
    assert waits == [SAL_WAIT_SECONDS, SAL_RETRY_SECONDS]


def test_teardown_of_a_non_foundry_stack_has_nothing_to_unprotect_or_wait_for(
    standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_state(standin, "obot-eks", monkeypatch)
    waits: list[float] = []
    run_teardown("obot-eks", str(standin / "project"), sleep=waits.append, echo=lambda _: None)
    assert [c[0] for c in calls(standin)] == ["version", "stack", "stack", "destroy", "stack"]
    assert waits == []


def _stack_file(tmp: Path, name: str, acknowledged: str | None) -> Path:
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())
    lock: dict[str, Any] = {
        "agentSubnetCidr": doc["config"]["mcp-containment:network"]["agentSubnet"]
    }
    if acknowledged:
        lock["teardownAcknowledged"] = acknowledged
    doc["config"]["mcp-containment:lock"] = lock
    stacks = tmp / "stacks"
    stacks.mkdir(exist_ok=True)
    path = stacks / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return stacks


def test_the_cli_refuses_without_the_acknowledgement_and_calls_nothing(
    standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_state(standin, "foundry-dev", monkeypatch)
    stacks = _stack_file(standin, "foundry-dev", None)
    result = CliRunner().invoke(
        app,
        [
            "teardown",
            "--stack",
            "foundry-dev",
            "--stacks-dir",
            str(stacks),
            "--json",
            "--work-dir",
            str(standin / "project"),
        ],
    )
    assert result.exit_code == EXIT_INVALID
    assert json.loads(result.stdout)["errors"][0]["path"] == "lock.teardownAcknowledged"
    assert calls(standin) == []


def test_the_cli_tears_down_an_acknowledged_stack(
    standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_state(standin, "foundry-dev", monkeypatch)
    stacks = _stack_file(standin, "foundry-dev", "CHG-1234, 2026-11-20")
    result = CliRunner().invoke(
        app,
        [
            "teardown",
            "--stack",
            "foundry-dev",
            "--stacks-dir",
            str(stacks),
            "--json",
            "--work-dir",
            str(standin / "project"),
            "--sal-wait",
            "0",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    doc = json.loads(result.stdout)
    assert [s["action"] for s in doc["steps"]] == ["destroy", "destroy"]
    # Development is not protected: nothing to unprotect, straight to the capability host.
    assert [c[0] for c in calls(standin)].count("state") == 0
