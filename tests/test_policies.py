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
from unittest import mock

import pytest

from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.lock import build_lock
from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import validate
from mcp_containment.core import band, names
from mcp_containment.core.model import Action, Decrypt, Layer, PortRange, Protocol, Rule, Rulebase
from mcp_containment.crossguard.policies import POLICIES
from mcp_containment.crossguard.readback import planned_policies
from mcp_containment.crossguard.registry import Level, Violation
from mcp_containment.crossguard.resources import Resource
from mcp_containment.infra import stack as infra_stack
from mcp_containment.offline import runner, runtime
from mcp_containment.offline.runtime import Capture

from .helpers import EXAMPLE_STACKS, raw_stack, stack_config_of, with_changes

Props = dict[str, Any]
Built = tuple[Spec, Capture]
Build = Callable[[bool], Built]
"""A fixture: (spec, capture), captured as an update or (True) as a first preview."""


@cache
def example(name: str, preview: bool = False) -> Built:
    spec = validate(raw_stack(name))
    return spec, runtime.plan(spec, preview=preview)


def run_check(spec: Spec, capture: Capture, *policy_config: dict[str, Any]) -> list[Violation]:
    """The pack on a capture with the stack's own config, as the engine hands it over, and
    no policy config unless given."""
    return runner.check(capture, list(policy_config), stack_config_of(spec))


def changed(
    capture: Capture,
    type_: str,
    edit: Callable[[Props], None] | None = None,
    *,
    name: str | None = None,
    protect: bool | None = None,
) -> Capture:
    """A copy of ``capture`` with matching resources' inputs and outputs edited."""
    out = dataclasses.replace(capture, resources=[], outputs=dict(capture.outputs))
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
    base: str, preview: bool = False, *, skip_version_validation: bool = False, **changes: Any
) -> Built:
    raw = with_changes(raw_stack(base), **changes)
    spec = validate(raw, skip_version_validation=skip_version_validation)
    return spec, runtime.plan(spec, preview=preview)


def planned_rulebase(base: str, edit: Callable[[Rulebase], Rulebase], preview: bool) -> Built:
    """The example's program with ``edit`` applied to its compiled rulebase: what a program
    giving DcfRulebase that rulebase declares (its output, groups and rulesets agree)."""
    spec = validate(raw_stack(base))
    with mock.patch.object(infra_stack, "compile_rulebase", lambda s: edit(compile_rulebase(s))):
        return spec, runtime.plan(spec, preview=preview)


RULESET = "aviatrix:index/dcfRuleset:DcfRuleset"
WEB_GROUP = "aviatrix:index/webGroup:WebGroup"
HELM = "kubernetes:helm.sh/v3:Release"
FIREWALL_POLICY = "kubernetes:networking.aviatrix.com/v1alpha1:FirewallPolicy"
OBOT_CATALOG = "pulumi-python:dynamic/obot:CatalogSource"


def _rules(point: str, edit: Callable[[list[Props]], None]) -> Callable[[Props], None]:
    """Edit the rules of the ruleset at ``point`` (``before-ui``, ``after-ui``)."""

    def apply(props: Props) -> None:
        if props["name"].endswith(f"-{point}-rules"):
            edit(props["rules"])

    return apply


def _rule_edit(name: str, **changes: Any) -> Callable[[Rulebase], Rulebase]:
    def edit(rulebase: Rulebase) -> Rulebase:
        rules = tuple(
            dataclasses.replace(r, **changes) if r.name == name else r for r in rulebase.rules
        )
        return dataclasses.replace(rulebase, rules=rules)

    return edit


# --- the fixtures: (policy, level, what must appear in the message, how to build) ------------


def _lock_mismatch(preview: bool) -> Built:
    spec, capture = example("foundry-prod")
    locked = build_lock(spec, capture.outputs)
    moved = with_changes(raw_stack("foundry-prod"), network__agentSubnet="10.40.4.0/24")
    moved["lock"] = locked.model_dump(by_alias=True, exclude_none=True, mode="json")
    spec = validate(moved)
    return spec, runtime.plan(spec, preview=preview)


def _threat_after_permit(preview: bool) -> Built:
    def late(rulebase: Rulebase) -> Rulebase:
        # Threat intel swapped with the last rule before the Kubernetes band: a permit now
        # runs before it.
        before = [r for r in rulebase.rules if r.layer is Layer.BEFORE_UI]
        first, last = before[0], before[-1]
        swapped = {
            first.name: dataclasses.replace(last, priority=first.priority),
            last.name: dataclasses.replace(first, priority=last.priority),
        }
        rules = tuple(swapped.get(r.name, r) for r in rulebase.rules)
        return dataclasses.replace(rulebase, rules=rules)

    return planned_rulebase("foundry-prod", late, preview)


def _old_controller(preview: bool) -> Built:
    # Validation refuses Foundry on 8.1, and a Kubernetes stack on 8.1 compiles no decryption
    # setting; a program that declares one anyway for an 8.1 controller is caught here.
    def decrypting(rulebase: Rulebase) -> Rulebase:
        return _rule_edit(names.ALLOW_CLUSTER_INFRA, decrypt_policy=Decrypt.NOT_ALLOWED)(rulebase)

    spec = validate(
        with_changes(raw_stack("obot-eks"), controller__version="8.1.4"),
        skip_version_validation=True,
    )
    with mock.patch.object(
        infra_stack, "compile_rulebase", lambda s: decrypting(compile_rulebase(s))
    ):
        return spec, runtime.plan(spec, preview=preview)


def _unlogged(preview: bool) -> Built:
    return planned_rulebase(
        "foundry-prod", _rule_edit(names.DEFAULT_DENY_INTERNET, logging=False), preview
    )


def _prod_monitor(preview: bool) -> Built:
    return planned_spec(
        "foundry-prod", preview, egress__ruleModes={"default-deny-internet": "monitor"}
    )


def _permit_all_web(preview: bool) -> Built:
    def demo_rule(rulebase: Rulebase) -> Rulebase:
        # The blueprint's demo rule: every web destination on 80/443, before the internet deny.
        deny = rulebase.rule(names.DEFAULT_DENY_INTERNET)
        web = Rule(
            name="allow-all-web",
            priority=deny.priority,
            layer=deny.layer,
            action=Action.PERMIT,
            src=deny.src,
            dst=(names.PUBLIC_INTERNET,),
            protocol=Protocol.TCP,
            ports=(PortRange(80, 80), PortRange(443, 443)),
        )
        rules: list[Rule] = []
        for r in rulebase.rules:
            if r.name == deny.name:
                rules.append(web)
            later = r.layer is deny.layer and r.priority >= deny.priority
            rules.append(dataclasses.replace(r, priority=r.priority + 1) if later else r)
        return dataclasses.replace(rulebase, rules=tuple(rules))

    return planned_rulebase("foundry-prod", demo_rule, preview)


def _ruleset_unlike_its_rulebase(preview: bool) -> Built:
    # A transformation (or hand edit) turns logging off in the ruleset only.
    spec, c = example("foundry-prod", preview)

    def quiet(rules: list[Props]) -> None:
        rules[0]["logging"] = False

    return spec, changed(c, RULESET, _rules("after-ui", quiet))


def _unpinned_chart(preview: bool) -> Built:
    spec, c = example("obot-aks", preview)
    return spec, changed(c, HELM, lambda p: p.update(version="^10.1"), name="k8s-firewall")


def _obot_default_allow(preview: bool) -> Built:
    return planned_spec("obot-aks", preview, kubernetes__obot__defaultDenyAllEgress=False)


def _policy_ending_in_permit(preview: bool) -> Built:
    # A self-managed workload's declared policy, edited to end with its permit.
    spec, c = example("obot-eks", preview)

    def no_deny(props: Props) -> None:
        if props["metadata"]["name"] == "internal-search-egress":
            props["spec"]["rules"] = props["spec"]["rules"][:-1]

    return spec, changed(c, FIREWALL_POLICY, no_deny)


def _route_to_internet(preview: bool) -> Built:
    spec, c = example("foundry-prod", preview)

    def direct(props: Props) -> None:
        props["routes"] = [
            {"name": "direct", "addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"}
        ]

    return spec, changed(c, "azure-native:network:RouteTable", direct)


def _unprotected_subnet(preview: bool) -> Built:
    spec, c = example("obot-aks", preview)  # production: protected unless configured otherwise
    return spec, changed(c, "azure-native:network:Subnet", name="agents", protect=False)


def _storage_without_endpoint(preview: bool) -> Built:
    spec, c = example("foundry-prod", preview)
    kept = [r for r in c.resources if "foundry-private-endpoints-storage" not in r.name]
    assert len(kept) == len(c.resources) - 2  # the endpoint and its DNS zone group
    return spec, dataclasses.replace(c, resources=kept, outputs=dict(c.outputs))


def _decrypt_without_ca(preview: bool) -> Built:
    return planned_spec("foundry-prod", preview, foundry__decryptionCa=None)


FAILING: dict[str, tuple[Level, str, Build]] = {
    # Builds are cached (captures are never mutated): the engine tests run them again.
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
        lambda preview: example("foundry-dev", preview),
    ),
    "dcf-containment-breadth": (Level.MANDATORY, "allow-all-web", _permit_all_web),
    "dcf-rulesets-match-rulebase": (Level.MANDATORY, "logging", _ruleset_unlike_its_rulebase),
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


FAILING = {p: (level, reason, cache(build)) for p, (level, reason, build) in FAILING.items()}


def test_every_policy_has_a_failing_fixture() -> None:
    assert set(FAILING) == {p.name for p in POLICIES}


@pytest.mark.parametrize("policy", sorted(FAILING))
def test_policy_fails_its_fixture_for_the_stated_reason(policy: str) -> None:
    level, reason, build = FAILING[policy]
    hits = fired(run_check(*build(False)), policy)
    assert hits, f"{policy} did not fire"
    assert all(v.level is level for v in hits)
    assert any(reason in v.message for v in hits), [v.message for v in hits]
    assert all(v.resource and v.resource.startswith("urn:pulumi:") for v in hits)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
@pytest.mark.parametrize("preview", [False, True], ids=["update", "first-preview"])
def test_examples_pass_every_mandatory_policy(stack: str, preview: bool) -> None:
    violations = run_check(*example(stack, preview))
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
        fired_somewhere |= {v.policy for v in run_check(*build(False))}
    assert fired_somewhere == {p.name for p in POLICIES}


def test_teardown_acknowledgement_lets_a_locked_change_through() -> None:
    spec, _ = _lock_mismatch(False)
    raw = with_changes(raw_stack("foundry-prod"), network__agentSubnet="10.40.4.0/24")
    assert spec.lock is not None
    raw["lock"] = {
        **spec.lock.model_dump(by_alias=True, exclude_none=True, mode="json"),
        "teardownAcknowledged": "CHG-1234: move agents to a larger subnet",
    }
    acked = validate(raw)
    assert not fired(run_check(acked, runtime.plan(acked)), "subnet-immutability")


def _locked_foundry_prod() -> Spec:
    spec, capture = example("foundry-prod")
    raw = raw_stack("foundry-prod")
    raw["lock"] = build_lock(spec, capture.outputs).model_dump(
        by_alias=True, exclude_none=True, mode="json"
    )
    return validate(raw)


def test_a_matching_lock_passes_and_names_nothing() -> None:
    locked = _locked_foundry_prod()
    assert not fired(run_check(locked, runtime.plan(locked)), "subnet-immutability")


def test_a_locked_value_unknown_at_preview_is_a_change() -> None:
    # The gateway and subnet ids are unknown when the preview creates (or replaces) them: the
    # lock cannot hold, and the policy says so rather than skipping.
    locked = _locked_foundry_prod()
    hits = fired(run_check(locked, runtime.plan(locked, preview=True)), "subnet-immutability")
    assert hits and all(v.level is Level.MANDATORY for v in hits)
    assert all("not known until apply" in v.message for v in hits), [v.message for v in hits]
    assert {"agent subnet id", "gateway private IP"} <= {v.message.split(" is ")[0] for v in hits}


def test_policy_config_file_can_lower_a_mandatory_policy() -> None:
    spec, capture = _unpinned_chart(False)
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
    planned = planned_policies(Resource(source.type, source.name, source.urn, source.outputs))
    read = [rule.name for _, obj in planned for rule in band.to_rules(obj).rules]
    assert read == [r.name for r in compile_rulebase(spec).layer(Layer.KUBERNETES)]


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


# --- stack facts: the stack's own config, policy config overrides --------------------------


def test_policy_config_overrides_the_stacks_facts() -> None:
    spec, capture = _old_controller(False)
    assert fired(run_check(spec, capture), "dcf-decryption-scope")
    newer = {"dcf-decryption-scope": {"controllerVersion": "8.2.1"}}
    assert not fired(run_check(spec, capture, newer), "dcf-decryption-scope")
    spec, capture = _prod_monitor(False)
    staging = {"dcf-default-deny-enforced-in-production": {"production": False}}
    assert not fired(run_check(spec, capture, staging), "dcf-default-deny-enforced-in-production")


def test_without_stack_config_the_rulebase_declares_its_own_facts() -> None:
    # A program that composes the components with its own config: no mcp-containment: keys.
    _, capture = _old_controller(False)
    hits = fired(runner.check(capture, [], {}), "dcf-decryption-scope")
    assert any("8.1" in v.message for v in hits), [v.message for v in hits]


def test_an_invalid_stack_config_is_reported_not_ignored() -> None:
    spec, capture = example("foundry-prod")
    broken = {**stack_config_of(spec), "mcp-containment:cloud": "gcp"}
    hits = [v for v in runner.check(capture, [], broken) if "cannot decide" in v.message]
    assert {v.policy for v in hits} >= {"subnet-immutability", "dcf-rule-ordering"}
    levels = {p.name: p.level for p in POLICIES}
    assert all("cloud" in v.message and v.level is levels[v.policy] for v in hits)
    # Only the resources a fact is read for: the agent subnet, the route table, Foundry.
    assert len(fired(hits, "subnet-immutability")) == 4
    facts = {"all": {}, "subnet-immutability": {"lock": {}}}
    assert not fired(runner.check(capture, [facts], broken), "subnet-immutability")
