"""The network lock: what a Foundry capability host is bound to, committed.

A capability host cannot be updated in place; a changed agent subnet, UDR or gateway IP means
a full Foundry teardown. CrossGuard never sees prior state, so the stack commits a lock, and the
``subnet-immutability`` policy compares every preview against it. ``containment lock`` writes
the lock into the stack file (comments preserved); values that only exist once deployed (the
subnet id, the gateway's private IP) come from ``pulumi stack output --json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ..core.model import DEFAULT_ROUTE
from .load import NAMESPACE
from .schema import Lock, LockedRoute, Routing, Spec


def build_lock(spec: Spec, outputs: Mapping[str, Any] | None = None) -> Lock:
    """The lock for ``spec``; ``outputs`` are the deployed stack's outputs, when known."""
    outputs = outputs or {}
    gateway_ip = outputs.get("gatewayPrivateIp")
    subnet_id = outputs.get("agentSubnetId")
    if spec.network.routing is Routing.UDR:
        route = LockedRoute(
            address_prefix=DEFAULT_ROUTE,
            next_hop_type="VirtualAppliance",
            next_hop_ip_address=gateway_ip,
        )
    else:
        route = LockedRoute(address_prefix=DEFAULT_ROUTE, next_hop_type="None")
    return Lock(
        agent_subnet_cidr=spec.network.agent_subnet,
        agent_subnet_id=subnet_id,
        routes=(route,) if spec.cloud.value == "azure" else (),
        gateway_private_ip=gateway_ip,
        capability_host_subnet=subnet_id if spec.foundry.enabled else None,
        # A new lock is a new baseline: an acknowledgement applied to the change it locks in.
        teardown_acknowledged=None,
    )


def lock_document(lock: Lock) -> dict[str, Any]:
    doc: dict[str, Any] = lock.model_dump(by_alias=True, exclude_none=True, mode="json")
    return doc


def read_outputs(path: Path) -> dict[str, Any]:
    """``pulumi stack output --json`` (secret outputs stay masked and are not used)."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected the JSON object `pulumi stack output --json` prints")
    return data


def write_lock(stack_file: Path, lock: Lock) -> None:
    """Set ``mcp-containment:lock`` in the stack file, keeping its comments and order."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    doc = yaml.load(stack_file.read_text())
    doc["config"][f"{NAMESPACE}lock"] = lock_document(lock)
    with stack_file.open("w") as fh:
        yaml.dump(doc, fh)
