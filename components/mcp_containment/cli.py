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

from .config import load_file, stack_file
from .egress.simulate import FlowError
from .egress.simulate import simulate as run_simulation
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
