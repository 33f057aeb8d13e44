"""``containment``: validate, plan, check, simulate, replay and lock a stack, offline.

Exit codes: 0 ok, 1 mandatory policy violations (``check``), 2 invalid input. Every stack
command takes ``--stack NAME`` (``stacks/Pulumi.NAME.yaml``) or ``--config FILE``, and
``--json`` for machines. Heavy modules (the Pulumi SDKs, the policy pack) are imported by the
commands that use them, so ``validate`` starts fast.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
import yaml

from . import __version__
from .config.load import load_file, stack_file
from .config.schema import Spec
from .config.validate import Issue, SpecError

app = typer.Typer(
    name="containment",
    help="Egress containment for MCP servers and AI agents: offline plan, check and simulation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_INVALID = 2

StackOpt = Annotated[
    str | None, typer.Option("--stack", "-s", help="Stack name: reads stacks/Pulumi.NAME.yaml.")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Path to a Pulumi.<stack>.yaml file.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
StacksDirOpt = Annotated[
    Path, typer.Option("--stacks-dir", help="Where --stack looks for stack files.")
]


@dataclass(frozen=True, slots=True)
class Target:
    """The stack a command works on, and how it reports."""

    stack: str | None
    config: Path | None
    stacks_dir: Path
    as_json: bool

    @property
    def path(self) -> Path:
        if (self.stack is None) == (self.config is None):
            fail(
                [Issue("--stack/--config", "give exactly one of --stack NAME or --config FILE")],
                self.as_json,
            )
        return (
            self.config
            if self.config is not None
            else stack_file(self.stack or "", self.stacks_dir)
        )

    def spec(self) -> Spec:
        """Load and validate, or print every problem and exit 2."""
        try:
            return load_file(self.path)
        except SpecError as exc:
            fail(exc.issues, self.as_json)


P = ParamSpec("P")
R = TypeVar("R")

_TARGET_PARAMETERS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
    for name, hint, default in (
        ("stack", StackOpt, None),
        ("config", ConfigOpt, None),
        ("as_json", JsonOpt, False),
        ("stacks_dir", StacksDirOpt, Path("stacks")),
    )
]


def stack_command(fn: Callable[..., R]) -> Callable[..., R]:
    """Give a command the options every stack command takes; it receives them as a
    :class:`Target` in its first parameter."""
    hints = typing.get_type_hints(fn, include_extras=True)
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in list(inspect.signature(fn).parameters.values())[1:]
    ]

    @functools.wraps(fn)
    def command(**kwargs: Any) -> R:
        target = Target(
            kwargs.pop("stack"),
            kwargs.pop("config"),
            kwargs.pop("stacks_dir"),
            kwargs.pop("as_json"),
        )
        return fn(target, **kwargs)

    command.__signature__ = inspect.Signature(own + _TARGET_PARAMETERS)  # type: ignore[attr-defined]
    return command


def _version(value: bool) -> None:
    if value:
        typer.echo(f"containment {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Egress containment for MCP servers and AI agents."""


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")


def fail(issues: list[Issue], as_json: bool) -> NoReturn:
    if as_json:
        emit_json(
            {"valid": False, "errors": [{"path": i.path, "message": i.message} for i in issues]}
        )
    else:
        typer.echo(f"invalid: {len(issues)} problem(s)", err=True)
        for issue in issues:
            typer.echo(f"  {issue.path}: {issue.message}", err=True)
    raise typer.Exit(EXIT_INVALID)


@app.command()
@stack_command
def validate(target: Target) -> None:
    """Parse and validate a stack config: exit 0 when valid, 2 with every problem when not."""
    spec = target.spec()
    if target.as_json:
        emit_json({"valid": True, "errors": []})
        return
    if spec.foundry.enabled:
        kind = "Foundry agents"
    elif spec.kubernetes.enabled:
        kind = f"{len(spec.mcp_servers)} MCP server(s) on Kubernetes"
    else:
        kind = "gateway only"
    typer.echo(f"valid: {spec.environment} on {spec.cloud.value}, {kind}")


@app.command()
@stack_command
def simulate(
    target: Target,
    src: Annotated[str, typer.Option("--src", help="IPv4, group:NAME or pod:NAMESPACE/SERVER.")],
    dst: Annotated[str, typer.Option("--dst", help="FQDN, IPv4 or svctag:TAG.")],
    port: Annotated[int, typer.Option("--port", help="Destination port.")] = 443,
    protocol: Annotated[str, typer.Option("--protocol", help="tcp, udp or icmp.")] = "tcp",
) -> None:
    """First-match verdict for one flow over the whole layered rulebase, with its audit record."""
    from .compile.flows import simulate as run_simulation  # noqa: PLC0415
    from .core.evaluate import FlowError  # noqa: PLC0415

    spec = target.spec()
    try:
        verdict = run_simulation(spec, src, dst, port, protocol)
    except FlowError as exc:
        path, _, message = str(exc).partition(": ")
        fail([Issue(path, message)], target.as_json)
    if target.as_json:
        emit_json(verdict.to_json())
        return
    rule = verdict.rule.name if verdict.rule else "DCF default action"
    mode = "enforced" if verdict.enforced else f"monitor: would {verdict.would_action.value}"
    typer.echo(f"{verdict.verdict.value}  {src} -> {dst}:{port}/{protocol.lower()}")
    typer.echo(f"  rule:  {rule} ({verdict.layer.label}, {mode})")
    typer.echo(f"  audit: {json.dumps(verdict.audit(), sort_keys=True)}")


def _table(title: str, columns: list[str], rows: list[tuple[str, ...]]) -> None:
    from rich.console import Console  # noqa: PLC0415 - only people-facing output needs rich
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


@app.command()
@stack_command
def plan(target: Target) -> None:
    """Run the program offline (mocked engine): resources, ruleset, groups, FirewallPolicies."""
    from .compile.ruleset import compile_rulebase  # noqa: PLC0415
    from .core.analysis import analyze  # noqa: PLC0415
    from .core.export import rulebase_json, ruleset_rows  # noqa: PLC0415
    from .offline.runtime import plan as run_plan  # noqa: PLC0415 - loads the Pulumi SDKs

    spec = target.spec()
    capture = run_plan(spec)
    rulebase = compile_rulebase(spec)
    findings = analyze(rulebase)
    if target.as_json:
        names = {r.urn: r.name for r in capture.resources}
        resources = [
            {
                "type": r.type,
                "name": r.name,
                "parent": names.get(r.parent or ""),
                "inputs": r.inputs,
            }
            for r in capture.resources
        ]
        emit_json(
            {
                "resources": resources,
                **rulebase_json(rulebase),
                "findings": [f.to_json() for f in findings],
            }
        )
        return
    counts: dict[str, int] = {}
    for r in capture.resources:
        counts[r.type] = counts.get(r.type, 0) + 1
    _table(
        f"{len(capture.resources)} resources",
        ["type", "count"],
        [(t, str(n)) for t, n in counts.items()],
    )
    _table(
        "ruleset, in evaluation order",
        ["#", "pri", "rule", "layer", "action", "match", "TLS", "mode"],
        ruleset_rows(rulebase),
    )
    for f in findings:
        typer.echo(f"{f.severity.value}: {f.message}")


def _policy_config_layer(path: Path, as_json: bool) -> dict[str, Any]:
    from .crossguard.policy_config import unknown_policies  # noqa: PLC0415

    try:
        extra = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        fail([Issue("--policy-config", str(exc))], as_json)
    if not isinstance(extra, dict):
        fail([Issue("--policy-config", "must be a JSON object")], as_json)
    unknown = unknown_policies([extra])
    if unknown:
        fail([Issue("--policy-config", f"unknown policies: {', '.join(unknown)}")], as_json)
    return extra


def _engine_config(path: Path) -> dict[str, str]:
    """The stack file's config as the engine hands it to a policy pack (PULUMI_CONFIG)."""
    from .config.schema import PROJECT  # noqa: PLC0415
    from .offline.engine import stack_config  # noqa: PLC0415

    return stack_config(yaml.safe_load(path.read_text())["config"], PROJECT)


@app.command()
@stack_command
def check(
    target: Target,
    policy_config: Annotated[
        Path | None,
        typer.Option("--policy-config", help="Policy config file, as for --policy-pack-config."),
    ] = None,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview", help="Judge a first preview: ids, UUIDs and addresses not known yet."
        ),
    ] = False,
) -> None:
    """plan + every policy of the pack, sent what the engine sends it: exit 1 on mandatory
    violations. Stack facts come from the stack's config, as in a real preview."""
    from .crossguard.registry import Level  # noqa: PLC0415
    from .offline.runner import check as run_check  # noqa: PLC0415
    from .offline.runtime import plan as run_plan  # noqa: PLC0415

    spec = target.spec()
    layers: list[dict[str, Any]] = []
    if policy_config is not None:
        layers.append(_policy_config_layer(policy_config, target.as_json))
    capture = run_plan(spec, preview=preview)
    try:
        violations = run_check(capture, layers, _engine_config(target.path))
    except ValueError as exc:  # the policy config: a level or a property the engine refuses
        fail([Issue("--policy-config", str(exc))], target.as_json)
    mandatory = [v for v in violations if v.level is Level.MANDATORY]
    if target.as_json:
        emit_json({"violations": [v.to_json() for v in violations]})
    else:
        for v in violations:
            where = f"\n          at {v.resource}" if v.resource else ""
            typer.echo(f"{v.level.value:9} {v.policy}: {v.message}{where}")
        typer.echo(f"{len(mandatory)} mandatory, {len(violations) - len(mandatory)} advisory")
    if mandatory:
        raise typer.Exit(EXIT_VIOLATIONS)


@app.command("policy-config")
@stack_command
def policy_config_cmd(target: Target) -> None:
    """Print the stack facts (lock, production, controller version) as policy config. The
    pack reads them from the stack's own config; use this only to pin them for a stack whose
    config does not carry them (`pulumi preview --policy-pack-config`)."""
    from .crossguard.policy_config import stack_facts  # noqa: PLC0415

    emit_json(stack_facts(target.spec()))


@app.command("policy-pack")
def policy_pack_cmd(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory to write (new, or an earlier pack).")
    ],
) -> None:
    """Write the policy pack, bound to this installation, and print its directory:
    `pulumi preview --policy-pack "$(containment policy-pack --out DIR)"`."""
    from .crossguard.pack_dir import PackDirError, write_pack  # noqa: PLC0415

    try:
        written = write_pack(out)
    except (PackDirError, OSError) as exc:
        fail([Issue("--out", str(exc))], as_json=False)
    typer.echo(str(written))


@app.command()
@stack_command
def lock(
    target: Target,
    from_outputs: Annotated[
        Path | None,
        typer.Option("--from-outputs", help="`pulumi stack output --json` of the deployed stack."),
    ] = None,
) -> None:
    """Write the network lock into the stack file (comments are kept)."""
    from .config.lock import build_lock, lock_document, read_outputs, write_lock  # noqa: PLC0415

    spec = target.spec()
    outputs: dict[str, Any] = {}
    if from_outputs is not None:
        try:
            outputs = read_outputs(from_outputs)
        except (OSError, ValueError) as exc:
            fail([Issue("--from-outputs", str(exc))], target.as_json)
    new_lock = build_lock(spec, outputs)
    write_lock(target.path, new_lock)
    target.spec()  # the file must still validate
    doc = lock_document(new_lock)
    if target.as_json:
        emit_json({"stackFile": str(target.path), "lock": doc})
        return
    typer.echo(f"locked {target.path}:")
    for key, value in doc.items():
        typer.echo(f"  {key}: {value}")
    missing = [k for k in ("agentSubnetId", "gatewayPrivateIp") if k not in doc]
    if missing:
        typer.echo(
            f"  not yet known: {', '.join(missing)}; after `pulumi up`, run "
            "`pulumi stack output --json > outputs.json` and lock again with --from-outputs"
        )


@app.command()
@stack_command
def replay(
    target: Target,
    log: Annotated[
        Path, typer.Argument(help="Flow log: JSON lines or CSV, optionally gzipped (see README).")
    ],
) -> None:
    """Replay recorded flows as if every rule were enforced: what promotion would cut."""
    from .compile.replay import replay_file  # noqa: PLC0415

    spec = target.spec()
    if not log.is_file():
        fail([Issue("LOG", f"{log} is not a readable file")], target.as_json)
    if target.as_json or not sys.stderr.isatty():
        report = replay_file(spec, log)
    else:
        from rich.progress import Progress  # noqa: PLC0415 - a bar only for people

        with Progress(transient=True) as bar:
            task = bar.add_task(f"replaying {log.name}", total=log.stat().st_size)
            report = replay_file(spec, log, lambda done: bar.update(task, completed=done))
    doc = report.to_json()
    if target.as_json:
        emit_json(doc)
        return
    _print_replay(doc)


def _print_replay(doc: dict[str, Any]) -> None:
    typer.echo(
        f"{doc['lines']} lines, {doc['flows']} flows: {doc['wouldChange']} would be cut by "
        f"promotion, {doc['unchanged']} keep their verdict; {doc['badLines']} bad line(s)"
    )
    for bad in doc["badLineSamples"]:
        typer.echo(f"  line {bad['line']}: {bad['reason']}")
    if doc["disagreements"]:
        typer.echo(
            f"  {doc['disagreements']} flow(s) logged with another action than this stack "
            "gives them today: the log predates the current ruleset, or the gateway drifted"
        )
    if doc["rules"]:
        _table(
            "flows each rule would cut once enforced",
            ["rule", "layer", "flows", "sources", "destinations", "first seen", "last seen"],
            [
                (
                    r["rule"],
                    r["layer"],
                    str(r["flows"]),
                    _count(r["sources"]),
                    _count(r["destinations"]),
                    r["firstSeen"] or "",
                    r["lastSeen"] or "",
                )
                for r in doc["rules"]
            ],
        )
    for s in doc["suggestions"]:
        typer.echo(f"{s['workload']}: add to {s['configKey']}:")
        for domain in s["add"]:
            typer.echo(f"  - {domain}")
        for u in s["unsuggestable"]:
            typer.echo(f"  ! {u['destination']}: {u['reason']}")


def _count(capped: dict[str, Any]) -> str:
    shown = ", ".join(capped["sample"][:3])
    more = "+" if capped["atLeast"] else ""
    return f"{capped['count']}{more} ({shown}{', ...' if capped['count'] > 3 else ''})"


def main() -> None:
    app()


if __name__ == "__main__":
    main()
