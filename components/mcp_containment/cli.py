"""``containment``: validate, plan, check, simulate, replay and lock a stack, offline.

Exit codes (DESIGN §4): 0 ok, 1 mandatory policy violations (``check``), 2 invalid input.
Every command takes ``--stack NAME`` (``stacks/Pulumi.NAME.yaml``) or ``--config FILE``, and
``--json`` for machines.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from . import policies
from .config import load_file, stack_file
from .egress.analysis import analyze
from .egress.export import policy_json, ruleset_rows
from .egress.ruleset import compile_policy
from .egress.simulate import FlowError
from .egress.simulate import simulate as run_simulation
from .lock import build_lock, lock_document, read_outputs, write_lock
from .spec import Spec
from .validation import Issue, SpecError

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


@app.callback()
def _root() -> None:
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


def config_path(stack: str | None, config: Path | None, stacks_dir: Path) -> Path:
    if (stack is None) == (config is None):
        raise typer.BadParameter("give exactly one of --stack NAME or --config FILE")
    return config if config is not None else stack_file(stack or "", stacks_dir)


def load_spec(stack: str | None, config: Path | None, stacks_dir: Path, as_json: bool) -> Spec:
    """Load and validate, or print every problem and exit 2."""
    try:
        return load_file(config_path(stack, config, stacks_dir))
    except SpecError as exc:
        fail(exc.issues, as_json)


@app.command()
def validate(
    stack: StackOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    stacks_dir: StacksDirOpt = Path("stacks"),
) -> None:
    """Parse and validate a stack config: exit 0 when valid, 2 with every problem when not."""
    spec = load_spec(stack, config, stacks_dir, as_json)
    if as_json:
        emit_json({"valid": True, "errors": []})
    else:
        kind = (
            "Foundry agents"
            if spec.foundry.enabled
            else (
                f"{len(spec.mcp_servers)} MCP server(s) on Kubernetes"
                if spec.kubernetes.enabled
                else "gateway only"
            )
        )
        typer.echo(f"valid: {spec.environment} on {spec.cloud.value}, {kind}")


@app.command()
def simulate(
    src: Annotated[str, typer.Option("--src", help="IPv4, group:NAME or pod:NAMESPACE/SERVER.")],
    dst: Annotated[str, typer.Option("--dst", help="FQDN, IPv4 or svctag:TAG.")],
    port: Annotated[int, typer.Option("--port", help="Destination port.")] = 443,
    protocol: Annotated[str, typer.Option("--protocol", help="tcp, udp or icmp.")] = "tcp",
    stack: StackOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    stacks_dir: StacksDirOpt = Path("stacks"),
) -> None:
    """First-match verdict for one flow over the whole layered policy, with its audit record."""
    spec = load_spec(stack, config, stacks_dir, as_json)
    try:
        verdict = run_simulation(spec, src, dst, port, protocol)
    except FlowError as exc:
        path, _, message = str(exc).partition(": ")
        fail([Issue(path, message)], as_json)
    if as_json:
        emit_json(verdict.to_json())
        return
    rule = verdict.rule.name if verdict.rule else "DCF default action"
    mode = "enforced" if verdict.enforced else f"monitor: would {verdict.would_action.value}"
    typer.echo(f"{verdict.verdict.value}  {src} -> {dst}:{port}/{protocol.lower()}")
    typer.echo(f"  rule:  {rule} ({verdict.layer.label}, {mode})")
    audit = verdict.audit()
    typer.echo(f"  audit: {json.dumps(audit, sort_keys=True)}")


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
def plan(
    stack: StackOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    stacks_dir: StacksDirOpt = Path("stacks"),
) -> None:
    """Run the program offline (mocked engine): resources, ruleset, groups, FirewallPolicies."""
    spec = load_spec(stack, config, stacks_dir, as_json)
    from . import offline  # noqa: PLC0415 - loads the Pulumi SDKs; validate/simulate do not

    capture = offline.plan(spec)
    policy = compile_policy(spec)
    findings = analyze(policy)
    names = {r.urn: r.name for r in capture.resources}
    if as_json:
        emit_json(
            {
                "resources": [
                    {
                        "type": r.type,
                        "name": r.name,
                        "parent": names.get(r.parent or ""),
                        "inputs": r.inputs,
                    }
                    for r in capture.resources
                ],
                **policy_json(policy),
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
        ruleset_rows(policy),
    )
    for f in findings:
        typer.echo(f"{f.severity.value}: {f.message}")


@app.command()
def check(
    stack: StackOpt = None,
    config: ConfigOpt = None,
    policy_config: Annotated[
        Path | None,
        typer.Option("--policy-config", help="Policy config file, as for --policy-pack-config."),
    ] = None,
    as_json: JsonOpt = False,
    stacks_dir: StacksDirOpt = Path("stacks"),
) -> None:
    """plan + every policy of the pack in-process: exit 1 on mandatory violations."""
    spec = load_spec(stack, config, stacks_dir, as_json)
    layers: list[dict[str, Any]] = [policies.policy_config(spec)]
    if policy_config is not None:
        try:
            extra = json.loads(policy_config.read_text())
        except (OSError, ValueError) as exc:
            fail([Issue("--policy-config", str(exc))], as_json)
        if not isinstance(extra, dict):
            fail([Issue("--policy-config", "must be a JSON object")], as_json)
        unknown = policies.unknown_policies([extra])
        if unknown:
            fail([Issue("--policy-config", f"unknown policies: {', '.join(unknown)}")], as_json)
        layers.append(extra)
    from . import offline  # noqa: PLC0415

    try:
        violations = offline.check(offline.plan(spec), layers)
    except ValueError as exc:
        fail([Issue("--policy-config", str(exc))], as_json)
    mandatory = [v for v in violations if v.level is policies.Level.MANDATORY]
    if as_json:
        emit_json({"violations": [v.to_json() for v in violations]})
    else:
        for v in violations:
            typer.echo(
                f"{v.level.value:9} {v.policy}: {v.message}"
                + (f"\n          at {v.resource}" if v.resource else "")
            )
        typer.echo(f"{len(mandatory)} mandatory, {len(violations) - len(mandatory)} advisory")
    if mandatory:
        raise typer.Exit(EXIT_VIOLATIONS)


@app.command("policy-config")
def policy_config_cmd(
    stack: StackOpt = None,
    config: ConfigOpt = None,
    stacks_dir: StacksDirOpt = Path("stacks"),
) -> None:
    """Print the policy config for `pulumi preview --policy-pack-config` (lock, production,
    controller version: the stack facts CrossGuard cannot see)."""
    spec = load_spec(stack, config, stacks_dir, True)
    emit_json(policies.policy_config(spec))


@app.command()
def lock(
    stack: StackOpt = None,
    config: ConfigOpt = None,
    from_outputs: Annotated[
        Path | None,
        typer.Option("--from-outputs", help="`pulumi stack output --json` of the deployed stack."),
    ] = None,
    as_json: JsonOpt = False,
    stacks_dir: StacksDirOpt = Path("stacks"),
) -> None:
    """Write the network lock into the stack file (comments are kept)."""
    path = config_path(stack, config, stacks_dir)
    spec = load_spec(stack, config, stacks_dir, as_json)
    outputs: dict[str, Any] = {}
    if from_outputs is not None:
        try:
            outputs = read_outputs(from_outputs)
        except (OSError, ValueError) as exc:
            fail([Issue("--from-outputs", str(exc))], as_json)
    new_lock = build_lock(spec, outputs)
    write_lock(path, new_lock)
    load_spec(None, path, stacks_dir, as_json)  # the file must still validate
    doc = lock_document(new_lock)
    if as_json:
        emit_json({"stackFile": str(path), "lock": doc})
        return
    typer.echo(f"locked {path}:")
    for key, value in doc.items():
        typer.echo(f"  {key}: {value}")
    missing = [k for k in ("agentSubnetId", "gatewayPrivateIp") if k not in doc]
    if missing:
        typer.echo(
            f"  not yet known: {', '.join(missing)}; after `pulumi up`, run "
            "`pulumi stack output --json > outputs.json` and lock again with --from-outputs"
        )


@app.command()
def replay(
    log: Annotated[
        Path, typer.Argument(help="Flow log: JSON lines or CSV, optionally gzipped (see README).")
    ],
    stack: StackOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    stacks_dir: StacksDirOpt = Path("stacks"),
) -> None:
    """Replay recorded flows as if every rule were enforced: what promotion would cut."""
    spec = load_spec(stack, config, stacks_dir, as_json)
    if not log.is_file():
        fail([Issue("LOG", f"{log} is not a readable file")], as_json)
    from .egress.replay import replay_file  # noqa: PLC0415

    if as_json or not sys.stderr.isatty():
        report = replay_file(spec, log)
    else:
        from rich.progress import Progress  # noqa: PLC0415 - a bar only for people

        with Progress(transient=True) as bar:
            task = bar.add_task(f"replaying {log.name}", total=log.stat().st_size)
            report = replay_file(spec, log, lambda done: bar.update(task, completed=done))
    if as_json:
        emit_json(report.to_json())
        return
    doc = report.to_json()
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
