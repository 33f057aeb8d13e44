"""Shared test helpers: example stacks as raw config, and mutation of raw config by key path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from mcp_containment.config.load import NAMESPACE, raw_from_stack_config
from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import Issue, issues_of
from mcp_containment.core.versions import provider_controller_release

ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = ROOT / "stacks"
EXAMPLE_STACKS = sorted(
    p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS_DIR.glob("Pulumi.*.yaml")
)
REPLAY_LOG = ROOT / "tests" / "fixtures" / "replay" / "foundry-dev-flows.jsonl"
VERIFY_FIXTURES = ROOT / "tests" / "fixtures" / "obot" / "verify"
# Every stack command, with the arguments it needs besides the stack.
STACK_COMMANDS: dict[str, list[str]] = {
    "validate": [],
    "plan": [],
    "check": [],
    "simulate": ["--src", "10.40.1.9", "--dst", "attacker.io"],
    "replay": [str(REPLAY_LOG)],
    "policy-config": [],
    "lock": [],
    "catalog": ["--out", "catalog-out"],
    "verify": [
        "--policies",
        str(VERIFY_FIXTURES / "firewallpolicies-drifted.json"),
        "--servers",
        str(VERIFY_FIXTURES / "servers-drifted.json"),
    ],
    "teardown": ["--sal-wait", "0"],
}


def raw_stack(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((STACKS_DIR / f"Pulumi.{name}.yaml").read_text())
    return raw_from_stack_config(doc["config"])


def stack_config_of(spec: Spec) -> dict[str, str]:
    """The stack's config as the engine hands it to a policy pack (``PULUMI_CONFIG``):
    ``namespace:key`` -> text, structured values as JSON, secrets decrypted."""
    doc = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    config = {f"{NAMESPACE}{k}": v if isinstance(v, str) else json.dumps(v) for k, v in doc.items()}
    # What a real stack of this spec carries besides: the AWS provider's region (it must be
    # network.region), and the provider check skipped for another controller release.
    if spec.cloud.value == "aws":
        config["aws:region"] = spec.network.region
    if spec.controller.version_tuple[:2] != provider_controller_release():
        config["aviatrix:skipVersionValidation"] = "true"
    # Credentials reach a pack decrypted: the pack must not mistake them for plain-text ones.
    return {
        **config,
        "aviatrix:password": "decrypted-by-the-engine",
        "obot:apiKey": "ok1-decrypted-by-the-engine",
    }


def with_changes(raw: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Copy ``raw`` and set dotted paths (``network__cidr`` for network.cidr); None deletes."""
    out = copy.deepcopy(raw)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return out


def paths(raw: dict[str, Any]) -> dict[str, str]:
    """Issue path -> message, for asserting which keys were named."""
    return {i.path: i.message for i in issues_of(raw)}


def only_issue(raw: dict[str, Any]) -> Issue:
    found = issues_of(raw)
    assert len(found) == 1, found
    return found[0]


def written(tmp_path: Path, data: bytes, name: str = "flows.log") -> Path:
    """``data`` as a file in ``tmp_path`` (a flow log, by default)."""
    path = tmp_path / name
    path.write_bytes(data)
    return path
