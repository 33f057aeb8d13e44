"""Run a Pulumi program under the mock runtime and capture every resource it registers.

No CLI, no engine, no cloud: the SDK talks to an in-process monitor that records each
``RegisterResource`` request (type, name, parent, inputs and the options the engine would see:
protect, dependsOn, replaceOnChanges, deleteBeforeReplace, ignoreChanges, provider) and answers
with mock ids and outputs. What this cannot show: provider-side validation and real outputs.

Speed: every azure-native resource declares dozens of type aliases for old API versions and
the SDK builds an alias URN for each eagerly (about 80 ms a resource). Inside :func:`run` only,
type-only aliases are dropped before a resource is constructed; captures are otherwise
identical. A real deployment never goes through this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func

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


@dataclass(slots=True)
class Capture:
    resources: list[CapturedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> CapturedResource:
        hits = [r for r in self.resources if r.name == name]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} resources named {name!r}")
        return hits[0]

    def by_urn(self, urn: str) -> CapturedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, parent: CapturedResource) -> list[CapturedResource]:
        return [r for r in self.resources if r.parent == parent.urn]


def _plain(value: Any, secrets: list[str] | None = None, key: str | None = None) -> Any:
    """Wire values -> plain data; secrets are masked (and their top-level key recorded)."""
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


def _mock_ip(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return str(ipaddress.IPv4Address(bytes([10, 255, digest[0], 4 + digest[1] % 200])))


class _Mocks(pulumi_mocks.Mocks):
    """Outputs are the inputs plus deterministic ids and addresses: same program, same capture."""

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        state.setdefault("name", args.name)
        rid = f"{args.name}-id"
        if args.typ.startswith("azure-native:"):
            rid = f"/mock/{args.typ.split(':')[-1]}/{args.name}"
            state.setdefault("resourceGuid", hashlib.md5(args.name.encode()).hexdigest())
        # Addresses a real provider would return, stable per resource name.
        state.setdefault("privateIp", _mock_ip(args.name))
        state.setdefault("haPrivateIp", _mock_ip(args.name + "-ha"))
        state.setdefault("arn", f"arn:mock:{args.typ}:{args.name}")
        return rid, state

    def call(
        self, args: pulumi_mocks.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class _CapturingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi_mocks.Mocks, capture: Capture) -> None:
        super().__init__(mocks)
        self.capture = capture

    def RegisterResource(self, request: Any) -> Any:  # gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        secrets: list[str] = []
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        plain = {k: _plain(v, secrets, k) for k, v in inputs.items()}
        self.capture.resources.append(
            CapturedResource(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent or None,
                custom=bool(request.custom),
                inputs=plain,
                id=response.id or None,
                protect=bool(request.protect),
                depends_on=tuple(request.dependencies),
                replace_on_changes=tuple(request.replaceOnChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=tuple(request.ignoreChanges),
                provider=request.provider or None,
                secret_inputs=tuple(secrets),
            )
        )
        return response


@contextlib.contextmanager
def _without_version_aliases() -> Iterator[None]:
    """Drop type-only aliases (old API versions) while the mocked program runs."""
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


def _type_only(alias: Any) -> bool:
    # The SDK marks unset Alias fields with the Ellipsis sentinel.
    fields: dict[str, Any] = vars(alias) if isinstance(alias, pulumi.Alias) else {}
    return (
        bool(fields)
        and fields["type_"] is not ...
        and all(fields[k] is ... for k in ("name", "parent", "stack", "project"))
    )


def run(
    program: Callable[[], None],
    *,
    project: str = "mcp-containment",
    stack: str = "offline",
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
) -> Capture:
    """Run ``program`` against the mock runtime; return every registered resource, in order."""
    from pulumi.runtime import config as runtime_config  # noqa: PLC0415

    capture = Capture()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    token = runtime_config.CONFIG.set(dict(config or {}))
    secret_token = runtime_config._SECRET_KEYS.set(set(secret_keys))
    try:
        settings.reset_options(project=project, stack=stack, preview=False)
        mocks = _Mocks()
        pulumi_mocks.set_mocks(
            mocks,
            project=project,
            stack=stack,
            preview=False,
            monitor=_CapturingMonitor(mocks, capture),
        )
        with _without_version_aliases():
            loop.run_until_complete(run_pulumi_func(program))
        root = settings.get_root_resource()
        outputs = getattr(root, "outputs", {}) or {}
        for key, value in outputs.items():
            out = pulumi.Output.from_input(value)
            resolved = loop.run_until_complete(out.future())
            secret = loop.run_until_complete(out.is_secret())
            capture.outputs[key] = SECRET if secret else _plain(resolved)
    finally:
        runtime_config._SECRET_KEYS.reset(secret_token)
        runtime_config.CONFIG.reset(token)
        settings.reset_options()
        asyncio.set_event_loop(None)
        loop.close()
    return capture
