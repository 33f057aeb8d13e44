"""Every CrossGuard policy, run in-process on captured resources: each passes on an example
stack and fails, for its stated reason, on a fixture derived from one.

Fixtures are example plans with one thing changed, either in the spec (what a team would
write) or in the captured resources (what a hand-written program could declare). Stack
policies read outputs and resource policies read inputs, as CrossGuard does, so a resource
change is applied to both.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.lock import build_lock
from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import validate
from mcp_containment.core.model import Layer
from mcp_containment.crossguard.policies import POLICIES
from mcp_containment.crossguard.policy_config import stack_facts
from mcp_containment.crossguard.readback import rulebase_from_resources, urn_of_rule
from mcp_containment.crossguard.registry import Level, Violation
from mcp_containment.crossguard.resources import Resource
from mcp_containment.offline import runner, runtime
from mcp_containment.offline.runtime import Capture

from .helpers import EXAMPLE_STACKS, raw_stack, with_changes

Props = dict[str, Any]


@cache
def example(name: str) -> tuple[Spec, Capture]:
    spec = validate(raw_stack(name))
    return spec, runtime.plan(spec)


def run_check(spec: Spec, capture: Capture, *extra: dict[str, Any]) -> list[Violation]:
    return runner.check(capture, [stack_facts(spec), *extra])


def changed(
    capture: Capture,
    type_: str,
    edit: Callable[[Props], None] | None = None,
    *,
    name: str | None = None,
    protect: bool | None = None,
) -> Capture:
    """A copy of ``capture`` with matching resources' inputs and outputs edited."""
    out = Capture(outputs=dict(capture.outputs))
    hit = False
    for original in capture.resources:
        r = original
        if r.type == type_ and (name is None or r.name == name or r.name.endswith(f"-{name}")):
            hit = True
            inputs, outputs = copy.deepcopy(r.inputs), copy.deepcopy(r.outputs)
            if edit is not None:
                edit(inputs)
                edit(outputs)
            r = dataclasses.replace(
                r,
                inputs=inputs,
                outputs=outputs,
                protect=r.protect if protect is None else protect,
            )
        out.resources.append(r)
    assert hit, f"no {type_} {name or ''} in the capture"
    return out


def fired(violations: list[Violation], policy: str) -> list[Violation]:
    return [v for v in violations if v.policy == policy]


def planned_spec(
    base: str, *, skip_version_validation: bool = False, **changes: Any
) -> tuple[Spec, Capture]:
    raw = with_changes(raw_stack(base), **changes)
    spec = validate(raw, skip_version_validation=skip_version_validation)
    return spec, runtime.plan(spec)


RULESET = "aviatrix:index/dcfRuleset:DcfRuleset"
HELM = "kubernetes:helm.sh/v3:Release"
FIREWALL_POLICY = "kubernetes:networking.aviatrix.com/v1alpha1:FirewallPolicy"
OBOT_CATALOG = "pulumi-python:dynamic/obot:CatalogSource"


def _rules(point: str, edit: Callable[[list[Props]], None]) -> Callable[[Props], None]:
    """Edit the rules of the ruleset at ``point`` (``before-ui``, ``after-ui``)."""

    def apply(props: Props) -> None:
        if props["name"].endswith(f"-{point}-rules"):
            edit(props["rules"])

    return apply


# --- the fixtures: (policy, level, what must appear in the message, how to build) ------------


def _lock_mismatch() -> tuple[Spec, Capture]:
    spec, capture = example("foundry-prod")
    locked = build_lock(spec, capture.outputs)
    moved = with_changes(raw_stack("foundry-prod"), network__agentSubnet="10.40.4.0/24")
    moved["lock"] = locked.model_dump(by_alias=True, exclude_none=True, mode="json")
    spec = validate(moved)
    return spec, runtime.plan(spec)


def _threat_after_permit() -> tuple[Spec, Capture]:
    spec, c = example("foundry-prod")

    def late(rules: list[Props]) -> None:
        rules[0]["priority"] = 99

    return spec, changed(c, RULESET, _rules("before-ui", late))


def _old_controller() -> tuple[Spec, Capture]:
    # Validation refuses Foundry on 8.1 (the ACA permits need a per-rule setting); the pack
    # still catches a program that declares such rules for a stack that says 8.1.
    spec, capture = example("foundry-prod")
    old = spec.controller.model_copy(update={"version": "8.1.4"})
    return spec.model_copy(update={"controller": old}), capture


def _unlogged() -> tuple[Spec, Capture]:
    spec, c = example("foundry-prod")

    def quiet(rules: list[Props]) -> None:
        rules[0]["logging"] = False

    return spec, changed(c, RULESET, _rules("after-ui", quiet))


def _prod_monitor() -> tuple[Spec, Capture]:
    return planned_spec("foundry-prod", egress__ruleModes={"default-deny-internet": "monitor"})


def _permit_all_web() -> tuple[Spec, Capture]:
    spec, c = example("foundry-prod")

    def demo_rule(rules: list[Props]) -> None:
        # The blueprint's demo rule: every web destination on 80/443, before the internet deny.
        first = rules[0]
        rules.insert(
            0,
            {
                "name": "allow-all-web",
                "action": "PERMIT",
                "priority": 4,
                "protocol": "TCP",
                "srcSmartGroups": first["srcSmartGroups"],
                "dstSmartGroups": [first["dstSmartGroups"][0]],
                "portRanges": [{"lo": 80, "hi": 80}, {"lo": 443, "hi": 443}],
                "logging": True,
                "watch": False,
            },
        )
        rules[1]["priority"] = 5

    return spec, changed(c, RULESET, _rules("after-ui", demo_rule))


def _unpinned_chart() -> tuple[Spec, Capture]:
    spec, c = example("obot-aks")
    return spec, changed(c, HELM, lambda p: p.update(version="^10.1"), name="k8s-firewall")


def _obot_default_allow() -> tuple[Spec, Capture]:
    return planned_spec("obot-aks", kubernetes__obot__defaultDenyAllEgress=False)


def _policy_ending_in_permit() -> tuple[Spec, Capture]:
    # A self-managed workload's declared policy, edited to end with its permit.
    spec, c = example("obot-eks")

    def no_deny(props: Props) -> None:
        if props["metadata"]["name"] == "internal-search-egress":
            props["spec"]["rules"] = props["spec"]["rules"][:-1]

    return spec, changed(c, FIREWALL_POLICY, no_deny)


def _route_to_internet() -> tuple[Spec, Capture]:
    spec, c = example("foundry-prod")

    def direct(props: Props) -> None:
        props["routes"] = [
            {"name": "direct", "addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"}
        ]

    return spec, changed(c, "azure-native:network:RouteTable", direct)


def _unprotected_subnet() -> tuple[Spec, Capture]:
    spec, c = example("obot-aks")  # production: protected unless configured otherwise
    return spec, changed(c, "azure-native:network:Subnet", name="agents", protect=False)


def _storage_without_endpoint() -> tuple[Spec, Capture]:
    spec, c = example("foundry-prod")
    kept = [r for r in c.resources if "foundry-private-endpoints-storage" not in r.name]
    assert len(kept) == len(c.resources) - 2  # the endpoint and its DNS zone group
    return spec, Capture(resources=kept, outputs=dict(c.outputs))


def _decrypt_without_ca() -> tuple[Spec, Capture]:
    return planned_spec("foundry-prod", foundry__decryptionCa=None)


FAILING: dict[str, tuple[Level, str, Callable[[], tuple[Spec, Capture]]]] = {
    "subnet-immutability": (Level.MANDATORY, "agent subnet CIDR", _lock_mismatch),
    "dcf-rule-ordering": (Level.MANDATORY, "threat", _threat_after_permit),
    "dcf-decryption-scope": (Level.MANDATORY, "8.2", _old_controller),
    "dcf-audit-logging": (Level.MANDATORY, "default-deny-internet", _unlogged),
    "dcf-default-deny-enforced-in-production": (
        Level.MANDATORY,
        "monitor mode in a production stack",
        _prod_monitor,
    ),
    "dcf-rules-in-monitor-mode": (
        Level.ADVISORY,
        "monitor mode",
        lambda: example("foundry-dev"),
    ),
    "dcf-containment-breadth": (Level.MANDATORY, "allow-all-web", _permit_all_web),
    "kubernetes-chart-versions-pinned": (Level.MANDATORY, "^10.1", _unpinned_chart),
    "obot-default-deny-egress": (Level.MANDATORY, "DENY_ALL_EGRESS", _obot_default_allow),
    "mcp-server-firewall-policy": (Level.MANDATORY, "deny", _policy_ending_in_permit),
    "workload-default-route-via-gateway": (Level.MANDATORY, "Internet", _route_to_internet),
    "containment-infrastructure-protected": (
        Level.MANDATORY,
        "protect",
        _unprotected_subnet,
    ),
    "foundry-dependencies-private": (
        Level.MANDATORY,
        "storage (Azure Storage (blob) prodagentsfiles) does not resolve to a private address",
        _storage_without_endpoint,
    ),
    "dcf-decryption-ca": (Level.MANDATORY, "DECRYPT_ALLOWED", _decrypt_without_ca),
}


def test_every_policy_has_a_failing_fixture() -> None:
    assert set(FAILING) == {p.name for p in POLICIES}


@pytest.mark.parametrize("policy", sorted(FAILING))
def test_policy_fails_its_fixture_for_the_stated_reason(policy: str) -> None:
    level, reason, build = FAILING[policy]
    spec, capture = build()
    hits = fired(run_check(spec, capture), policy)
    assert hits, f"{policy} did not fire"
    assert all(v.level is level for v in hits)
    assert any(reason in v.message for v in hits), [v.message for v in hits]
    assert all(v.resource and v.resource.startswith("urn:pulumi:") for v in hits)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_examples_pass_every_mandatory_policy(stack: str) -> None:
    spec, capture = example(stack)
    violations = run_check(spec, capture)
    assert [v for v in violations if v.level is Level.MANDATORY] == []
    # The only advisories the examples carry are rules still in monitor mode.
    assert {v.policy for v in violations} <= {"dcf-rules-in-monitor-mode"}


@pytest.mark.parametrize("policy", sorted(FAILING))
def test_every_policy_passes_on_some_example(policy: str) -> None:
    assert any(not fired(run_check(*example(s)), policy) for s in EXAMPLE_STACKS)


def test_no_policy_is_vacuous() -> None:
    """A policy that fires on none of the fixtures proves nothing: fail loudly if one appears."""
    fired_somewhere = set()
    for _, _, build in FAILING.values():
        fired_somewhere |= {v.policy for v in run_check(*build())}
    assert fired_somewhere == {p.name for p in POLICIES}


def test_teardown_acknowledgement_lets_a_locked_change_through() -> None:
    spec, _ = _lock_mismatch()
    raw = with_changes(raw_stack("foundry-prod"), network__agentSubnet="10.40.4.0/24")
    assert spec.lock is not None
    raw["lock"] = {
        **spec.lock.model_dump(by_alias=True, exclude_none=True, mode="json"),
        "teardownAcknowledged": "CHG-1234: move agents to a larger subnet",
    }
    acked = validate(raw)
    assert not fired(run_check(acked, runtime.plan(acked)), "subnet-immutability")


def test_a_matching_lock_passes_and_names_nothing() -> None:
    spec, capture = example("foundry-prod")
    raw = raw_stack("foundry-prod")
    raw["lock"] = build_lock(spec, capture.outputs).model_dump(
        by_alias=True, exclude_none=True, mode="json"
    )
    locked = validate(raw)
    assert not fired(run_check(locked, runtime.plan(locked)), "subnet-immutability")


def test_policy_config_file_can_lower_a_mandatory_policy() -> None:
    spec, capture = _unpinned_chart()
    hits = fired(
        run_check(spec, capture, {"kubernetes-chart-versions-pinned": "advisory"}),
        "kubernetes-chart-versions-pinned",
    )
    assert hits and all(v.level is Level.ADVISORY for v in hits)
    off = run_check(spec, capture, {"kubernetes-chart-versions-pinned": "disabled"})
    assert not fired(off, "kubernetes-chart-versions-pinned")


def test_default_allow_server_is_refused_in_production() -> None:
    # No FirewallPolicy is declared for an Obot server: the pack reads the controller's
    # translation of the registered catalog entry, where an entry without egress under
    # Obot's allow-all default becomes ["*"].
    raw = with_changes(raw_stack("obot-aks"), kubernetes__obot__defaultDenyAllEgress=False)
    raw["mcpServers"] = [{"name": "open", "runtime": "npx", "npxConfig": {"package": "o"}}]
    spec = validate(raw)
    capture = runtime.plan(spec)
    assert not capture.of_type(FIREWALL_POLICY)
    hits = fired(run_check(spec, capture), "mcp-server-firewall-policy")
    assert [v.message for v in hits] == [
        "catalog entry 'open': FirewallPolicy permits every domain ('*', Obot's allow-all) in "
        "production (webGroup 'obot-open-approved-domains')"
    ]


def test_the_pack_reads_the_obot_band_from_the_registered_catalog() -> None:
    spec, capture = example("obot-aks")
    assert not capture.of_type(FIREWALL_POLICY)
    (source,) = capture.of_type(OBOT_CATALOG)
    resources = [Resource(r.type, r.name, r.urn, r.outputs) for r in capture.resources if r.custom]
    rulebase = rulebase_from_resources(resources, stack_facts(spec))
    assert rulebase is not None
    band = [r.name for r in rulebase.rules if r.layer is Layer.KUBERNETES]
    assert band == [r.name for r in compile_rulebase(spec).layer(Layer.KUBERNETES)]
    assert rulebase.firewall_policies == ()  # readback keeps rules, not manifests
    assert urn_of_rule(resources, "obot-mcp/obot-github-fw:deny-all-external") == source.urn


def test_an_entry_edited_to_allow_all_is_caught_in_the_catalog_resource() -> None:
    spec, capture = example("obot-aks")

    def allow_all(props: Props) -> None:
        props["entries"]["github"]["npxConfig"] = {"package": "x", "denyAllEgress": False}

    hits = fired(
        run_check(spec, changed(capture, OBOT_CATALOG, allow_all)), "mcp-server-firewall-policy"
    )
    assert [v.message.split(":")[0] for v in hits] == ["catalog entry 'github'"]
    assert "'*'" in hits[0].message
    assert not fired(run_check(spec, capture), "mcp-server-firewall-policy")
