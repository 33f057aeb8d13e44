"""Run a Pulumi program under the mock runtime and capture every resource it registers.

No CLI, no engine, no cloud: the SDK talks to an in-process monitor that records each
``RegisterResource`` request (type, name, parent, inputs and the options the engine would see:
protect, dependsOn, replaceOnChanges, deleteBeforeReplace, ignoreChanges, provider) and answers
with mock ids and outputs. What this cannot show: provider-side validation and real outputs.

Speed: every azure-native resource declares dozens of type aliases for old API versions and
the SDK builds an alias URN for each eagerly (about 80 ms a resource). Inside :func:`run` only,
type-only aliases are dropped before a resource is constructed, and the SDK does not walk the
Python stack for each resource's source position (the mock monitor never reads it); captures
are otherwise identical. A real deployment never goes through this module.

``preview=True`` runs the program as a first ``pulumi preview`` sees it: the mocked providers
return the inputs and leave every computed output (ids, UUIDs, addresses) unknown, so what
depends on them is unknown too; captures then hold
:class:`~mcp_containment.crossguard.resources.Unknown` where the engine would send its
sentinel.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func

from ..config.schema import Spec
from ..crossguard.resources import Unknown

SECRET = "[secret]"
"""What a secret input or output looks like in a capture: its value is never kept."""


@dataclass(frozen=True, slots=True)
class CapturedResource:
    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    """Plain JSON-like values, camelCase keys as on the wire; secrets replaced by ``[secret]``."""
    id: str | None = None
    protect: bool = False
    depends_on: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    provider: str | None = None
    secret_inputs: tuple[str, ...] = ()
    """Top-level input keys whose value was a secret."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """What the mocked provider returned (inputs plus ids, addresses, uuids): what a stack
    policy sees, as CrossGuard stack policies see outputs."""
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Input key -> URNs of the resources its value came from (what CrossGuard also exposes),
    so references between resources resolve without relying on ids."""
    version: str = ""
    """The provider plugin version the SDK asked for (a default provider's version)."""


@dataclass(frozen=True, slots=True)
class CapturedInvoke:
    """One data source call (an invoke) as the provider would receive it."""

    token: str
    args: dict[str, Any]


@dataclass(slots=True)
class Capture:
    resources: list[CapturedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[CapturedInvoke] = field(default_factory=list)
    """Every invoke, sorted by token and arguments (calls run concurrently, so their arrival
    order means nothing)."""
    project: str = "mcp-containment"
    stack: str = "offline"
    preview: bool = False
    """Captured as a first preview: computed outputs unknown."""

    def of_type(self, type_: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> CapturedResource:
        hits = [r for r in self.resources if r.name == name]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} resources named {name!r}")
        return hits[0]


def _plain(value: Any, secrets: list[str] | None = None, key: str | None = None) -> Any:
    """Wire values -> plain data; secrets are masked (and their top-level key recorded),
    unknowns (previews only) kept as :class:`Unknown`."""
    if isinstance(value, pulumi.output.Unknown):
        return Unknown(key or "")
    if rpc.is_rpc_secret(value):
        if secrets is not None and key is not None:
            secrets.append(key)
        return SECRET
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def _mock_ip(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return str(ipaddress.IPv4Address(bytes([10, 255, digest[0], 4 + digest[1] % 200])))


def _physical_name(typ: str, inputs: Mapping[str, Any]) -> str | None:
    """The name Azure gives a resource: azure-native takes it as ``<resource>Name``
    (``virtualNetworkName``, ``subnetName``) and reports it back as ``name``."""
    if not typ.startswith("azure-native:"):
        return None
    resource = typ.rsplit(":", 1)[-1]
    value = inputs.get(resource[:1].lower() + resource[1:] + "Name")
    return str(value) if isinstance(value, str) else None


STACK_REFERENCE = "pulumi:pulumi:StackReference"

_PEM_OUTPUTS = {
    "tls:index/privateKey:PrivateKey": ("privateKeyPem", "PRIVATE KEY"),
    "tls:index/selfSignedCert:SelfSignedCert": ("certPem", "CERTIFICATE"),
}


class ContainmentMocks(pulumi_mocks.Mocks):
    """Pulumi mocks that answer every call the components make: outputs are the inputs plus
    deterministic ids, names and addresses (same program, same capture), the attachment-point
    and network-interface lookups return ids, and ``stack_references`` gives the outputs of
    the stacks a program references. In a preview, what a provider computes is unknown, as
    for a resource the preview creates."""

    def __init__(
        self,
        capture: Capture | None = None,
        preview: bool = False,
        stack_references: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.capture = capture if capture is not None else Capture()
        self.preview = preview
        self.stack_references = dict(stack_references or {})
        self.registered = threading.local()
        """The last (inputs, state) of :meth:`new_resource` on each thread (the monitor's
        RegisterResource captures them on the thread that called it)."""

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            name = str(args.inputs.get("name") or args.name)
            reference: dict[str, Any] = {
                "name": name,
                "outputs": dict(self.stack_references.get(name, {})),
            }
            self.registered.value = (args.inputs, reference)
            return name, reference
        rid, state = self._created(args)
        if self.preview:
            # An empty id is an unknown id to the SDK (what the terraform bridge sends in
            # previews).
            computed = {k: pulumi.output.UNKNOWN for k in state if k not in args.inputs}
            rid, state = "", {**args.inputs, **computed}
        self.registered.value = (args.inputs, state)
        return rid, state

    def _created(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        state.setdefault("name", _physical_name(args.typ, state) or args.name)
        rid = f"{args.name}-id"
        if args.typ.startswith("azure-native:"):
            rid = f"/mock/{args.typ.split(':')[-1]}/{args.name}"
            state.setdefault("resourceGuid", hashlib.md5(args.name.encode()).hexdigest())
            identity = state.get("identity")
            if isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type")):
                # The managed identity Azure creates, which role assignments name.
                principal = str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal/{args.name}"))
                state["identity"] = {**identity, "principalId": principal}
        if args.typ == "azure-native:network:Subnet":
            # The ARM id shape a real subnet has: the lock validates it.
            rid = (
                f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/"
                f"{state.get('resourceGroupName', 'mock')}/providers/Microsoft.Network/"
                f"virtualNetworks/{state.get('virtualNetworkName', 'mock')}/subnets/"
                f"{state.get('subnetName', args.name)}"
            )
        if args.typ.startswith("aws:"):
            state.setdefault("arn", f"arn:mock:{args.typ}:{args.name}")
        if args.typ == "aws:ec2/subnet:Subnet":
            rid = "subnet-" + hashlib.sha256(args.name.encode()).hexdigest()[:17]
        if args.typ == "aviatrix:index/spokeGateway:SpokeGateway":
            # Addresses the controller would assign, stable per gateway name.
            state.setdefault("privateIp", _mock_ip(args.name))
            state.setdefault("haPrivateIp", _mock_ip(args.name + "-ha"))
        if args.typ in _PEM_OUTPUTS:
            # What the tls provider computes: placeholders of the right shape, never real keys.
            key, label = _PEM_OUTPUTS[args.typ]
            state.setdefault(
                key, f"-----BEGIN {label}-----\nmock:{args.name}\n-----END {label}-----\n"
            )
        if args.typ.startswith("aviatrix:"):
            # Rules reference groups by the uuid the controller assigns.
            state.setdefault("uuid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{args.typ}/{args.name}")))
        return rid, state

    def call(
        self, args: pulumi_mocks.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.capture.invokes.append(CapturedInvoke(args.token, _plain(dict(args.args))))
        if args.token == "aws:ec2/getNetworkInterface:getNetworkInterface":
            # The spoke gateway's interface, looked up by its private IP for the default route.
            seed = repr(sorted(map(repr, args.args.get("filters") or [])))
            return {"id": "eni-" + hashlib.sha256(seed.encode()).hexdigest()[:17]}, []
        if args.token == "aviatrix:index/getDcfAttachmentPoint:getDcfAttachmentPoint":
            name = str(args.args.get("name"))
            point = str(uuid.uuid5(uuid.NAMESPACE_URL, f"attachment-point/{name}"))
            return {"id": point, "attachmentPointId": point, "name": name}, []
        if args.token == "azure:keyvault/getCertificateData:getCertificateData":
            # An existing Key Vault certificate's key: a placeholder, kept secret by the caller.
            return {"key": "mock-private-key", "pem": "", "id": str(args.args.get("name"))}, []
        return {}, []


class _CapturingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi_mocks.Mocks, capture: Capture) -> None:
        super().__init__(mocks)
        self.capture = capture
        self.registered: dict[str, dict[str, Any]] = {}
        """Component URN -> what it passed to ``register_outputs``."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine qualifies a child's type with its parent's whole type chain, the root
        # stack excepted (pulumi/pulumi sdk/go/common/resource/urn/urn.go, New); the SDK's
        # mock keeps only the parent's own type, root stack included.
        qualified = parent.split("::")[2] if parent else "pulumi:pulumi:Stack"
        if qualified != "pulumi:pulumi:Stack":
            type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{settings.get_stack()}::{settings.get_project()}::{type_}::{name}"

    def RegisterResourceOutputs(self, request: Any) -> Any:  # gRPC method name
        outputs = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
        self.registered[request.urn] = {k: _plain(v, key=k) for k, v in outputs.items()}
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    def RegisterResource(self, request: Any) -> Any:  # gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        # What the mocks were given and returned, on this thread, moments ago: the inputs as
        # the SDK deserialised them (unknowns kept in a preview, the only run that has them)
        # and the state it serialised into the response. Nothing is deserialised twice.
        inputs, state = self.mocks.registered.value  # type: ignore[attr-defined]
        self._capture(request, response.urn, response.id, inputs, state)
        return response

    def _capture(
        self, request: Any, urn: str, rid: str | None, inputs: dict[str, Any], state: Any
    ) -> None:
        secrets: list[str] = []
        plain = {k: _plain(v, secrets, k) for k, v in inputs.items()}
        self.capture.resources.append(
            CapturedResource(
                type=request.type,
                name=request.name,
                urn=urn,
                parent=request.parent or None,
                custom=bool(request.custom),
                inputs=plain,
                id=rid or None,
                protect=bool(request.protect),
                depends_on=tuple(request.dependencies),
                replace_on_changes=tuple(request.replaceOnChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=tuple(request.ignoreChanges),
                provider=request.provider or None,
                version=request.version,
                secret_inputs=tuple(secrets),
                outputs={k: _plain(v) for k, v in (state or {}).items()},
                property_dependencies={
                    key: tuple(deps.urns)
                    for key, deps in sorted(request.propertyDependencies.items())
                    if deps.urns
                },
            )
        )


@contextlib.contextmanager
def _without_version_aliases(declared: list[tuple[str, str]]) -> Iterator[None]:
    """Drop type-only aliases (old API versions) while the mocked program runs, and record
    the order in which the program declares resources (``declared``)."""
    original = pulumi.Resource.__init__

    def init(
        self: pulumi.Resource,
        t: str,
        name: str,
        custom: bool = False,
        props: Any = None,
        opts: pulumi.ResourceOptions | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        declared.append((t, name))
        if opts is not None and opts.aliases:
            kept = [a for a in opts.aliases if not _type_only(a)]
            if len(kept) != len(opts.aliases):
                opts = opts._copy()
                opts.aliases = kept
        original(self, t, name, custom, props, opts, *args, **kwargs)

    pulumi.Resource.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        pulumi.Resource.__init__ = original  # type: ignore[method-assign]


@contextlib.contextmanager
def _without_stack_traces() -> Iterator[None]:
    """The SDK walks the Python stack and builds source positions for every resource, for
    the engine's diagnostics; the mock monitor never reads them, and the walk is a tenth of
    a plan."""
    original = getattr(sdk_resource, "_get_stack_trace", None)
    if original is None:  # an SDK that no longer has it
        yield
        return
    sdk_resource._get_stack_trace = source_pb2.StackTrace  # what it returns with no frames
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = original


def _type_only(alias: Any) -> bool:
    # The SDK marks unset Alias fields with the Ellipsis sentinel.
    fields: dict[str, Any] = vars(alias) if isinstance(alias, pulumi.Alias) else {}
    return (
        bool(fields)
        and fields["type_"] is not ...
        and all(fields[k] is ... for k in ("name", "parent", "stack", "project"))
    )


def _in_declaration_order(capture: Capture, declared: list[tuple[str, str]]) -> None:
    """The SDK registers resources from a thread pool, so arrival order varies between runs;
    the order the program declared them in does not."""
    slots: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(declared):
        slots.setdefault(key, []).append(i)
    taken: dict[tuple[str, str], int] = {}

    def position(r: CapturedResource) -> int:
        key = (r.type, r.name)
        n = taken.get(key, 0)
        taken[key] = n + 1
        seen = slots.get(key, [])
        return seen[n] if n < len(seen) else len(declared)

    # Same-key resources keep their relative arrival order; their URNs break any tie.
    ordered = sorted(capture.resources, key=lambda r: (r.type, r.name, r.urn))
    ranks = {id(r): position(r) for r in ordered}
    capture.resources.sort(key=lambda r: (ranks[id(r)], r.urn))


def _registered_outputs(capture: Capture, registered: Mapping[str, dict[str, Any]]) -> None:
    """A component's outputs are what it registered ({} if it never did), as the engine
    keeps them; the mock's echo of its inputs is not an output."""
    capture.resources[:] = [
        r if r.custom else replace(r, outputs=dict(registered.get(r.urn, {})))
        for r in capture.resources
    ]


def run(
    program: Callable[[], None],
    *,
    project: str = "mcp-containment",
    stack: str = "offline",
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
    preview: bool = False,
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
) -> Capture:
    """Run ``program`` against the mock runtime; return every registered resource, in order
    (``preview``: as a first preview, computed outputs unknown; ``stack_references``: stack
    name -> the outputs a ``pulumi.StackReference`` to it reads)."""
    from pulumi.runtime import config as runtime_config  # noqa: PLC0415

    capture = Capture(project=project, stack=stack, preview=preview)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    token = runtime_config.CONFIG.set(dict(config or {}))
    secret_token = runtime_config._SECRET_KEYS.set(set(secret_keys))
    try:
        settings.reset_options(project=project, stack=stack, preview=preview)
        mocks = ContainmentMocks(capture, preview, stack_references)
        monitor = _CapturingMonitor(mocks, capture)
        pulumi_mocks.set_mocks(
            mocks, project=project, stack=stack, preview=preview, monitor=monitor
        )
        declared: list[tuple[str, str]] = []
        with _without_version_aliases(declared), _without_stack_traces():
            loop.run_until_complete(run_pulumi_func(program))
        _in_declaration_order(capture, declared)
        capture.invokes.sort(key=lambda i: (i.token, repr(sorted(i.args.items()))))
        _registered_outputs(capture, monitor.registered)
        root = settings.get_root_resource()
        outputs = getattr(root, "outputs", {}) or {}
        for key, value in outputs.items():
            out = pulumi.Output.from_input(value)
            resolved = loop.run_until_complete(out.future())
            secret = loop.run_until_complete(out.is_secret())
            capture.outputs[key] = SECRET if secret else _plain(resolved)
    finally:
        # Outputs nobody awaited (mock-only values) would warn when the loop is collected.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        runtime_config._SECRET_KEYS.reset(secret_token)
        runtime_config.CONFIG.reset(token)
        settings.reset_options()
        asyncio.set_event_loop(None)
        loop.close()
    return capture


def plan(spec: Spec, *, preview: bool = False) -> Capture:
    """The stack's program (:func:`mcp_containment.infra.stack.program`) under the mock
    runtime (``preview``: as its first preview)."""
    from ..infra.stack import program  # noqa: PLC0415 - loads the provider SDKs

    def declare() -> None:
        program(spec)

    # The catalog registration reads Obot's API key; offline it is a placeholder secret, so
    # the capture shows where the real one goes without ever holding it.
    return run(
        declare,
        stack=spec.environment,
        preview=preview,
        config={"obot:apiKey": OFFLINE_OBOT_API_KEY},
        secret_keys=["obot:apiKey"],
    )


OFFLINE_OBOT_API_KEY = "ok1-offline-placeholder"
