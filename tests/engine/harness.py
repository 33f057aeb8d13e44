"""Play the Pulumi engine against the policy pack, over the analyzer gRPC protocol of the
installed Pulumi SDK.

What it reproduces, and where upstream does it (pulumi/pulumi@1b5949891b):

- the start: ``<virtualenv>/bin/python -u -m pulumi.policy <engine> <pack dir>``, working
  directory the pack, the environment carrying ``PULUMI_PROJECT``/``PULUMI_STACK``/
  ``PULUMI_ORGANIZATION``/``PULUMI_DRY_RUN``/``PULUMI_CONFIG`` (the stack's config, decrypted,
  JSON) - ``sdk/python/cmd/pulumi-language-python/main.go`` ``RunPlugin``,
  ``sdk/python/toolchain/pip.go``; the first line of stdout must be the port
  (``pkg/resource/plugin/plugin.go``);
- the calls: ``Handshake`` (unimplemented tolerated), ``ConfigureStack``, ``GetAnalyzerInfo``,
  ``Configure`` with the config reconciled as ``pkg/resource/analyzer/config.go`` does (and
  validated against each policy's schema), ``Remediate`` then ``Analyze`` per resource,
  ``AnalyzeStack`` once, its resources in no particular order (``deployment.news`` is a
  ``sync.Map``);
- what the engine makes of the answers: where a violation lands (``analyze_snapshot.go``) and
  how the preview or update ends (``step_generator.go``).

The requests themselves come from :mod:`mcp_containment.offline.engine`, which
``containment check`` sends to the pack in process: the tests assert both give one verdict.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
import jsonschema
import yaml
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from mcp_containment.crossguard.registry import Level, Violation
from mcp_containment.offline.engine import EngineRequests

ENGINE_ADDRESS = "127.0.0.1:1"
"""pulumi_policy never dials the engine: any address does."""
LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
PROTO_LEVELS = {name: value for value, name in LEVELS.items()}
_ENV_KEYS = (
    "PULUMI_CONFIG",
    "PULUMI_CONFIG_SECRET_KEYS",
    "PULUMI_PROJECT",
    "PULUMI_STACK",
    "PULUMI_DRY_RUN",
    "PULUMI_ORGANIZATION",
)


class PackStartError(Exception):
    """The pack did not start the way the CLI needs it to."""


class PolicyConfigError(Exception):
    """The engine would refuse this policy config before running the pack."""


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    name: str
    level: str
    kind: str
    properties: Mapping[str, Any]
    """The config schema's properties (the engine adds ``enforcementLevel``)."""


def interpreter(pack_dir: Path) -> Path:
    """The interpreter the language host runs the pack with: ``<virtualenv>/bin/python``, a
    relative ``virtualenv`` resolved against the pack directory (``pip.go``)."""
    doc = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text())
    venv = Path(doc["runtime"]["options"]["virtualenv"])
    python = (venv if venv.is_absolute() else pack_dir / venv) / "bin" / "python"
    if not python.is_file():
        raise PackStartError(f"PulumiPolicy.yaml names {venv}, which has no bin/python")
    return python


def reconcile(
    policies: Sequence[PolicyInfo], given: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """``ReconcilePolicyPackConfig``: schema defaults and policy levels, then the file's
    config (``all`` sets levels only), then validation against each schema."""
    result: dict[str, dict[str, Any]] = {}
    for p in policies:
        defaults = {k: v["default"] for k, v in p.properties.items() if "default" in v}
        result[p.name] = {"enforcementLevel": p.level, "properties": defaults}
    every = given.get("all")
    level = every if isinstance(every, str) else (every or {}).get("enforcementLevel")
    if level:
        for entry in result.values():
            entry["enforcementLevel"] = level
    for name, entry in given.items():
        if name == "all":
            continue
        target = result.setdefault(name, {"enforcementLevel": "advisory", "properties": {}})
        if isinstance(entry, str):
            target["enforcementLevel"] = entry
            continue
        props = dict(entry)
        target["enforcementLevel"] = props.pop("enforcementLevel", target["enforcementLevel"])
        target["properties"] = {**target["properties"], **props}
    errors = [
        f"{p.name}: {err.message}"
        for p in policies
        for err in jsonschema.Draft7Validator(
            {"type": "object", "properties": dict(p.properties)}
        ).iter_errors(result[p.name]["properties"])
    ]
    if errors:
        raise PolicyConfigError("; ".join(errors))
    return result


@dataclass
class EngineRun:
    """One preview or update as the engine would report it."""

    violations: list[Violation] = field(default_factory=list)
    not_applicable: list[tuple[str, str]] = field(default_factory=list)
    outcome: str | None = None
    """What the CLI would end with; None when the preview or update succeeds."""


class Pack:
    """The policy pack as one process the engine started, and the engine's calls to it."""

    def __init__(
        self,
        pack_dir: Path,
        *,
        project: str,
        stack: str,
        dry_run: bool,
        stack_config: Mapping[str, str],
        organization: str = "organization",
    ) -> None:
        self.pack_dir = pack_dir.absolute()
        self.project, self.stack, self.dry_run = project, stack, dry_run
        self.stack_config = dict(stack_config)
        self.organization = organization
        self.output: list[str] = []
        """What the pack wrote besides its port (stderr, then stdout), for failure messages."""
        self.policies: list[PolicyInfo] = []
        self.started_in = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None

    # --- the process -------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _ENV_KEYS}
        env.update(
            PULUMI_ORGANIZATION=self.organization,
            PULUMI_PROJECT=self.project,
            PULUMI_STACK=self.stack,
            PULUMI_DRY_RUN="true" if self.dry_run else "false",
        )
        if self.stack_config:
            env["PULUMI_CONFIG"] = json.dumps(self.stack_config)
        return env

    def start(self) -> Pack:
        begin = time.monotonic()
        argv = [str(interpreter(self.pack_dir)), "-u", "-m", "pulumi.policy", ENGINE_ADDRESS]
        try:
            self._proc = subprocess.Popen(
                [*argv, str(self.pack_dir)],
                cwd=self.pack_dir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            self._drain(self._proc.stderr)
            port = self._port()
            self._drain(self._proc.stdout)
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(self._channel).result(timeout=30)
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)  # type: ignore[no-untyped-call]
            self._handshake()
            self._configure_stack()
            self._analyzer_info()
        except BaseException:
            self.close()
            raise
        self.started_in = time.monotonic() - begin
        return self

    def _drain(self, stream: IO[bytes] | None) -> None:
        def pump() -> None:
            for line in iter(stream.readline, b"") if stream else ():
                self.output.append(line.decode(errors="replace"))

        threading.Thread(target=pump, daemon=True).start()

    def _port(self, timeout: float = 60) -> int:
        """The first line of stdout, read as the CLI reads it: it must be the port."""
        assert self._proc is not None and self._proc.stdout is not None
        stdout, first = self._proc.stdout, []
        reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = first[0].decode(errors="replace").strip() if first else ""
        if not line.isdigit():
            time.sleep(0.2)  # let stderr drain for the message
            raise PackStartError(
                f"the pack's first line of output is {line!r}, not a port; it said:\n"
                + "".join(self.output)
            )
        return int(line)

    def close(self) -> None:
        """As the engine closes a plugin: the connection, then SIGINT, then kill."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def __enter__(self) -> Pack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- the engine's calls ------------------------------------------------------------------

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        assert self._stub is not None, "the pack is not running"
        return self._stub

    def _handshake(self) -> None:
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=ENGINE_ADDRESS,
            root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir),
        )
        try:
            self.stub.Handshake(request)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise

    def _configure_stack(self) -> None:
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self.stack,
                project=self.project,
                organization=self.organization,
                dry_run=self.dry_run,
                config=self.stack_config,
            )
        )

    def _analyzer_info(self) -> None:
        info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        self.policies = [
            PolicyInfo(
                p.name,
                LEVELS[p.enforcementLevel],
                analyzer_pb2.PolicyType.Name(p.policy_type),
                json_format.MessageToDict(p.configSchema.properties),
            )
            for p in info.policies
        ]

    def configure(self, policy_config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``Configure`` with the reconciled config: the pack's defaults, then the file."""
        config = reconcile(self.policies, policy_config or {})
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in config.items():
            pc = analyzer_pb2.PolicyConfig(enforcementLevel=PROTO_LEVELS[entry["enforcementLevel"]])
            pc.properties.update(entry["properties"])
            request.policyConfig[name].CopyFrom(pc)
        self.stub.Configure(request)
        return config

    def run(self, requests: EngineRequests, *, shuffle: int = 0) -> EngineRun:
        """The engine's sequence for one preview or update: ``Remediate`` and ``Analyze`` per
        resource in registration order, then ``AnalyzeStack``. Every resource is analysed,
        though an update stops at the first resource refused (``outcome`` says where)."""
        run = EngineRun()
        for request in requests.analyze:
            self.stub.Remediate(request)
            response = self.stub.Analyze(request)
            found = _violations(response.diagnostics, lambda _, at=request.urn: at)
            run.not_applicable += [(n.policy_name, request.urn) for n in response.not_applicable]
            if run.outcome is None and any(v.level is Level.MANDATORY for v in found):
                run.outcome = "preview failed" if self.dry_run else f"{request.urn} is invalid"
            run.violations += found
        stack = analyzer_pb2.AnalyzeStackRequest()
        resources = list(requests.analyze_stack.resources)
        random.Random(shuffle).shuffle(resources)
        stack.resources.extend(resources)
        known = {r.urn for r in resources}
        response = self.stub.AnalyzeStack(stack)
        found = _violations(response.diagnostics, lambda u: u if u in known else requests.root)
        run.not_applicable += [(n.policy_name, requests.root) for n in response.not_applicable]
        if run.outcome is None and any(v.level is Level.MANDATORY for v in found):
            run.outcome = "step generator errored"
        run.violations += found
        return run


def _violations(diagnostics: Any, attribute: Any) -> list[Violation]:
    out = []
    for d in diagnostics:
        level = LEVELS[d.enforcementLevel]
        _, _, message = d.message.partition("\n")
        out.append(
            Violation(
                d.policyName,
                Level.MANDATORY if level == "remediate" else Level(level),
                attribute(d.urn),
                message or d.message,
            )
        )
    return out
