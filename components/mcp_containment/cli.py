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
import re
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from typer.core import TyperGroup, TyperOption

from .config.load import load_file, stack_file
from .config.schema import Spec
from .config.validate import Issue, SpecError
from .version import __version__

if typing.TYPE_CHECKING:
    from .config.lock import LockPlan
    from .offline.runtime import Capture


class _Group(TyperGroup):
    """Usage errors (a missing option, ``--port 443.0``, an unknown flag) keep the contract of
    every other bad input: exit 2 and, under ``--json``, JSON on stdout instead of a box."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except typer.TyperException as exc:  # typer's own click: UsageError, BadParameter, ...
            emit_json(_invalid([_usage_issue(exc)]))
            sys.exit(EXIT_INVALID)
        except typer.Abort:
            sys.exit(1)  # click's own code for an abort (Ctrl-C at a prompt)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def _usage_issue(exc: typer.TyperException) -> Issue:
    """The option or argument a usage error is about, and click's own message."""
    param = getattr(exc, "param", None)
    hint = getattr(exc, "param_hint", None)
    if isinstance(param, TyperOption) and param.opts:
        where = param.opts[0]
    elif param is not None:
        where = str(getattr(param, "name", "") or "argument").upper()  # an argument: LOG
    elif getattr(exc, "option_name", None):
        where = str(exc.option_name)  # type: ignore[attr-defined]
    elif isinstance(hint, str):
        where = hint.strip("'\"")
    else:
        where = "usage"
    format_message = getattr(exc, "format_message", None)
    return Issue(where, format_message() if callable(format_message) else str(exc))


app = typer.Typer(
    cls=_Group,
    name="containment",
    help="Egress containment for MCP servers and AI agents: offline plan, check and simulation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_INVALID = 2
EXIT_PULUMI_FAILED = 3

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


_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")


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
        if self.stack is not None and not _STACK_NAME.fullmatch(self.stack):
            fail(
                [Issue("--stack", f"{self.stack!r} is not a stack name (letters, digits, -_.)")],
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


def _invalid(issues: list[Issue]) -> dict[str, Any]:
    return {"valid": False, "errors": [{"path": i.path, "message": i.message} for i in issues]}


def fail(issues: list[Issue], as_json: bool) -> NoReturn:
    if as_json:
        emit_json(_invalid(issues))
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
        emit_json({"valid": True, "errors": [], "stack": _summary(spec)})
        return
    if spec.foundry.enabled:
        kind = "Foundry agents"
    elif spec.kubernetes.enabled:
        kind = f"{len(spec.mcp_servers)} MCP server(s) on Kubernetes"
    else:
        kind = "gateway only"
    typer.echo(f"valid: {spec.environment} on {spec.cloud.value}, {kind}")


def _summary(spec: Spec) -> dict[str, Any]:
    """What a pipeline needs to know about a stack: where it runs, and its cluster."""
    k8s = spec.kubernetes
    cluster_id = k8s.cluster_id or ""
    _, _, after = cluster_id.lower().partition("/resourcegroups/")
    cluster = {"clusterName": k8s.cluster_name, "clusterId": k8s.cluster_id}
    if spec.cloud.value == "azure" and after:
        cluster["resourceGroup"] = cluster_id[-len(after) :].split("/")[0]
    return {
        "cloud": spec.cloud.value,
        "environment": spec.environment,
        "region": spec.network.region,
        "namePrefix": spec.name_prefix,
        "kubernetes": cluster if k8s.enabled else None,
    }


def _port(value: Any) -> int:
    """An integer port, 1-65535: click's INT would read ``443.0`` as 443."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise typer.BadParameter(
            f"{value!r} is not a port number (an integer 1-65535)", param_hint="'--port'"
        )
    if not 0 < number < 65536:
        raise typer.BadParameter(f"{value!r} is out of range (1-65535)", param_hint="'--port'")
    return number


@app.command()
@stack_command
def simulate(
    target: Target,
    src: Annotated[str, typer.Option("--src", help="IPv4, group:NAME or pod:NAMESPACE/SERVER.")],
    dst: Annotated[str, typer.Option("--dst", help="FQDN, IPv4 or svctag:TAG.")],
    port: Annotated[
        int, typer.Option("--port", help="Destination port (1-65535).", parser=_port)
    ] = 443,
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
    from rich.text import Text  # noqa: PLC0415

    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text: no markup read from the cells
    Console().print(table)


@app.command()
@stack_command
def plan(
    target: Target,
    save: Annotated[
        Path | None,
        typer.Option("--save", help="Also write the plan to FILE, for check --plan FILE."),
    ] = None,
) -> None:
    """Run the program offline (mocked engine): resources, ruleset, groups, FirewallPolicies."""
    from .compile.ruleset import compile_rulebase  # noqa: PLC0415
    from .core.analysis import analyze  # noqa: PLC0415
    from .core.export import rulebase_json, ruleset_rows  # noqa: PLC0415
    from .offline.paths import private_path_report  # noqa: PLC0415
    from .offline.runtime import plan as run_plan  # noqa: PLC0415 - loads the Pulumi SDKs

    spec = target.spec()
    capture = run_plan(spec)
    if save is not None:
        _save_plan(capture, spec, save, target.as_json)
    rulebase = compile_rulebase(spec)
    paths = private_path_report(spec, capture, rulebase)
    findings = analyze(rulebase) + list(paths.findings)
    if target.as_json:
        emit_json(
            {
                "resources": _resources_json(capture),
                **rulebase_json(rulebase),
                "privatePaths": paths.to_json(),
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
    if paths.paths:
        _table(
            f"private paths (no rule needed: resolved inside the spoke {paths.spoke_cidr})",
            ["dependency", "resource", "endpoint", "linked zones", "resolves to"],
            paths.rows(),
        )
    for f in findings:
        typer.echo(f"{f.severity.value}: {f.message}")


def _resources_json(capture: Capture) -> list[dict[str, Any]]:
    names = {r.urn: r.name for r in capture.resources}
    return [
        {"type": r.type, "name": r.name, "parent": names.get(r.parent or ""), "inputs": r.inputs}
        for r in capture.resources
    ]


def _save_plan(capture: Capture, spec: Spec, path: Path, as_json: bool) -> None:
    from .offline import saved  # noqa: PLC0415

    try:
        saved.save(capture, spec, path)
    except (OSError, ValueError) as exc:
        fail([Issue("--save", f"{path}: {exc}")], as_json)


def _load_plan(path: Path, spec: Spec, preview: bool, as_json: bool) -> Capture:
    from .offline import saved  # noqa: PLC0415

    try:
        return saved.load(path, spec, preview)
    except saved.StalePlan as exc:
        fail([Issue("--plan", str(exc))], as_json)


def _policy_config_layer(path: Path, as_json: bool) -> dict[str, Any]:
    from .config.files import read_text  # noqa: PLC0415
    from .crossguard.policy_config import unknown_policies  # noqa: PLC0415

    try:
        extra = json.loads(read_text(path, "policy config file"))
    except SpecError as exc:
        fail(exc.issues, as_json)
    except ValueError as exc:
        fail([Issue("--policy-config", f"{path}: not JSON ({exc})")], as_json)
    if not isinstance(extra, dict):
        fail([Issue("--policy-config", "must be a JSON object")], as_json)
    unknown = unknown_policies([extra])
    if unknown:
        fail([Issue("--policy-config", f"unknown policies: {', '.join(unknown)}")], as_json)
    return extra


def _policy_config_issues(layers: list[dict[str, Any]]) -> list[Issue]:
    """The merged config against each policy's config schema, as the Pulumi CLI checks it
    before a preview; a lock must also be one `containment lock` could have written."""
    import jsonschema  # noqa: PLC0415
    from pydantic import ValidationError  # noqa: PLC0415

    from .config.schema import Lock  # noqa: PLC0415
    from .crossguard.policies import POLICIES  # noqa: PLC0415
    from .crossguard.policy_config import merge_config  # noqa: PLC0415

    try:
        merged = merge_config(layers)
    except ValueError as exc:
        return [Issue("--policy-config", str(exc))]
    issues: list[Issue] = []
    for policy in POLICIES:
        props = merged[policy.name].properties
        schema = {"type": "object", "properties": dict(policy.config)}
        for err in jsonschema.Draft7Validator(schema).iter_errors(props):
            where = ".".join(map(str, [policy.name, *err.path]))
            issues.append(Issue("--policy-config", f"{where}: {err.message}"))
        if "lock" in policy.config and isinstance(props.get("lock"), dict) and props["lock"]:
            try:
                Lock.model_validate(props["lock"])
            except ValidationError as exc:
                issues += [
                    Issue(
                        "--policy-config",
                        f"{policy.name}.lock.{'.'.join(map(str, e['loc']))}: {e['msg']}",
                    )
                    for e in exc.errors()
                ]
    return issues


def _engine_config(path: Path) -> dict[str, str]:
    """The stack file's config as the engine hands it to a policy pack (PULUMI_CONFIG)."""
    from .config.files import read_text  # noqa: PLC0415
    from .config.load import config_of, parse_stack_text  # noqa: PLC0415
    from .config.schema import PROJECT  # noqa: PLC0415
    from .offline.engine import stack_config  # noqa: PLC0415

    where = str(path)
    config = config_of(parse_stack_text(read_text(path, "stack file"), where), where)
    return stack_config(config, PROJECT)


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
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan", help="Judge the plan saved by plan --save FILE instead of planning again."
        ),
    ] = None,
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
        issues = _policy_config_issues(layers)
        if issues:
            fail(issues, target.as_json)
    if plan_file is not None:
        capture = _load_plan(plan_file, spec, preview, target.as_json)
    else:
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
    """Write the network lock into the stack file: validated first, atomically, every byte
    outside the lock kept."""
    from .config.files import write_atomic  # noqa: PLC0415
    from .config.lock import (  # noqa: PLC0415
        deployed_values,
        plan_lock,
        read_outputs,
        render_locked_file,
    )

    spec = target.spec()
    try:
        outputs = read_outputs(from_outputs) if from_outputs is not None else {}
        planned = plan_lock(spec, deployed_values(outputs))
        data = render_locked_file(target.path, planned.lock)
    except SpecError as exc:
        fail(exc.issues, target.as_json)
    try:
        write_atomic(target.path, data)
    except OSError as exc:
        reason = f"could not be written ({exc.strerror or exc}); it is unchanged"
        fail([Issue(str(target.path), reason)], target.as_json)
    _print_lock(target, planned)


def _print_lock(target: Target, planned: LockPlan) -> None:
    from .config.lock import lock_document  # noqa: PLC0415

    doc = lock_document(planned.lock)
    if target.as_json:
        emit_json(
            {
                "stackFile": str(target.path),
                "lock": doc,
                "carried": list(planned.carried),
                "dropped": list(planned.dropped),
            }
        )
        return
    typer.echo(f"locked {target.path}:")
    for key, value in doc.items():
        typer.echo(f"  {key}: {value}")
    if planned.carried:
        typer.echo(f"  kept from the existing lock: {', '.join(planned.carried)}")
    if planned.dropped:
        typer.echo(f"  no longer locked (teardown acknowledged): {', '.join(planned.dropped)}")
    # The second zone's subnet id is known once deployed, when the stack declares that subnet.
    second_zone = ("haAgentSubnetId",) if "haAgentSubnetCidr" in doc else ()
    missing = [k for k in ("agentSubnetId", *second_zone, "gatewayPrivateIp") if k not in doc]
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
    spec = target.spec()
    if not log.is_file():
        fail([Issue("LOG", f"{log} is not a readable file")], target.as_json)
    doc = _replay_report(spec, log, target.as_json)
    if target.as_json:
        emit_json(doc)
        return
    _print_replay(doc)


def _replay_report(spec: Spec, log: Path, as_json: bool) -> dict[str, Any]:
    from .compile.replay import replay_file  # noqa: PLC0415
    from .core.flowlog import LogFormatError  # noqa: PLC0415

    try:
        if as_json or not sys.stderr.isatty():
            return replay_file(spec, log).to_json()
        from rich.progress import Progress  # noqa: PLC0415 - a bar only for people

        with Progress(transient=True) as bar:
            task = bar.add_task(f"replaying {_safe(log.name)}", total=log.stat().st_size)
            return replay_file(spec, log, lambda done: bar.update(task, completed=done)).to_json()
    except LogFormatError as exc:
        fail([Issue("LOG", f"{log}: {exc}")], as_json)
    except OSError as exc:
        fail([Issue("LOG", f"{log}: cannot be read ({exc.strerror or exc})")], as_json)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _safe(text: Any) -> str:
    """Text from a log, made inert for a terminal: control characters (escape sequences, OSC
    titles, cursor moves, bidi overrides) are shown as escapes, never sent."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(text))


def _print_replay(doc: dict[str, Any]) -> None:
    typer.echo(
        f"{doc['lines']} lines, {doc['flows']} flows: {doc['wouldChange']} would be cut by "
        f"promotion, {doc['unchanged']} keep their verdict; {doc['badLines']} bad line(s)"
    )
    for bad in doc["badLineSamples"]:
        typer.echo(f"  line {bad['line']}: {_safe(bad['reason'])}")
    if doc["incomplete"]:
        typer.echo(f"  the log ends early, at {_safe(doc['incomplete'])}")
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
        typer.echo(f"{_safe(s['workload'])}: add to {s['configKey']}:")
        for domain in s["add"]:
            typer.echo(f"  - {_safe(domain)}")
        for u in s["unsuggestable"]:
            typer.echo(f"  ! {_safe(u['destination'])}: {_safe(u['reason'])}")
    if doc["suggestionsOmitted"]:
        typer.echo(f"  ({doc['suggestionsOmitted']} more entries not listed: memory cap)")


def _count(capped: dict[str, Any]) -> str:
    shown = ", ".join(_safe(v) for v in capped["sample"][:3])
    more = "+" if capped["atLeast"] else ""
    return f"{capped['count']}{more} ({shown}{', ...' if capped['count'] > 3 else ''})"


CONTROLLER_IP = "aviatrix:controllerIp"


@app.command()
def controller(
    stacks_dir: StacksDirOpt = Path("stacks"),
    as_json: JsonOpt = False,
) -> None:
    """Check the stacks that share each controller (by aviatrix:controllerIp) together: one
    owner, distinct prefixes, every stack in the owner's tree, no name declared twice."""
    import yaml  # noqa: PLC0415

    from .compile.controller import check_shared_controller  # noqa: PLC0415

    groups: dict[str, dict[str, Spec]] = {}
    issues: list[Issue] = []
    for path in sorted(stacks_dir.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        try:
            spec = load_file(path)
        except SpecError as exc:
            issues += [Issue(f"{stack}:{i.path}", i.message) for i in exc.issues]
            continue
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        groups.setdefault(str(config.get(CONTROLLER_IP, "")), {})[stack] = spec
    if not groups and not issues:
        issues.append(Issue("--stacks-dir", f"no Pulumi.<stack>.yaml file in {stacks_dir}"))
    for address, specs in sorted(groups.items()):
        if not address:
            issues += [Issue(f"{s}:{CONTROLLER_IP}", "is not set") for s in sorted(specs)]
            continue
        issues += check_shared_controller(specs)
    if issues:
        fail(issues, as_json)
    if as_json:
        emit_json({"valid": True, "controllers": {a: sorted(s) for a, s in sorted(groups.items())}})
        return
    for address, specs in sorted(groups.items()):
        typer.echo(f"valid: controller {address}: {', '.join(sorted(specs))}")


@app.command()
@stack_command
def catalog(
    target: Target,
    out: Annotated[
        Path,
        typer.Option("--out", help="Directory of the catalog repository to write entries into."),
    ],
) -> None:
    """Render mcpServers as Obot catalog entries, one file per server, plus .obotcatalogs."""
    from .compile.catalog import CatalogError, file_name, write  # noqa: PLC0415
    from .core.obot import catalog_entry_id  # noqa: PLC0415

    spec = target.spec()
    if not spec.mcp_servers:
        fail(
            [Issue("mcpServers", "declares no server: there is no catalog to render")],
            target.as_json,
        )
    try:
        written = write(spec, out)
    except (CatalogError, OSError) as exc:
        fail([Issue("--out", str(exc))], target.as_json)
    entries = {
        s.name: {"file": file_name(s.name), "obotEntryId": catalog_entry_id(s.title)}
        for s in sorted(spec.mcp_servers, key=lambda s: s.name)
    }
    if target.as_json:
        emit_json(
            {
                "directory": str(out),
                "written": list(written.written),
                "removed": list(written.removed),
                "entries": entries,
            }
        )
        return
    typer.echo(f"wrote {len(entries)} catalog entries and .obotcatalogs to {out}:")
    for entry in entries.values():
        typer.echo(f"  {entry['file']}  (Obot entry id {entry['obotEntryId']})")
    for name in written.removed:
        typer.echo(f"  removed {name} (no longer declared)")
    typer.echo(
        "commit and push them to the catalog repository, then `pulumi up` registers and "
        "refreshes it in Obot"
    )


OBOT_API_KEY_ENV = "OBOT_API_KEY"


@app.command()
@stack_command
def teardown(
    target: Target,
    work_dir: Annotated[
        Path, typer.Option("--work-dir", help="The Pulumi project directory (Pulumi.yaml).")
    ] = Path("."),
    sal_wait: Annotated[
        int,
        typer.Option(
            "--sal-wait",
            min=0,
            help="Seconds to wait after the capability host for Azure to release the agent "
            "subnet's service association link.",
        ),
    ] = 900,
) -> None:
    """Unprotect the library's resources and destroy the stack with your Pulumi CLI, in an
    order Azure and the controller accept. Needs teardownAcknowledged in the lock."""
    import time  # noqa: PLC0415

    from .operations.teardown import TeardownRefused, run_teardown  # noqa: PLC0415

    spec = target.spec()
    if spec.lock is None or not spec.lock.teardown_acknowledged:
        fail(
            [
                Issue(
                    "lock.teardownAcknowledged",
                    "is not recorded; teardown destroys the network a capability host is bound "
                    "to: add teardownAcknowledged: '<ticket, date>' to the stack's lock and "
                    "commit it first",
                )
            ],
            target.as_json,
        )
    name = target.stack or _stack_name(target.path, target.as_json)

    def echo(line: str) -> None:
        typer.echo(line.rstrip("\n"), err=target.as_json)

    try:
        steps = run_teardown(
            name, str(work_dir.resolve()), sal_wait=sal_wait, sleep=time.sleep, echo=echo
        )
    except TeardownRefused as exc:
        fail([Issue("--stack", str(exc))], target.as_json)
    except Exception as exc:  # the Pulumi CLI's own errors, whatever their class
        typer.echo(f"teardown stopped: {exc}", err=True)
        raise typer.Exit(EXIT_PULUMI_FAILED) from None
    if target.as_json:
        emit_json({"stack": name, "steps": [s.to_json() for s in steps]})
        return
    typer.echo(f"torn down {name}: " + ", ".join(f"{s.action} ({s.detail})" for s in steps))


def _stack_name(path: Path, as_json: bool) -> str:
    """The Pulumi stack a ``Pulumi.<stack>.yaml`` file configures."""
    if path.name.startswith("Pulumi.") and path.name.endswith(".yaml") and path.name.count(".") > 1:
        return path.name[len("Pulumi.") : -len(".yaml")]
    fail([Issue("--config", f"{path.name} is not named Pulumi.<stack>.yaml")], as_json)


@app.command()
@stack_command
def verify(
    target: Target,
    policies: Annotated[
        Path | None,
        typer.Option(
            "--policies",
            help="`kubectl get firewallpolicies -A -o json` output; without it kubectl is run.",
        ),
    ] = None,
    kubeconfig: Annotated[
        Path | None, typer.Option("--kubeconfig", help="Kubeconfig for the live read.")
    ] = None,
    context: Annotated[
        str | None, typer.Option("--context", help="Kubeconfig context for the live read.")
    ] = None,
    servers: Annotated[
        Path | None,
        typer.Option(
            "--servers",
            help="Obot's GET /api/mcp-catalogs/default/entries/all-servers answer; without it "
            f"Obot is asked (kubernetes.obot.url or --obot-url, key in ${OBOT_API_KEY_ENV}).",
        ),
    ] = None,
    obot_url: Annotated[
        str | None, typer.Option("--obot-url", help="Obot's base URL for the live read.")
    ] = None,
) -> None:
    """Compare the declared MCP servers with the running FirewallPolicies and Obot servers:
    exit 0 clean, 1 drift, 2 bad input."""
    from .compile import verify as run  # noqa: PLC0415
    from .core.verify import InputError  # noqa: PLC0415

    spec = target.spec()
    if not spec.kubernetes.enabled:
        fail([Issue("kubernetes.enabled", "is false: there is nothing to verify")], target.as_json)
    try:
        policies_doc = (
            run.read_json(policies, "--policies")
            if policies is not None
            else run.kubectl_policies(kubeconfig, context)
        )
        version = None
        if servers is not None:
            servers_doc = run.read_json(servers, "--servers")
        else:
            servers_doc, version = run.obot_servers(*_obot_target(spec, obot_url, target.as_json))
        report = run.verify(
            spec,
            policies_doc,
            servers_doc,
            version,
            policies_source=str(policies) if policies is not None else "kubectl",
            servers_source=str(servers) if servers is not None else "obot",
        )
    except InputError as exc:
        fail([Issue(path, message) for path, message in exc.issues], target.as_json)
    _print_verify(report.to_json(), target.as_json)
    if not report.clean:
        raise typer.Exit(EXIT_VIOLATIONS)


def _obot_target(spec: Spec, obot_url: str | None, as_json: bool) -> tuple[str, str]:
    import os  # noqa: PLC0415

    url = obot_url or spec.kubernetes.obot.url
    if not url:
        fail(
            [Issue("--servers", "give a file, or Obot's URL (--obot-url or kubernetes.obot.url)")],
            as_json,
        )
    key = os.environ.get(OBOT_API_KEY_ENV, "")
    if not key:
        fail(
            [Issue(OBOT_API_KEY_ENV, "is not set: the live read needs an Obot API key (ok1-...)")],
            as_json,
        )
    return url, key


def _print_verify(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(doc)
        return
    checked = doc["checked"]
    summary = f"{checked['servers']} server(s), {checked['firewallPolicies']} FirewallPolicies"
    if doc["clean"]:
        typer.echo(f"clean: {summary} match the declaration")
        return
    # A plain aligned table: drift details are sentences, never cut to a terminal's width.
    rows = [("KIND", "SUBJECT", "ENTRY", "DETAIL")]
    rows += [(d["kind"], d["subject"], d["entry"] or "-", d["message"]) for d in doc["drifts"]]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    typer.echo(f"{len(doc['drifts'])} drift(s) over {summary}:")
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo("  ".join([*cells, row[3]]))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
