"""Golden tests: the network-policy controller's translation, byte for byte.

Vectors: ``fixtures/obot/npc_translate_vectors.json``, every test of
obot-platform/aviatrix-network-policy-controller v0.0.1 (8bec1272)
``pkg/translate/translate_test.go`` and ``pkg/controller/handler_test.go`` as data. Each vector
carries what the upstream test asserts (``asserted``) and the whole object its code produces
(``expected``, and ``expectedGoJSON`` as Go's encoding/json writes it). The watcher tests
(``firewallpolicy_watcher.go``: which MCPNetworkPolicy a FirewallPolicy event re-queues) and
nah's prune are controller mechanics with no translation in them; they are not ported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcp_containment.core import npc
from mcp_containment.core.obot import NetworkPolicy, network_policy

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "fixtures" / "obot" / "npc_translate_vectors.json").read_text()
)
TRANSLATE = [v for v in VECTORS if v["kind"] == "translate" and v["expectedError"] is None]
REFUSED = [v for v in VECTORS if v["kind"] == "translate" and v["expectedError"] is not None]
HANDLER = [v for v in VECTORS if v["kind"] == "handler"]


def _translate(vector: dict[str, Any]) -> dict[str, Any]:
    policy = NetworkPolicy.from_object(vector["input"]["policy"])
    return npc.to_firewall_policy(policy, vector["input"]["runtimeNamespace"])


def _at(obj: Any, path: str) -> Any:
    """``spec.rules[0].selector.matchLabels`` -> the value, as the Go test reads it."""
    for part in path.replace("]", "").replace("[", ".").split("."):
        obj = obj[int(part)] if part.isdigit() else obj[part]
    return obj


@pytest.mark.parametrize("vector", TRANSLATE, ids=[v["name"] for v in TRANSLATE])
def test_translation_is_byte_for_byte_the_controllers(vector: dict[str, Any]) -> None:
    obj = _translate(vector)
    assert npc.go_json(obj) == vector["expectedGoJSON"]
    assert obj == vector["expected"]  # by content, as a cluster returns it (keys sorted)


@pytest.mark.parametrize("vector", TRANSLATE, ids=[v["name"] for v in TRANSLATE])
def test_what_the_upstream_test_asserts(vector: dict[str, Any]) -> None:
    obj = _translate(vector)
    for path, want in vector["asserted"].items():
        if path.startswith("len("):
            assert len(_at(obj, path[4:-1])) == want, path
        elif "omitted" in str(want):
            assert path.split(".")[-1] not in _at(obj, path.rsplit(".", 1)[0]), path
        else:
            assert _at(obj, path) == want, path


@pytest.mark.parametrize("vector", REFUSED, ids=[v["name"] for v in REFUSED])
def test_an_empty_pod_selector_is_refused(vector: dict[str, Any]) -> None:
    with pytest.raises(npc.TranslateError) as exc:
        _translate(vector)
    assert str(exc.value) == vector["expectedError"]


def _name_cases(function: str) -> list[dict[str, Any]]:
    (vector,) = [v for v in VECTORS if v["kind"] == "name" and v["function"].endswith(function)]
    cases: list[dict[str, Any]] = vector["cases"]
    return cases


@pytest.mark.parametrize("case", _name_cases("NameForMCPNetworkPolicy(policyName)"))
def test_firewall_policy_names(case: dict[str, Any]) -> None:
    assert npc.firewall_policy_name(case["input"]) == case["expected"]
    assert len(case["expected"]) <= 63


@pytest.mark.parametrize(
    "case", _name_cases("MCPNetworkPolicyNameFromFirewallPolicyName(firewallName)")
)
def test_policy_name_from_firewall_policy_name(case: dict[str, Any]) -> None:
    found = npc.policy_name_from_firewall_policy_name(case["input"])
    assert (found is not None) == case["expected"]["ok"]
    if case["expected"]["ok"]:
        assert found == case["expected"]["policyName"]


def _handler(name: str) -> dict[str, Any]:
    return next(v for v in HANDLER if v["name"].startswith(name))


def test_the_handler_writes_the_translation_with_nahs_apply_metadata() -> None:
    vector = _handler("handler creates")
    policy = NetworkPolicy.from_object(vector["input"]["policy"])
    written = npc.as_applied(npc.to_firewall_policy(policy, "obot-mcp"), policy)
    assert written == vector["expected"]["object"]
    assert npc.is_controller_written(written)
    assert npc.server_of(written) == "server-a"


def test_the_handler_lifecycle_keeps_one_object_and_follows_the_source() -> None:
    vector = _handler("handler lifecycle")
    for step in vector["steps"]:
        policy = NetworkPolicy.from_object(step["policy"])
        written = npc.as_applied(npc.to_firewall_policy(policy, "obot-mcp"), policy)
        assert written == step["expectedObject"]
        assert written["metadata"]["name"] == "obot-policy-a-fw"


def test_the_handler_refuses_an_empty_pod_selector() -> None:
    vector = _handler("handler rejects")
    with pytest.raises(npc.TranslateError):
        npc.to_firewall_policy(NetworkPolicy.from_object(vector["input"]["policy"]), "obot-mcp")


def test_hand_made_look_alikes_are_not_controller_written() -> None:
    policy = NetworkPolicy.from_object(_handler("handler creates")["input"]["policy"])
    bare = npc.to_firewall_policy(policy, "obot-mcp")  # the labels, but no nah apply
    assert not npc.is_controller_written(bare)
    forged = npc.as_applied(bare, policy)
    forged["metadata"]["labels"]["apply.acorn.io/hash"] = "0" * 40
    assert not npc.is_controller_written(forged)


def test_obot_writes_sorted_domains_and_its_deny_all_default() -> None:
    # obot ba10ff72 pkg/controller/handlers/mcpserver/mcpserver_test.go (~L1699-1848): the
    # policy Obot writes sorts domains, selects app=<server>, and omits remote servers.
    manifest = {
        "runtime": "npx",
        "npxConfig": {"package": "p", "egressDomains": ["api.example.com", "*.google.com"]},
    }
    policy = network_policy("ms1abcde", manifest, False, name="mnp1xyz12")
    assert policy is not None
    assert policy.egress_domains == ("*.google.com", "api.example.com")
    assert policy.pod_selector == (("app", "ms1abcde"),)
    bare = {"runtime": "uvx", "uvxConfig": {"package": "p"}}
    assert network_policy("s", bare, True, name="n").deny_all_egress is True  # type: ignore[union-attr]
    assert network_policy("s", bare, False, name="n").deny_all_egress is False  # type: ignore[union-attr]
    explicit = {"runtime": "uvx", "uvxConfig": {"package": "p", "denyAllEgress": False}}
    assert network_policy("s", explicit, True, name="n").deny_all_egress is False  # type: ignore[union-attr]
    remote = {"runtime": "remote", "remoteConfig": {"url": "https://x.example.com"}}
    assert network_policy("s", remote, True, name="n") is None
