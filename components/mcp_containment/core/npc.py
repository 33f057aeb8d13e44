"""The Aviatrix network-policy controller's translation: Obot's MCPNetworkPolicy ->
FirewallPolicy, exactly as the controller writes it.

Restated from obot-platform/aviatrix-network-policy-controller v0.0.1 (8bec127)
``pkg/translate/translate.go`` and ``pkg/controller/handler.go``, with the metadata its nah
``apply`` adds (obot-platform/nah 3fc648d ``pkg/apply``). The controller's own tests are ported
as golden tests (``tests/test_npc.py``), byte for byte against Go's JSON encoding.

Dicts are built in the Go struct field order and map keys are sorted as Go sorts them, so
:func:`go_json` of a result is what the controller would marshal.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from . import names
from .band import API_VERSION, KIND, OBOT_SERVER_LABEL
from .model import DEFAULT_ROUTE
from .obot import STORAGE_NAMESPACE, NetworkPolicy, go_sorted, network_policy, safe_concat_name

MANAGED_BY_LABEL: Final = "obot.ai/managed-by"
MANAGED_BY: Final = "aviatrix-network-policy-controller"
POLICY_NAME_LABEL: Final = "obot.ai/mcp-network-policy-name"
SERVER_NAME_LABEL: Final = OBOT_SERVER_LABEL
POLICY_UID_ANNOTATION: Final = "obot.ai/mcp-network-policy-uid"
ANY_DESTINATION: Final = "any-destination"
ALLOW_ALL: Final = "*"

APPLY_HASH_LABEL: Final = "apply.acorn.io/hash"
OWNER_SUB_CONTEXT: Final = "apply.acorn.io/owner-sub-context"
APPLIED_ANNOTATION: Final = "apply.acorn.io/applied"
_SUB_CONTEXT_PREFIX: Final = "mcp-network-policy"


class TranslateError(ValueError):
    """The controller refuses the policy (and writes nothing)."""


_INVALID = re.compile(r"[^a-z0-9-]+")


def sanitize_name(name: str) -> str:
    """The controller's ``sanitizeName``: trim the dashes, then collapse the doubled ones."""
    name = _INVALID.sub("-", name.lower()).strip("-")
    while "--" in name:
        name = name.replace("--", "-")
    return name


def firewall_policy_name(policy_name: str) -> str:
    """``NameForMCPNetworkPolicy``: ``obot-<policy>-fw``, at most 63 bytes."""
    return safe_concat_name("obot", sanitize_name(policy_name), "fw")


def policy_name_from_firewall_policy_name(firewall_name: str) -> str | None:
    """``MCPNetworkPolicyNameFromFirewallPolicyName``: the policy name, when it round-trips."""
    rest = firewall_name.removeprefix("obot-")
    if rest == firewall_name or not rest.endswith("-fw"):
        return None
    rest = rest.removesuffix("-fw")
    if not rest or firewall_policy_name(rest) != firewall_name:
        return None
    return rest


def _labels(pod_selector: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(sorted(pod_selector))


def to_firewall_policy(policy: NetworkPolicy, runtime_namespace: str) -> dict[str, Any]:
    """``ToFirewallPolicy``: the object the controller writes into ``runtime_namespace`` (the
    MCP namespace, not the policy's). Domains are sorted, never de-duplicated; with none and
    deny-all off they are ``["*"]``; the deny rule always follows."""
    if not policy.pod_selector:
        raise TranslateError(
            f"mcpnetworkpolicy {policy.namespace}/{policy.name} has empty podSelector"
        )
    domains = list(policy.egress_domains)
    if not domains and not policy.deny_all_egress:
        domains = [ALLOW_ALL]
    domains = go_sorted(domains)
    server = policy.mcp_server_name
    spec: dict[str, Any] = {
        "smartGroups": [
            {
                "name": f"obot-{server}-pods",
                "selectors": [
                    {
                        "type": "k8s",
                        "k8sNamespace": runtime_namespace,
                        "tags": _labels(policy.pod_selector),
                    }
                ],
            },
            {"name": ANY_DESTINATION, "selectors": [{"cidr": DEFAULT_ROUTE}]},
        ]
    }
    rules: list[dict[str, Any]] = []
    if domains:
        web_group = f"obot-{server}-approved-domains"
        spec["webGroups"] = [{"name": web_group, "domains": domains}]
        rules.append(_rule(names.FP_ALLOW, "permit", policy, web_group))
    if policy.deny_all_egress or domains:
        rules.append(_rule(names.FP_DENY, "deny", policy, None))
    if rules:
        spec["rules"] = rules
    return {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": {
            "name": firewall_policy_name(policy.name),
            "namespace": runtime_namespace,
            "labels": {
                MANAGED_BY_LABEL: MANAGED_BY,
                POLICY_NAME_LABEL: policy.name,
                SERVER_NAME_LABEL: server,
            },
            "annotations": {POLICY_UID_ANNOTATION: policy.uid},
        },
        "spec": spec,
    }


def planned(
    key: str, entry: Mapping[str, Any], *, default_deny: bool, runtime_namespace: str
) -> dict[str, Any] | None:
    """The FirewallPolicy the controller will write for a server launched from catalog entry
    ``entry`` (None for remote entries, which run no pod). At launch Obot generates the
    server's name (``ms1...``) and its MCPNetworkPolicy's (``mnp1...``); until then the entry
    key stands in for both, so only those two names differ from the live object."""
    policy = network_policy(key, entry, default_deny, name=key)
    return to_firewall_policy(policy, runtime_namespace) if policy is not None else None


def _rule(name: str, action: str, policy: NetworkPolicy, web_group: str | None) -> dict[str, Any]:
    # Go field order of Rule: name, action, selector, destinationSmartGroups, webGroups,
    # protocol, port, logging (port and webGroups omitted when empty).
    rule: dict[str, Any] = {
        "name": name,
        "action": action,
        "selector": {"matchLabels": _labels(policy.pod_selector)},
        "destinationSmartGroups": [{"name": ANY_DESTINATION}],
    }
    if web_group is not None:
        rule["webGroups"] = [{"name": web_group}]
        rule["protocol"] = "tcp"
        rule["port"] = 443
    else:
        rule["protocol"] = "any"
    rule["logging"] = True
    return rule


def go_json(obj: Any) -> str:
    """Compact JSON as Go's ``encoding/json`` writes it (key order as given; ``<``, ``>``,
    ``&``, U+2028 and U+2029 escaped)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


# --- what nah apply adds (pkg/controller/handler.go + nah pkg/apply) ----------------------------


def owner_sub_context(policy_namespace: str, policy_name: str) -> str:
    return f"{_SUB_CONTEXT_PREFIX}/{policy_namespace}/{policy_name}"


def apply_hash(sub_context: str) -> str:
    """nah's object-set hash (sha1 of sub-context + owner gvk/name/namespace, all empty here):
    the label nah prunes by."""
    return hashlib.sha1(sub_context.encode()).hexdigest()


def as_applied(firewall_policy: Mapping[str, Any], policy: NetworkPolicy) -> dict[str, Any]:
    """The object as stored after the controller's ``apply``: the hash label and the
    sub-context annotation added (the gzip ``applied`` snapshot is left out)."""
    out = json.loads(json.dumps(firewall_policy))
    sub = owner_sub_context(policy.namespace, policy.name)
    meta = out["metadata"]
    meta["labels"] = dict(sorted({**meta["labels"], APPLY_HASH_LABEL: apply_hash(sub)}.items()))
    meta["annotations"] = dict(sorted({**meta["annotations"], OWNER_SUB_CONTEXT: sub}.items()))
    return dict(out)


def is_controller_written(obj: Mapping[str, Any]) -> bool:
    """Written by the controller: its labels, and an apply hash that matches the sub-context
    of the MCPNetworkPolicy it names (so nah owns and prunes it)."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    policy = labels.get(POLICY_NAME_LABEL)
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY or not labels.get(SERVER_NAME_LABEL):
        return False
    sub = owner_sub_context(STORAGE_NAMESPACE, str(policy))
    return (
        bool(policy)
        and annotations.get(OWNER_SUB_CONTEXT) == sub
        and labels.get(APPLY_HASH_LABEL) == apply_hash(sub)
    )


def server_of(obj: Mapping[str, Any]) -> str | None:
    """The Obot server a controller-written FirewallPolicy is for."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    value = labels.get(SERVER_NAME_LABEL)
    return str(value) if value else None
