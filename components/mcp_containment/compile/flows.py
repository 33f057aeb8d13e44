"""Flows as people and logs name them, resolved against a stack: the ``simulate`` command's
``S`` and ``D`` forms and a recorded flow's source.

``S`` is an IPv4 address, ``group:NAME`` or ``pod:NAMESPACE/SERVER``; ``D`` is a hostname, an
IPv4 address or ``svctag:TAG``. Resolution needs the stack (which servers exist, where their
pods get addresses); evaluation itself is :mod:`mcp_containment.core.evaluate`.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from ipaddress import IPv4Address, IPv4Network

from ..config.schema import McpServer, McpWorkload, PodIdentity, Spec
from ..core import fqdn, names
from ..core.evaluate import Evaluator, FlowError, Verdict, decide
from ..core.groups import Endpoint, ipv4, network
from ..core.model import Protocol, Rulebase, SmartGroup
from ..core.obot import POD_LABEL, Runtime
from .ruleset import compile_rulebase


def _ip(text: str) -> IPv4Address | None:
    if not text[:1].isdigit():
        return None
    try:
        return ipv4(text)
    except ValueError:
        return None


class Directory:
    """What resolving a source looks up, indexed once per stack (a log names thousands of
    sources): groups, Obot servers and workloads by name, the first of each name winning as
    a scan in declaration order would."""

    def __init__(self, spec: Spec, rulebase: Rulebase) -> None:
        self.groups: dict[str, SmartGroup] = {}
        for g in rulebase.smart_groups:
            self.groups.setdefault(g.name, g)
        self.servers: dict[str, McpServer] = {}
        for s in spec.mcp_servers:
            self.servers.setdefault(s.name, s)
        self.workloads: dict[tuple[str, str], McpWorkload] = {}
        for w in spec.mcp_workloads:
            self.workloads.setdefault((w.namespace, w.name), w)


def resolve_source(
    spec: Spec, rulebase: Rulebase, text: str, directory: Directory | None = None
) -> Endpoint:
    """``S``: an IPv4 address, ``group:NAME`` or ``pod:NAMESPACE/SERVER``. ``directory``
    (built from the same spec and rulebase) saves the lookups when resolving many."""
    text = text.strip()
    if text.startswith("group:"):
        return _group(spec, rulebase, text, directory or Directory(spec, rulebase))
    if text.startswith("pod:"):
        return _pod(spec, text, directory or Directory(spec, rulebase))
    ip = _ip(text)
    if ip is None:
        raise FlowError(
            f"source: {text!r} is not an IPv4 address, group:NAME or pod:NAMESPACE/SERVER"
        )
    return Endpoint(identity=str(ip), ip=ip)


def _group(spec: Spec, rulebase: Rulebase, text: str, directory: Directory) -> Endpoint:
    name = text.removeprefix("group:")
    # A group may be named as the controller knows it or by its role (cluster-nodes),
    # without the stack's prefix.
    for candidate in (name, names.qualified(spec.name_prefix, name)):
        group = directory.groups.get(candidate)
        if group is not None:
            name = candidate
            break
    else:
        known = ", ".join(g.name for g in rulebase.smart_groups if not g.managed)
        raise FlowError(f"source: unknown group {name!r} (groups: {known})") from None
    ranges = [s.cidr for s in group.selectors if s.cidr is not None]
    net = IPv4Network(ranges[0]) if len(ranges) == 1 else None
    k8s = next((s for s in group.selectors if s.k8s_namespace), None)
    return Endpoint(
        identity=f"group:{name}",
        network=net,
        namespace=k8s.k8s_namespace if k8s else None,
        labels=k8s.tags if k8s else (),
        member_of=name,
    )


def _pod(spec: Spec, text: str, directory: Directory) -> Endpoint:
    """``pod:NAMESPACE/NAME``: in Obot's MCP namespace, a pod of the server launched from
    catalog entry NAME (Obot generates the real pod's ``app`` label, ``ms1...``, at launch;
    the planned band uses the entry key in its place); elsewhere, a pod of the self-managed
    workload NAME."""
    namespace, _, name = text.removeprefix("pod:").partition("/")
    if not namespace or not name:
        raise FlowError(f"source: {text!r} must be pod:NAMESPACE/SERVER")
    k8s = spec.kubernetes
    if not k8s.enabled:
        raise FlowError("source: pod sources need kubernetes.enabled")
    pods = network(spec.network.pod_subnet or spec.network.agent_subnet)
    if namespace == k8s.obot.mcp_namespace:
        server = directory.servers.get(name)
        if server is None:
            known = ", ".join(s.name for s in spec.mcp_servers) or "none"
            raise FlowError(
                f"source: no catalog entry {name!r} in mcpServers (entry keys: {known}); "
                "name a server by its entry key, not by Obot's generated ms1... name"
            )
        if server.runtime is Runtime.REMOTE:
            raise FlowError(
                f"source: {name!r} is a remote server and runs no pod; Obot calls it from its "
                f"own pods: simulate with --src group:{names.OBOT_SYSTEM_PODS}"
            )
        return Endpoint(
            identity=text, network=pods, namespace=namespace, labels=((POD_LABEL, name),)
        )
    workload = directory.workloads.get((namespace, name))
    if workload is None:
        pods_known = [f"{k8s.obot.mcp_namespace}/<entry key>"]
        pods_known += [f"{w.namespace}/{w.name}" for w in spec.mcp_workloads]
        raise FlowError(
            f"source: no MCP server pod {namespace}/{name} (known: {', '.join(pods_known)})"
        )
    if k8s.pod_identity is PodIdentity.CIDR and workload.pod_cidrs:
        pods = IPv4Network(workload.pod_cidrs[0])
    return Endpoint(
        identity=text,
        network=pods,
        namespace=namespace,
        labels=tuple(sorted(workload.pod_labels.items())),
    )


def resolve_destination(text: str) -> Endpoint:
    """``D``: an FQDN, an IPv4 address or ``svctag:TAG``."""
    text = text.strip()
    if text.startswith("svctag:"):
        tag = text.removeprefix("svctag:")
        if not tag:
            raise FlowError("destination: svctag: needs a service tag name")
        return Endpoint(identity=text, svctag=tag)
    ip = _ip(text)
    if ip is not None:
        return Endpoint(identity=str(ip), ip=ip)
    if ":" in text:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            pass
        else:
            raise FlowError(f"destination: {text!r} is IPv6; only IPv4 is evaluated")
    try:
        host = fqdn.check_platform_pattern(text)
    except fqdn.DomainError as exc:
        raise FlowError(f"destination: {exc}") from None
    if "*" in host:
        raise FlowError(f"destination: {text!r} is a pattern, not a hostname")
    return Endpoint(identity=host, host=host)


def check_port(port: int) -> int:
    if not 0 < port < 65536:
        raise FlowError(f"port: {port} is out of range (1-65535)")
    return port


def check_protocol(name: str) -> Protocol:
    proto = Protocol.parse(name)
    if proto is None or proto is Protocol.ANY:
        raise FlowError(f"protocol: {name!r} is not one of tcp, udp, icmp")
    return proto


def simulate(
    spec: Spec,
    src: str,
    dst: str,
    port: int = 443,
    protocol: str = "tcp",
    *,
    rulebase: Rulebase | None = None,
    now: datetime | None = None,
) -> Verdict:
    """Evaluate one flow over the whole layered rulebase of ``spec``."""
    rulebase = rulebase or compile_rulebase(spec)
    return decide(
        Evaluator(rulebase),
        resolve_source(spec, rulebase, src),
        resolve_destination(dst),
        check_port(port),
        check_protocol(protocol),
        now,
    )
