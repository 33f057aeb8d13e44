"""What the Pulumi engine sends a policy pack about a captured program: the analyzer requests,
encoded as the engine encodes them.

The engine calls ``Analyze`` once per registered resource (its inputs, with the root stack and
default providers among them) and ``AnalyzeStack`` once with every resource's outputs, parents
and (property) dependencies (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``,
``analyze_snapshot.go``). Properties go through ``MarshalProperties`` with unknowns and secrets
kept and internal keys dropped (``pkg/resource/plugin/analyzer_plugin.go``): an unknown is the
string sentinel, a secret a signature-tagged wrapper, every number a double.
``containment check`` hands these very requests to the pack in process, and the engine test
harness sends them over gRPC to the pack started as the CLI starts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from ..crossguard.policy_config import EffectiveConfig
from ..crossguard.registry import Level
from ..crossguard.resources import Unknown
from .runtime import SECRET, Capture, CapturedResource

ROOT_STACK: Final = "pulumi:pulumi:Stack"
SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_STRING: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's sentinel for an unknown value (an unknown Output is always a computed string,
``MakeComputed(NewProperty(""))`` in ``pkg/resource/plugin/rpc.go``)."""

LEVELS: Final = {
    Level.ADVISORY: analyzer_pb2.ADVISORY,
    Level.MANDATORY: analyzer_pb2.MANDATORY,
    Level.DISABLED: analyzer_pb2.DISABLED,
}


def encode(value: Any) -> Any:
    """A captured value as the engine puts it in a ``Struct``."""
    if isinstance(value, Unknown):
        return UNKNOWN_STRING
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def wire(props: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> dict[str, Any]:
    """``MarshalProperties(KeepUnknowns, KeepSecrets, SkipInternalKeys)``, in the JSON form a
    ``Struct`` carries (what ``MessageToDict`` reads back). A captured secret is already
    masked; it travels wrapped as a secret, as the engine sends secrets."""
    secret = set(secret_keys)
    out: dict[str, Any] = {}
    for key, value in props.items():
        if key.startswith("__"):
            continue
        if key in secret or (isinstance(value, str) and value == SECRET):
            out[key] = {SIG_KEY: SECRET_SIG, "value": encode(value)}
        else:
            out[key] = encode(value)
    return out


def struct(props: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> struct_pb2.Struct:
    """:func:`wire` as the ``Struct`` the engine sends."""
    out = struct_pb2.Struct()
    out.update(wire(props, secret_keys))
    return out


@dataclass(frozen=True, slots=True)
class Node:
    """A resource as the engine knows it: the captured ones, the root stack and the default
    providers the engine registers itself."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    parent: str = ""
    provider: Node | None = None
    captured: CapturedResource | None = None

    def options(self) -> analyzer_pb2.AnalyzerResourceOptions:
        r = self.captured
        timeouts = analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts()
        if r is None:
            return analyzer_pb2.AnalyzerResourceOptions(parent=self.parent, customTimeouts=timeouts)
        return analyzer_pb2.AnalyzerResourceOptions(
            protect=r.protect,
            ignoreChanges=list(r.ignore_changes),
            deleteBeforeReplace=r.delete_before_replace,
            deleteBeforeReplaceDefined=r.delete_before_replace,
            parent=self.parent,
            # marshalResourceOptions always sets custom timeouts, zero when there are none.
            customTimeouts=timeouts,
        )

    def secret_inputs(self) -> tuple[str, ...]:
        return self.captured.secret_inputs if self.captured else ()

    def wire_inputs(self) -> dict[str, Any]:
        """What ``Analyze`` is sent: the inputs."""
        return wire(self.inputs, self.secret_inputs())

    def wire_outputs(self) -> dict[str, Any]:
        """What ``AnalyzeStack`` is sent: the outputs (those of a secret input stay secret,
        ``step_executor.go``)."""
        return wire(self.outputs, self.secret_inputs())

    @property
    def dependencies(self) -> tuple[str, ...]:
        return self.captured.depends_on if self.captured else ()

    @property
    def property_dependencies(self) -> Mapping[str, tuple[str, ...]]:
        deps = self.captured.property_dependencies if self.captured else {}
        return {k: urns for k, urns in deps.items() if urns}

    def provider_message(self) -> analyzer_pb2.AnalyzerProviderResource | None:
        p = self.provider
        if p is None:
            return None
        return analyzer_pb2.AnalyzerProviderResource(
            type=p.type, name=p.name, urn=p.urn, properties=struct(p.inputs)
        )


@dataclass(frozen=True, slots=True)
class EngineRequests:
    """One run of the pack, in the engine's order."""

    root: str
    """The root stack's URN: where the engine puts a stack violation without a resource."""
    analyze: tuple[analyzer_pb2.AnalyzeRequest, ...]
    analyze_stack: analyzer_pb2.AnalyzeStackRequest


def _package(type_: str) -> str:
    return type_.split(":", 1)[0]


def nodes(capture: Capture) -> list[Node]:
    """Every resource the engine knows for ``capture``, in registration order."""
    return list(_nodes(capture))


def _nodes(capture: Capture) -> Iterator[Node]:
    """The root stack, then each resource in registration order, a default provider
    registered just before the first resource that needs it (``default_providers.go``)."""
    base = f"urn:pulumi:{capture.stack}::{capture.project}::"
    name = f"{capture.project}-{capture.stack}"
    yield Node(ROOT_STACK, name, f"{base}{ROOT_STACK}::{name}", {}, capture.outputs)
    by_urn = {r.urn: r for r in capture.resources}
    defaults: dict[str, Node] = {}
    for r in capture.resources:
        provider: Node | None = None
        if r.custom and r.provider:
            explicit = by_urn.get(r.provider.rsplit("::", 1)[0])
            if explicit is not None:
                provider = Node(explicit.type, explicit.name, explicit.urn, explicit.inputs, {})
        elif r.custom and not r.type.startswith("pulumi:providers:"):
            package = _package(r.type)
            if package not in defaults:
                pname = f"default_{r.version.replace('.', '_')}" if r.version else "default"
                inputs = {"version": r.version} if r.version else {}
                ptype = f"pulumi:providers:{package}"
                # Default providers have no parent (default_providers.go).
                defaults[package] = Node(ptype, pname, f"{base}{ptype}::{pname}", inputs, inputs)
                yield defaults[package]
            provider = defaults[package]
        yield Node(r.type, r.name, r.urn, r.inputs, r.outputs, r.parent or "", provider, r)


def _analyze_request(node: Node) -> analyzer_pb2.AnalyzeRequest:
    request = analyzer_pb2.AnalyzeRequest(
        type=node.type,
        name=node.name,
        urn=node.urn,
        properties=struct(node.wire_inputs()),
        options=node.options(),
    )
    provider = node.provider_message()
    if provider is not None:
        request.provider.CopyFrom(provider)
    return request


def _stack_resource(node: Node) -> analyzer_pb2.AnalyzerResource:
    message = analyzer_pb2.AnalyzerResource(
        type=node.type,
        name=node.name,
        urn=node.urn,
        properties=struct(node.wire_outputs()),
        options=node.options(),
        parent=node.parent,
        dependencies=list(node.dependencies),
    )
    for key, urns in node.property_dependencies.items():
        message.propertyDependencies[key].urns.extend(urns)
    provider = node.provider_message()
    if provider is not None:
        message.provider.CopyFrom(provider)
    return message


def requests(capture: Capture) -> EngineRequests:
    """The requests the engine sends for ``capture``, in the engine's order."""
    every = nodes(capture)
    return EngineRequests(
        root=every[0].urn,
        analyze=tuple(_analyze_request(n) for n in every),
        analyze_stack=analyzer_pb2.AnalyzeStackRequest(
            resources=[_stack_resource(n) for n in every]
        ),
    )


def configure_request(
    effective: Mapping[str, EffectiveConfig],
) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """``Configure`` as the engine sends it: every policy, its level and its properties."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, conf in effective.items():
        config = analyzer_pb2.PolicyConfig(enforcementLevel=LEVELS[conf.level])
        config.properties.update(encode(conf.properties))
        request.policyConfig[name].CopyFrom(config)
    return request


def stack_config(config: Mapping[str, Any], project: str) -> dict[str, str]:
    """A stack's ``config:`` map as the engine hands it to a policy pack (``PULUMI_CONFIG``):
    ``namespace:key`` -> text, structured values as JSON. Encrypted values are left out: the
    engine would decrypt them, and nothing here can."""
    out: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, Mapping) and "secure" in value:
            continue
        name = key if ":" in key else f"{project}:{key}"
        out[name] = value if isinstance(value, str) else json.dumps(value)
    return out


__all__: Sequence[str] = [
    "EngineRequests",
    "Node",
    "configure_request",
    "nodes",
    "requests",
    "stack_config",
    "wire",
]
