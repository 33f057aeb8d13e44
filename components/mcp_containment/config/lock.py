"""The network lock: what a Foundry capability host is bound to, committed.

A capability host cannot be updated in place; a changed agent subnet, UDR or gateway IP means
a full Foundry teardown. CrossGuard never sees prior state, so the stack commits a lock, and the
``subnet-immutability`` policy compares every preview against it. ``containment lock`` writes
the lock into the stack file; values that only exist once deployed (the subnet id, the
gateway's private IP) come from ``pulumi stack output --json``.

Writing is conservative:

- the lock block is spliced into the file's text, so every byte outside it (comments, quoting,
  folding, CRLF line ends, key order, a byte-order mark) stays as it was;
- the new text is parsed and validated as a whole, and must read back the lock as built with
  every other key unchanged, before anything is written;
- values of an existing lock are never dropped silently: without ``--from-outputs`` they are
  carried over, and a new value that differs from a locked one is refused unless the lock
  records ``teardownAcknowledged``;
- the write is atomic (:func:`~mcp_containment.config.files.write_atomic`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..core.model import DEFAULT_ROUTE
from .files import read_text, write_atomic
from .load import NAMESPACE, config_of, parse_stack_text, validate_config
from .schema import Lock, LockedRoute, Routing, Spec, ipv4, resource_id
from .validate import Issue, SpecError

LOCK_KEY = f"{NAMESPACE}lock"
DEPLOYED_OUTPUTS = ("agentSubnetId", "haAgentSubnetId", "gatewayPrivateIp")
"""The stack outputs (see ``infra.stack.program``) a lock records."""
MASKED = "[secret]"
"""What `pulumi stack output --json` prints for a secret output without ``--show-secrets``."""
OUTPUTS_OPTION = "--from-outputs"


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
    ha = spec.network.ha_agent_subnet
    return Lock(
        agent_subnet_cidr=spec.network.agent_subnet,
        agent_subnet_id=subnet_id,
        ha_agent_subnet_cidr=ha,
        # Only while the stack declares it: an output left from before is no baseline.
        ha_agent_subnet_id=outputs.get("haAgentSubnetId") if ha is not None else None,
        routes=(route,) if spec.cloud.value == "azure" else (),
        gateway_private_ip=gateway_ip,
        capability_host_subnet=subnet_id if spec.foundry.enabled else None,
        # A new lock is a new baseline: an acknowledgement applied to the change it locks in.
        teardown_acknowledged=None,
    )


def lock_document(lock: Lock) -> dict[str, Any]:
    doc: dict[str, Any] = lock.model_dump(by_alias=True, exclude_none=True, mode="json")
    return doc


# --- deployed outputs -----------------------------------------------------------------------------


def read_outputs(path: Path) -> dict[str, Any]:
    """``pulumi stack output --json``, or SpecError naming the option and the file."""
    text = read_text(path, "outputs file")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SpecError([Issue(OUTPUTS_OPTION, f"{path}: not JSON ({exc})")]) from None
    if not isinstance(data, dict):
        raise SpecError(
            [
                Issue(
                    OUTPUTS_OPTION,
                    f"{path}: expected the JSON object `pulumi stack output --json` prints",
                )
            ]
        )
    return data


_OUTPUT_CHECKS = {
    "agentSubnetId": resource_id,
    "haAgentSubnetId": resource_id,
    "gatewayPrivateIp": ipv4,
}


def deployed_values(outputs: Mapping[str, Any]) -> dict[str, str]:
    """The outputs a lock records, each a plain string; masked secrets are refused, since a
    lock of ``[secret]`` would pass every comparison's type check and match nothing."""
    values: dict[str, str] = {}
    issues: list[Issue] = []
    for key in DEPLOYED_OUTPUTS:
        value = outputs.get(key)
        if value is None:
            continue
        if value == MASKED:
            issues.append(
                Issue(
                    OUTPUTS_OPTION,
                    f"{key} is masked ({MASKED!r}): export the outputs with "
                    "`pulumi stack output --json --show-secrets`, or leave the key out",
                )
            )
        elif not isinstance(value, str):
            issues.append(
                Issue(OUTPUTS_OPTION, f"{key}: expected a string, got {type(value).__name__}")
            )
        else:
            try:
                values[key] = _OUTPUT_CHECKS[key](value)
            except ValueError as exc:
                issues.append(Issue(OUTPUTS_OPTION, f"{key}: {exc}"))
    if issues:
        raise SpecError(issues)
    return values


# --- the new lock, against the one in the file ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockPlan:
    lock: Lock
    carried: tuple[str, ...] = ()
    """Deployed values kept from the existing lock (no output gave them)."""
    dropped: tuple[str, ...] = ()
    """Keys of the existing lock the new one no longer has (only after an acknowledgement)."""


_CARRIED = (
    ("agentSubnetId", "agent_subnet_id"),
    ("haAgentSubnetId", "ha_agent_subnet_id"),
    ("gatewayPrivateIp", "gateway_private_ip"),
)


def _unset(value: Any) -> bool:
    return value is None or value == []


def plan_lock(spec: Spec, deployed: Mapping[str, str]) -> LockPlan:
    """The lock to write. Without an acknowledgement in the existing lock, deployed values it
    holds are carried over and any locked value that would change is refused (SpecError)."""
    previous = spec.lock
    acknowledged = previous is not None and previous.teardown_acknowledged is not None
    known = dict(deployed)
    carried: list[str] = []
    if previous is not None and not acknowledged:
        for key, attr in _CARRIED:
            old = getattr(previous, attr)
            if key not in known and old is not None:
                known[key] = old
                carried.append(key)
    try:
        lock = build_lock(spec, known)
    except ValidationError as exc:
        raise SpecError(
            [
                Issue(OUTPUTS_OPTION, f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
                for e in exc.errors()
            ]
        ) from None
    if previous is None:
        return LockPlan(lock)
    old = lock_document(previous)
    old.pop("teardownAcknowledged", None)
    new = lock_document(lock)
    if acknowledged:
        dropped = tuple(k for k, v in old.items() if not _unset(v) and _unset(new.get(k)))
        return LockPlan(lock, dropped=dropped)
    changed = [k for k, v in old.items() if not _unset(v) and new.get(k) != v]
    if changed:
        raise SpecError([_locked_change(k, old[k], new.get(k)) for k in changed])
    return LockPlan(lock, carried=tuple(carried))


def _locked_change(key: str, old: Any, new: Any) -> Issue:
    now = "drops it" if _unset(new) else f"gives {json.dumps(new)}"
    return Issue(
        f"lock.{key}",
        f"is locked as {json.dumps(old)} and the stack now {now}: this change forces a Foundry "
        "teardown. Add lock.teardownAcknowledged (ticket, date), deploy, then lock again",
    )


# --- splicing the lock into the file's text -------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z0-9/][A-Za-z0-9._/-]*")


def _scalar(value: Any) -> str:
    """Plain when YAML reads it back as the same string; JSON (a YAML double-quoted scalar)
    otherwise, so ``no``, ``on`` or ``1e3`` never come back as booleans or numbers."""
    if isinstance(value, str) and _PLAIN.fullmatch(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _block(doc: Mapping[str, Any], indent: int, step: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in doc.items():
        if not isinstance(value, list):
            lines.append(f"{pad}{key}: {_scalar(value)}")
        elif not value:
            lines.append(f"{pad}{key}: []")
        else:
            lines.append(f"{pad}{key}:")
            for item in value:
                for i, (k, v) in enumerate(item.items()):
                    lead = "- " if i == 0 else "  "
                    lines.append(f"{pad}{' ' * step}{lead}{k}: {_scalar(v)}")
    return lines


def _entry(node: yaml.MappingNode, *names: str) -> int | None:
    for i, (key, _) in enumerate(node.value):
        if isinstance(key, yaml.ScalarNode) and key.value in names:
            return i
    return None


def _content_end(text: str, start: int, boundary: int) -> int:
    """End of the last line in text[start:boundary] that is neither blank nor a comment: the
    comment block above the next key stays with that key."""
    end, offset = start, start
    for line in text[start:boundary].splitlines(keepends=True):
        content = line.rstrip("\r\n")
        if content.strip() and not content.lstrip().startswith("#"):
            end = offset + len(content)
        offset += len(line)
    return end


def _indent_step(config: yaml.MappingNode) -> int:
    for key, value in config.value:
        if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
            step: int = value.value[0][0].start_mark.column - key.start_mark.column
            if step > 0:
                return step
    return 2


def _splice_flow(text: str, config: yaml.MappingNode, doc: Mapping[str, Any]) -> str:
    rendered = json.dumps(doc)
    i = _entry(config, LOCK_KEY, "lock")
    if i is not None:
        value = config.value[i][1]
        return text[: value.start_mark.index] + rendered + text[value.end_mark.index :]
    close = config.end_mark.index - 1  # the closing brace
    sep = ", " if config.value else ""
    return f'{text[:close]}{sep}"{LOCK_KEY}": {rendered}{text[close:]}'


def splice_lock(text: str, doc: Mapping[str, Any]) -> str:
    """``text`` with the lock entry of its ``config:`` map replaced (or appended) by ``doc``;
    nothing outside that entry changes."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert isinstance(root, yaml.MappingNode)  # the file validated before
    config = root.value[_entry(root, "config") or 0][1]
    assert isinstance(config, yaml.MappingNode)
    if config.flow_style:
        return _splice_flow(text, config, doc)
    newline = "\r\n" if "\r\n" in text else "\n"
    indent = config.value[0][0].start_mark.column
    body = newline.join(_block(doc, indent + _indent_step(config), _indent_step(config)))
    i = _entry(config, LOCK_KEY, "lock")
    last = len(config.value) - 1 if i is None else i
    start = config.value[last][0].start_mark.index
    boundary = (
        config.value[last + 1][0].start_mark.index
        if last + 1 < len(config.value)
        else config.end_mark.index
    )
    end = _content_end(text, start, boundary)
    if i is None:
        return f"{text[:end]}{newline}{' ' * indent}{LOCK_KEY}:{newline}{body}{text[end:]}"
    key = config.value[i][0]
    key_text = text[key.start_mark.index : key.end_mark.index]
    return f"{text[:start]}{key_text}:{newline}{body}{text[end:]}"


def _without_lock(doc: Mapping[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in doc["config"].items() if k not in (LOCK_KEY, "lock")}
    return {**doc, "config": config}


def render_locked_file(path: Path, lock: Lock) -> bytes:
    """The stack file's new bytes, validated: the new document must validate, read the lock
    back as built and leave every other key as it was. SpecError otherwise."""
    where = str(path)
    text = read_text(path, "stack file")
    new_text = splice_lock(text, lock_document(lock))
    old_doc = parse_stack_text(text, where)
    new_doc = parse_stack_text(new_text, where)
    spec = validate_config(config_of(new_doc, where))
    if spec.lock != lock or _without_lock(old_doc) != _without_lock(new_doc):
        raise SpecError(
            [
                Issue(
                    where,
                    "the lock could not be written without changing other keys (unusual "
                    "YAML layout); the file is unchanged: add the lock by hand",
                )
            ]
        )
    return new_text.encode("utf-8")


def write_lock(stack_file: Path, lock: Lock) -> None:
    """Validate, then atomically replace the stack file with the lock spliced in."""
    write_atomic(stack_file, render_locked_file(stack_file, lock))


__all__: Sequence[str] = [
    "LockPlan",
    "build_lock",
    "deployed_values",
    "lock_document",
    "plan_lock",
    "read_outputs",
    "render_locked_file",
    "splice_lock",
    "write_lock",
]
