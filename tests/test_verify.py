"""``containment verify``: every planted drift found with its kind, none in a clean pair; inputs
from files, from a stand-in ``kubectl`` on PATH and from a local Obot; bad inputs exit 2."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcp_containment.cli import app
from mcp_containment.compile import verify as live
from mcp_containment.config.load import load_file
from mcp_containment.core.verify import DriftKind, InputError, parse_policies, parse_servers

from .fake_obot import FakeObot

FIXTURES = Path(__file__).parent / "fixtures" / "obot"
VERIFY = FIXTURES / "verify"
STACK = VERIFY / "Pulumi.verify.yaml"
CLEAN = (FIXTURES / "firewallpolicies.json", VERIFY / "servers-clean.json")
DRIFTED = (VERIFY / "firewallpolicies-drifted.json", VERIFY / "servers-drifted.json")
runner = CliRunner()


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _report(pair: tuple[Path, Path]) -> Any:
    return live.verify(load_file(STACK), _load(pair[0]), _load(pair[1]))


def test_a_clean_pair_has_no_drift() -> None:
    report = _report(CLEAN)
    assert report.drifts == ()
    assert (report.servers, report.policies) == (3, 2)


def test_the_wire_format_answer_is_read_the_same() -> None:
    # servers.wire.json is the compact Go-ordered body Obot sends; needsUpdate is in it.
    report = live.verify(load_file(STACK), _load(CLEAN[0]), _load(FIXTURES / "servers.wire.json"))
    assert [(d.kind, d.subject) for d in report.drifts] == [
        (DriftKind.UPDATE_PENDING, "server:ms1b9rtd")
    ]


def test_every_planted_drift_is_found_with_its_kind() -> None:
    found = [(d.kind, d.subject, d.entry) for d in _report(DRIFTED).drifts]
    assert found == [
        (DriftKind.POLICY_MISSING, "server:ms1q2r5t", "example-github"),
        (DriftKind.ALLOW_ALL, "server:ms1h6j9n", None),
        (DriftKind.DOMAINS_DIFFER, "server:ms1k7x2p", "example-github"),
        (DriftKind.SPEC_DIFFERS, "server:ms1b9rtd", "example-calculator"),
        (DriftKind.UPDATE_PENDING, "server:ms1b9rtd", "example-calculator"),
        (DriftKind.FOREIGN_POLICY, "obot-mcp/allow-all-mcp", None),
        (DriftKind.CRD_INVALID, "tools/broken-egress", None),
    ]


def test_drift_details_name_what_differs() -> None:
    drifts = {d.kind: d for d in _report(DRIFTED).drifts}
    domains = drifts[DriftKind.DOMAINS_DIFFER]
    assert domains.expected == ["*.githubusercontent.com", "api.github.com"]
    assert domains.actual == ["*.githubusercontent.com", "api.github.com", "gist.github.com"]
    assert drifts[DriftKind.ALLOW_ALL].actual == ["*"]
    assert "'allow' is not one of" in drifts[DriftKind.CRD_INVALID].message
    assert drifts[DriftKind.SPEC_DIFFERS].actual["rules"][0]["logging"] is False


def test_a_declared_workload_is_checked_too() -> None:
    spec = load_file(Path(__file__).parent.parent / "stacks" / "Pulumi.obot-eks.yaml")
    servers = {"items": None}  # Obot answers an empty list with null
    absent = live.verify(spec, {"kind": "List", "items": []}, servers)
    assert [(d.kind, d.subject) for d in absent.drifts] == [
        (DriftKind.POLICY_MISSING, "search-tools/internal-search-egress")
    ]
    declared = live.declared(spec).workloads["internal-search"]
    running = {"kind": "List", "items": [json.loads(json.dumps(declared, sort_keys=True))]}
    assert live.verify(spec, running, servers).drifts == ()


# --- input shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ([], "--policies"),
        ({"kind": "PodList", "items": []}, "--policies: kind"),
        ({"kind": "List"}, "--policies: items"),
        ({"kind": "List", "items": [{"kind": "Pod", "metadata": {}}]}, "--policies: items[0].kind"),
        (
            {"kind": "List", "items": [{"kind": "FirewallPolicy", "metadata": {"name": "a"}}]},
            "--policies: items[0].metadata.namespace",
        ),
    ],
)
def test_policies_that_are_not_kubectls_answer_are_refused(doc: Any, path: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_policies(doc)
    assert path in [p for p, _ in exc.value.issues]


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"servers": []}, "--servers: items"),
        ({"items": {"id": "x"}}, "--servers: items"),
        (
            {"items": [{"id": "ms1", "type": "mcpcatalog", "manifest": {}}]},
            "--servers: items[0].type",
        ),
        (
            {"items": [{"id": "ms1", "type": "mcpserver", "manifest": {"name": "x"}}]},
            "--servers: items[0].manifest.runtime",
        ),
        (
            {
                "items": [
                    {
                        "id": "ms1",
                        "type": "mcpserver",
                        "manifest": {"runtime": "npx"},
                        "needsUpdate": "yes",
                    }
                ]
            },
            "--servers: items[0].needsUpdate",
        ),
    ],
)
def test_servers_that_are_not_obots_answer_are_refused(doc: Any, path: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_servers(doc)
    assert path in [p for p, _ in exc.value.issues]


# --- the command ----------------------------------------------------------------------------------


def _verify(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["verify", "--config", str(STACK), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_exit_0_clean_1_drift() -> None:
    code, out, _ = _verify("--policies", str(CLEAN[0]), "--servers", str(CLEAN[1]))
    assert code == 0 and out.startswith("clean: 3 server(s), 2 FirewallPolicies"), out
    code, out, _ = _verify("--policies", str(DRIFTED[0]), "--servers", str(DRIFTED[1]), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["clean"] is False
    assert {d["kind"] for d in doc["drifts"]} == {k.value for k in DriftKind} - {"obot-settings"}
    code, out, _ = _verify("--policies", str(DRIFTED[0]), "--servers", str(DRIFTED[1]))
    assert code == 1 and "foreign-policy" in out and "obot-mcp/allow-all-mcp" in out


def test_cli_exit_2_on_a_bad_input_naming_it(tmp_path: Path) -> None:
    swapped = _verify("--policies", str(CLEAN[1]), "--servers", str(CLEAN[0]), "--json")
    assert swapped[0] == 2
    paths = [e["path"] for e in json.loads(swapped[1])["errors"]]
    assert f"{CLEAN[1]}: kind" in paths and f"{CLEAN[0]}: items[0].type" in paths
    missing = _verify("--policies", str(tmp_path / "none.json"), "--servers", str(CLEAN[1]))
    assert missing[0] == 2 and "--policies" in missing[2]
    (tmp_path / "bad.json").write_text("{")
    bad = _verify("--policies", str(tmp_path / "bad.json"), "--servers", str(CLEAN[1]))
    assert bad[0] == 2 and "is not JSON" in bad[2]


# --- live: a stand-in kubectl, a local Obot ---------------------------------------------------


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``kubectl`` on PATH that records its arguments and prints the clean fixture."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "open(os.environ['KUBECTL_ARGS'], 'w').write('\\n'.join(sys.argv[1:]))\n"
        "if os.environ.get('KUBECTL_FAIL'):\n"
        "    sys.stderr.write('error: You must be logged in to the server (Unauthorized)\\n')\n"
        "    sys.exit(1)\n"
        f"sys.stdout.write(open({str(CLEAN[0])!r}).read())\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECTL_ARGS", str(tmp_path / "args"))
    return tmp_path / "args"


@pytest.fixture
def obot() -> Iterator[tuple[FakeObot, str]]:
    fake = FakeObot()
    fake.servers = _load(VERIFY / "servers-clean.json")["items"]
    yield from ((fake, url) for url in fake.serve())


def test_live_reads_kubectl_and_obot(kubectl: Path, obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    env = {"OBOT_API_KEY": fake.api_key}
    code, out, _ = _verify(
        "--kubeconfig", "/etc/k/admin.conf", "--context", "aks-weu", "--obot-url", url, env=env
    )
    assert code == 0, out
    assert kubectl.read_text().splitlines() == [
        "get",
        "firewallpolicies.networking.aviatrix.com",
        "--all-namespaces",
        "--output",
        "json",
        "--kubeconfig",
        "/etc/k/admin.conf",
        "--context",
        "aks-weu",
    ]
    assert fake.paths("GET") == ["/api/mcp-catalogs/default/entries/all-servers", "/api/version"]
    assert all(r.headers["Authorization"] == f"Bearer {fake.api_key}" for r in fake.requests)


def test_live_reports_obots_settings(kubectl: Path, obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    fake.version["mcpDefaultDenyAllEgress"] = False
    code, out, _ = _verify("--obot-url", url, "--json", env={"OBOT_API_KEY": fake.api_key})
    assert code == 1
    (drift,) = json.loads(out)["drifts"]
    assert (drift["kind"], drift["expected"], drift["actual"]) == ("obot-settings", True, False)


def test_live_failures_exit_2(
    kubectl: Path, obot: tuple[FakeObot, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = obot
    no_key = _verify("--obot-url", url, env={"OBOT_API_KEY": ""})
    assert no_key[0] == 2 and "OBOT_API_KEY" in no_key[2]
    wrong = _verify("--obot-url", url, env={"OBOT_API_KEY": "ok1-wrong"})
    assert wrong[0] == 2 and "HTTP 401" in wrong[2] and "ok1-wrong" not in wrong[2]
    monkeypatch.setenv("KUBECTL_FAIL", "1")
    denied = _verify("--servers", str(CLEAN[1]))
    assert denied[0] == 2 and "kubectl: exit 1: error: You must be logged in" in denied[2]
