"""One controller, many stacks: the controller section's validation, the example stacks planned
as if they all shared one controller, and the modelled order agreed on by the compiler, the
simulator, the analysis and the policy pack."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from typer.testing import CliRunner

from mcp_containment.cli import app
from mcp_containment.compile import firewallpolicy
from mcp_containment.compile.controller import check_shared_controller, controller_names
from mcp_containment.compile.flows import simulate
from mcp_containment.compile.ruleset import compile_rulebase
from mcp_containment.config.load import load_file
from mcp_containment.config.schema import McpServer, Spec
from mcp_containment.config.validate import issues_of, validate
from mcp_containment.core import names
from mcp_containment.core.analysis import Code, analyze
from mcp_containment.core.model import Layer, Rulebase
from mcp_containment.crossguard import readback
from mcp_containment.crossguard.checks import dcf
from mcp_containment.crossguard.policy_config import stack_facts
from mcp_containment.crossguard.resources import Resource
from mcp_containment.infra import stack as infra_stack
from mcp_containment.offline import runner, runtime
from mcp_containment.offline.runtime import Capture

from .helpers import EXAMPLE_STACKS, STACKS_DIR, raw_stack, with_changes

GROUP = "aviatrix:index/dcfPolicyGroup:DcfPolicyGroup"
RULESET = "aviatrix:index/dcfRuleset:DcfRuleset"
GET_POINT = "aviatrix:index/getDcfAttachmentPoint:getDcfAttachmentPoint"
ORDERING = "dcf-rule-ordering"
MATCH = "dcf-rulesets-match-rulebase"


def issues(raw: dict[str, Any], **kw: Any) -> dict[str, str]:
    return {i.path: i.message for i in issues_of(raw, **kw)}


# --- the controller section -----------------------------------------------------------------------


def test_a_controller_the_pinned_provider_refuses_is_refused_with_the_way_out() -> None:
    raw = with_changes(raw_stack("foundry-dev"), controller__version="9.0.1")
    message = issues(raw)["controller.version"]
    assert "9.0.1" in message and "provider 8.2.20" in message and "8.2.x" in message
    assert "aviatrix:skipVersionValidation: true" in message
    assert issues(raw, skip_version_validation=True) == {}
    # Patch levels do not matter: the provider compares major.minor.
    assert issues(with_changes(raw_stack("foundry-dev"), controller__version="8.2.31")) == {}


def test_skip_version_validation_is_read_from_the_stack_file(tmp_path: Path) -> None:
    # A Kubernetes stack: Foundry needs 8.2 whatever the provider's check says.
    doc = yaml.safe_load((STACKS_DIR / "Pulumi.obot-eks.yaml").read_text())
    doc["config"]["mcp-containment:controller"]["version"] = "8.1.4"
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ValueError, match=r"controller\.version"):
        load_file(path)
    doc["config"]["aviatrix:skipVersionValidation"] = True
    path.write_text(yaml.safe_dump(doc))
    assert load_file(path).controller.version == "8.1.4"


def test_a_prefix_over_the_name_limit_is_refused() -> None:
    limit = names.max_prefix_length()
    ok = "p" * limit
    assert issues(with_changes(raw_stack("foundry-dev"), controller__namePrefix=ok)) == {}
    long = with_changes(raw_stack("foundry-dev"), controller__namePrefix=ok + "x")
    message = issues(long)["controller.namePrefix"]
    assert f"at most {limit}" in message and str(names.NAME_LIMIT) in message
    # Without a prefix the environment is the prefix, and is named as such.
    env = with_changes(raw_stack("foundry-dev"), environment="e" * (limit + 1))
    assert "used as controller.namePrefix" in issues(env)["environment"]
    # The longest name the library derives, from the longest allowed prefix, fits.
    longest = max(len(f"{ok}-{role}") for role in names.derived_roles())
    assert longest == names.NAME_LIMIT


def test_the_owners_list_of_stacks_is_checked() -> None:
    raw = raw_stack("foundry-prod")
    raw["controller"]["sharedWith"] = ["dev", "prod-aks", "dev", "prod"]
    found = issues(raw)
    assert "listed twice" in found["controller.sharedWith[2]"]
    assert "controller.sharedWith[2]" in found and "controller.sharedWith[1]" not in found
    assert "this stack's own prefix" in found["controller.sharedWith[3]"]
    too_long = raw_stack("foundry-prod")
    too_long["controller"]["sharedWith"] = ["x" * 40]
    assert "at most" in issues(too_long)["controller.sharedWith[0]"]
    not_owner = with_changes(raw_stack("foundry-dev"), controller__sharedWith=["x"])
    assert (
        "only the stack with controller.ownsControllerWide"
        in issues(not_owner)["controller.sharedWith"]
    )


def test_a_stack_names_only_its_own_attachment_points() -> None:
    point_id = str(uuid.uuid4())
    raw = raw_stack("obot-aks")
    raw["controller"]["attachmentPoints"] = {
        "prod-aks-before-ui": point_id,
        "dev-before-ui": point_id,
        "TERRAFORM_BEFORE_UI_MANAGED": point_id,
        "prod-aks-after-k8s": point_id,
        "prod-aks-after-ui": "not-a-uuid",
    }
    found = issues(raw)
    assert "prod-aks-before-ui" not in str(list(found))
    for other in ("dev-before-ui", "TERRAFORM_BEFORE_UI_MANAGED", "prod-aks-after-k8s"):
        message = found[f"controller.attachmentPoints.{other}"]
        assert "does not attach to" in message and "prod-aks-after-ui" in message
    assert "not an attachment point id" in found["controller.attachmentPoints.prod-aks-after-ui"]
    # The owner attaches its tree to the controller's points, and may give their ids.
    owner = raw_stack("foundry-prod")
    owner["controller"]["attachmentPoints"] = {"TERRAFORM_AFTER_UI_MANAGED": point_id}
    assert issues(owner) == {}


def test_rule_modes_name_only_rules_the_stack_gets() -> None:
    # Pods on the node subnet and no point after the band: there is no default deny to tune.
    shared = with_changes(
        raw_stack("obot-aks"),
        network__podSubnet=None,
        egress__ruleModes={"default-deny-internet": "monitor"},
    )
    assert (
        "no rule named 'default-deny-internet'"
        in issues(shared)["egress.ruleModes.default-deny-internet"]
    )
    assert issues(with_changes(shared, controller__afterKubernetesPoint=True)) == {}


# --- every example stack on one controller --------------------------------------------------------


def controller_ip(stack: str) -> str:
    doc = yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())
    return str(doc["config"]["aviatrix:controllerIp"])


@cache
def spec_of(stack: str) -> Spec:
    return validate(raw_stack(stack))


@cache
def planned(stack: str) -> Capture:
    return runtime.plan(spec_of(stack))


def test_the_examples_share_one_controller_and_pass_its_check() -> None:
    assert len({controller_ip(s) for s in EXAMPLE_STACKS}) == 1
    assert check_shared_controller({s: spec_of(s) for s in EXAMPLE_STACKS}) == []


def test_the_examples_declare_disjoint_controller_scope_names() -> None:
    declared: dict[str, str] = {}
    for stack in EXAMPLE_STACKS:
        capture = planned(stack)
        planned_names = [
            str(r.inputs["name"])
            for r in capture.resources
            if r.type.startswith("aviatrix:index/") and "name" in r.inputs
        ]
        planned_names += [
            str(r.inputs["gwName"]) for r in capture.resources if "gwName" in r.inputs
        ]
        assert sorted(planned_names) == sorted(
            d.name for d in controller_names(spec_of(stack)) if d.kind != "attachment point"
        )
        for name in planned_names:
            assert name not in declared, (name, stack, declared.get(name))
            declared[name] = stack
            assert len(name) <= names.NAME_LIMIT


def _point_names(captures: dict[str, Capture]) -> dict[str, str]:
    """Attachment point id -> name, from what the mocked lookups were asked."""
    return {
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"attachment-point/{i.args['name']}")): i.args["name"]
        for c in captures.values()
        for i in c.invokes
        if i.token == GET_POINT
    }


def test_every_attachment_point_holds_one_object_whatever_the_deploy_order() -> None:
    """Occupancy follows from the declarations alone: each point is named after one stack,
    and only that stack attaches to it. A stack deployed before the owner's tree finds no
    point of its own and attaches nothing; it never falls back to a shared point."""
    captures = {s: planned(s) for s in EXAMPLE_STACKS}
    point_name = _point_names(captures)
    occupants: dict[str, list[str]] = {}
    created: set[str] = set()
    for stack, c in captures.items():
        for r in c.of_type(GROUP):
            occupants.setdefault(point_name[r.inputs["attachTo"]], []).append(stack)
            created |= {p["name"] for p in r.inputs["attachmentPoints"]}
        for r in c.of_type(RULESET):
            occupants.setdefault(point_name[r.inputs["attachTo"]], []).append(stack)
    assert all(len(o) == 1 for o in occupants.values()), occupants
    # The controller's own points hold the owner's tree, nothing else.
    assert occupants["TERRAFORM_BEFORE_UI_MANAGED"] == ["foundry-prod"]
    assert occupants["TERRAFORM_AFTER_UI_MANAGED"] == ["foundry-prod"]
    # Every ruleset's point is one the owner's tree creates, named after that stack.
    for point, (stack,) in occupants.items():
        if not point.startswith("TERRAFORM_"):
            assert point in created
            assert point.startswith(f"{spec_of(stack).name_prefix}-")


def test_the_shared_controller_check_refuses_what_would_collide() -> None:
    specs = {s: spec_of(s) for s in EXAMPLE_STACKS}
    # obot-aks without its own prefix: the same prefix, points and names as foundry-prod.
    same = dict(specs)
    same["obot-aks"] = validate(with_changes(raw_stack("obot-aks"), controller__namePrefix=None))
    collided = [i.message for i in check_shared_controller(same)]
    assert any("'prod' is also the prefix of foundry-prod" in m for m in collided)
    assert any(
        "ruleset 'prod-before-ui-rules' is also declared by foundry-prod" in m for m in collided
    )
    owner = with_changes(raw_stack("foundry-prod"), controller__sharedWith=["prod-aks", "dev"])
    unlisted = dict(specs, **{"foundry-prod": validate(owner)})
    found = {i.path: i.message for i in check_shared_controller(unlisted)}
    assert "'staging' (obot-eks)" in found["foundry-prod:controller.sharedWith"]
    two = dict(specs)
    two["foundry-dev"] = validate(
        with_changes(raw_stack("foundry-dev"), controller__ownsControllerWide=True)
    )
    found = {i.path: i.message for i in check_shared_controller(two)}
    assert (
        "owns the controller-wide objects already"
        in found["foundry-prod:controller.ownsControllerWide"]
    )
    k8s_point = validate(with_changes(raw_stack("obot-eks"), controller__afterKubernetesPoint=True))
    found = {i.path for i in check_shared_controller(dict(specs, **{"obot-eks": k8s_point}))}
    assert "obot-eks:controller.afterKubernetesPoint" in found


# --- one order: compiler, simulator, analysis, policy pack ----------------------------------------


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_pack_reads_back_the_compiled_order(stack: str) -> None:
    """The rulebase the pack judges (the one DcfRulebase registers) is the compiled one, in
    the compiled order, and each ruleset read back holds that layer's rules in that order."""
    spec = spec_of(stack)
    compiled = compile_rulebase(spec)
    resources = [Resource(r.type, r.name, r.urn, r.outputs) for r in planned(stack).resources]
    ((_, declared),) = dcf.rulebase_components(resources)
    assert [(r.name, r.layer, r.priority) for r in declared.rules] == [
        (r.name, r.layer, r.priority) for r in compiled.rules
    ]
    rulesets = [r for r in resources if r.type == RULESET]
    assert rulesets
    for rs in rulesets:
        layer = readback.ruleset_layer(rs)
        read = [r.name for r in readback.ruleset_rules(rs, {})]
        assert read == [r.name for r in compiled.rules if r.layer is layer]


def _variants() -> list[tuple[str, Spec]]:
    """The Kubernetes examples, and each with pods on the node subnet and with the
    controller's point after the band."""
    out = []
    for stack in ("obot-aks", "obot-eks"):
        out.append((stack, spec_of(stack)))
        out.append(
            (
                f"{stack}+after-k8s",
                validate(with_changes(raw_stack(stack), controller__afterKubernetesPoint=True)),
            )
        )
    shared = with_changes(raw_stack("obot-aks"), network__podSubnet=None)
    out.append(("obot-aks-shared-subnet", validate(shared)))
    return out


def _server_permit_reachable(rulebase: Rulebase, server: str) -> bool:
    """What the analysis claims: no finding says a rule before the band decides a flow the
    server's permit allows."""
    for f in analyze(rulebase):
        if f.code is Code.SHADOWS_SERVER_PERMIT and server in f.message:
            return False
        if f.code is Code.DEFAULT_DENY_BEFORE_KUBERNETES:
            return False
        if (
            f.code is Code.SHADOWED
            and f.rule
            and f.rule.endswith(f"/obot-{server}-fw:allow-approved-egress")
        ):
            return False
    return True


@pytest.mark.parametrize(
    ("label", "spec"), _variants(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_simulation_and_analysis_agree_on_the_band(label: str, spec: Spec) -> None:
    rulebase = compile_rulebase(spec)
    namespace = spec.kubernetes.obot.mcp_namespace
    for under_test, expected in ((rulebase, True), (_deny_pods_before_band(rulebase, spec), False)):
        for server in spec.mcp_servers:
            domains = _permitted_domains(spec, server)
            if not domains or domains == ("*",):
                continue
            host = domains[0].replace("*.", "x.", 1)  # a name the first entry matches
            v = simulate(spec, f"pod:{namespace}/{server.name}", host, rulebase=under_test)
            permitted = (
                v.rule is not None
                and v.rule.layer is Layer.KUBERNETES
                and v.verdict.value == "PERMIT"
            )
            claimed = _server_permit_reachable(under_test, server.name)
            assert permitted == claimed == expected, (label, server.name, v.rule)
        # A threat-listed destination is denied before the band, as the analysis requires.
        v = simulate(
            spec, f"pod:{namespace}/{spec.mcp_servers[0].name}", "attacker.io", rulebase=under_test
        )
        assert (v.verdict.value, v.rule.name if v.rule else None) == ("DENY", "deny-threat-intel")


def _permitted_domains(spec: Spec, server: McpServer) -> tuple[str, ...]:
    """The domains the controller's policy for ``server`` permits (none for a remote server)."""
    obj = firewallpolicy.planned(spec, server)
    groups = (obj or {}).get("spec", {}).get("webGroups") or []
    return tuple(groups[0]["domains"]) if groups else ()


def _deny_pods_before_band(rulebase: Rulebase, spec: Spec) -> Rulebase:
    """The mistake the issue describes: the default deny at after-ui covering the pods."""
    pods = [g.name for g in rulebase.smart_groups if g.name.endswith("-cluster-pods")]
    nodes = names.qualified(spec.name_prefix, names.CLUSTER_NODES)
    deny = next((r for r in rulebase.rules if r.name == names.DEFAULT_DENY_INTERNET), None)
    if deny is None:
        base = next(r for r in rulebase.rules if r.name == names.DENY_THREAT_INTEL)
        deny = replace(
            base, name=names.DEFAULT_DENY_INTERNET, dst=("Public Internet",), priority=50
        )
    moved = replace(deny, layer=Layer.AFTER_UI, src=(nodes, *pods))
    rules = [r for r in rulebase.rules if r.name != deny.name] + [moved]
    return replace(rulebase, rules=tuple(sorted(rules, key=lambda r: r.layer)))


def test_the_pack_refuses_a_default_deny_that_reaches_pods_before_the_band() -> None:
    spec, capture = spec_of("obot-aks"), planned("obot-aks")
    pods = next(r for r in capture.resources if r.inputs.get("name") == "prod-aks-cluster-pods")
    assert not [v for v in runner.check(capture, [stack_facts(spec)]) if v.policy == ORDERING]

    # Declared so by the rulebase: the ordering gate refuses it.
    def widened(rulebase: Rulebase) -> Rulebase:
        rules = tuple(
            replace(r, src=(*r.src, "prod-aks-cluster-pods"))
            if r.name == names.DEFAULT_DENY_INTERNET
            else r
            for r in rulebase.rules
        )
        return replace(rulebase, rules=rules)

    with mock.patch.object(infra_stack, "compile_rulebase", lambda s: widened(compile_rulebase(s))):
        declared = runtime.plan(spec)
    found = [v.message for v in runner.check(declared, [stack_facts(spec)]) if v.policy == ORDERING]
    assert any("may precede the Kubernetes band (after-ui)" in m for m in found)

    # Written into the ruleset behind the declaration's back: the rulesets no longer match it.
    def widen(props: dict[str, Any]) -> None:
        for rule in props["rules"]:
            if rule["name"] == names.DEFAULT_DENY_INTERNET:
                rule["srcSmartGroups"] = [*rule["srcSmartGroups"], pods.outputs["uuid"]]

    edited = Capture(outputs=capture.outputs, invokes=capture.invokes)
    for r in capture.resources:
        if r.type == RULESET and r.inputs["name"] == "prod-aks-after-ui-rules":
            inputs, outputs = copy.deepcopy(r.inputs), copy.deepcopy(r.outputs)
            widen(inputs)
            widen(outputs)
            edited.resources.append(replace(r, inputs=inputs, outputs=outputs))
        else:
            edited.resources.append(r)
    mismatch = [v for v in runner.check(edited, [stack_facts(spec)]) if v.policy == MATCH]
    assert mismatch and all(v.level.value == "mandatory" for v in mismatch)


def test_the_controller_command_checks_a_stacks_directory(tmp_path: Path) -> None:
    cli = CliRunner()
    ok = cli.invoke(app, ["controller", "--stacks-dir", str(STACKS_DIR), "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["controllers"] == {"10.1.0.10": sorted(EXAMPLE_STACKS)}
    for path in STACKS_DIR.glob("Pulumi.*.yaml"):
        text = path.read_text()
        (tmp_path / path.name).write_text(text.replace("    namePrefix: prod-aks\n", ""))
    bad = cli.invoke(app, ["controller", "--stacks-dir", str(tmp_path), "--json"])
    assert bad.exit_code == 2
    paths = {e["path"] for e in json.loads(bad.stdout)["errors"]}
    assert paths == {"obot-aks:controller.namePrefix"}
