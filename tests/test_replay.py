"""Replaying recorded flows: counts asserted exactly against a hand-checked fixture log."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcp_containment.cli import app
from mcp_containment.compile.replay import LogError, parse_flow, replay, replay_file
from mcp_containment.config.load import load_file
from mcp_containment.core.flowlog import LogFormatError

from .helpers import STACKS_DIR

FIXTURES = Path(__file__).parent / "fixtures" / "replay"
JSONL = FIXTURES / "foundry-dev-flows.jsonl"
CSV = FIXTURES / "foundry-dev-flows.csv"


def report_of(path: Path, stack: str = "foundry-dev") -> dict[str, Any]:
    return replay_file(load_file(STACKS_DIR / f"Pulumi.{stack}.yaml"), path).to_json()


def test_jsonl_report_counts_exactly() -> None:
    doc = report_of(JSONL)
    assert (doc["lines"], doc["flows"], doc["wouldChange"], doc["unchanged"]) == (14, 9, 6, 3)
    # The gateway logged DENY for attacker.io while the stack still watches threat intel.
    assert doc["disagreements"] == 1
    assert doc["badLines"] == 4
    assert [b["line"] for b in doc["badLineSamples"]] == [10, 11, 12, 14]
    reasons = [b["reason"] for b in doc["badLineSamples"]]
    assert reasons[0].startswith("not JSON")
    assert reasons[1] == "port: missing"
    assert reasons[2].startswith("protocol: 'sctp'")
    assert reasons[3] == "source: pod sources need kubernetes.enabled"

    rules = {r["rule"]: r for r in doc["rules"]}
    assert list(rules) == ["default-deny-internet", "deny-threat-intel"]
    deny = rules["default-deny-internet"]
    assert deny["flows"] == 5
    assert deny["sources"]["sample"] == ["10.30.1.10", "10.30.1.12", "10.30.1.13"]
    assert deny["destinations"]["sample"] == [
        "8.8.8.8",
        "api.github.com",
        "files.pythonhosted.org",
        "pypi.org",
    ]
    # Out-of-order lines: first/last seen are the earliest and latest, not the first and last.
    assert (deny["firstSeen"], deny["lastSeen"]) == ("2026-11-20T10:05:00Z", "2026-11-20T10:09:00Z")
    threat = rules["deny-threat-intel"]
    assert (threat["flows"], threat["destinations"]["sample"]) == (1, ["attacker.io"])


def test_suggestions_obey_the_config_domain_rules() -> None:
    (s,) = report_of(JSONL)["suggestions"]
    assert s["workload"] == "agent-subnet"
    assert s["configKey"] == "egress.toolCalls.domains"
    # PyPI.org. normalises to pypi.org: one entry.
    assert s["add"] == ["files.pythonhosted.org", "pypi.org"]
    unsuggestable = {u["destination"]: u["reason"] for u in s["unsuggestable"]}
    assert set(unsuggestable) == {"8.8.8.8", "api.github.com:8443/tcp", "attacker.io"}
    assert "threat intelligence" in unsuggestable["attacker.io"]
    assert "bare IP" in unsuggestable["8.8.8.8"]


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    packed = tmp_path / "flows.log"  # no .gz: the magic bytes decide
    packed.write_bytes(gzip.compress(JSONL.read_bytes()))
    assert report_of(packed) == report_of(JSONL)


def test_csv_with_the_same_columns() -> None:
    doc = report_of(CSV)
    assert (doc["lines"], doc["flows"], doc["wouldChange"], doc["unchanged"]) == (7, 4, 3, 1)
    assert [(b["line"], b["reason"]) for b in doc["badLineSamples"]] == [
        (6, "port: 'not-a-port' is not a port (1-65535)"),
        (7, "3 columns, header has 8"),
    ]
    (s,) = doc["suggestions"]
    assert s["add"] == ["pypi.org"]


def test_csv_without_required_columns_is_not_a_flow_log(tmp_path: Path) -> None:
    # Once one bad line and exit 0; a header that names none of the columns, or lacks
    # required ones, means nothing in the file can be replayed.
    log = tmp_path / "flows.csv"
    log.write_text("timestamp,src,dst\n2026-11-20T10:00:00Z,10.30.1.10,pypi.org\n")
    with pytest.raises(LogFormatError, match="CSV header lacks source, port, protocol"):
        report_of(log)
    log.write_text("time,src,dst\n2026-11-20T10:00:00Z,10.30.1.10,pypi.org\n")
    with pytest.raises(LogFormatError, match="neither a JSON object nor a CSV header"):
        report_of(log)


def test_node_flows_are_grouped_under_their_smartgroup() -> None:
    spec = load_file(STACKS_DIR / "Pulumi.obot-eks.yaml")
    base = {"timestamp": "2026-11-20T10:00:00Z", "port": 443, "protocol": "tcp"}
    records = [
        (1, {**base, "source": "10.80.8.5", "destination": "unknown.example.net"}),
        # A self-managed workload's pod (by its /32): its FirewallPolicy already enforces,
        # promotion changes nothing.
        (2, {**base, "source": "10.80.64.40", "destination": "evil.example.com"}),
        (3, {**base, "source": "10.80.64.40", "destination": "api.search.brave.com"}),
    ]
    doc = replay(spec, records).to_json()
    assert (doc["flows"], doc["wouldChange"], doc["unchanged"]) == (3, 1, 2)
    (s,) = doc["suggestions"]
    # Named as the controller names the group: with the stack's prefix.
    assert s["workload"] == "group:staging-cluster-nodes"
    assert s["add"] == ["unknown.example.net"]


def test_suggestions_never_include_internal_names() -> None:
    spec = load_file(STACKS_DIR / "Pulumi.foundry-dev.yaml")
    record = {
        "timestamp": "2026-11-20T10:00:00Z",
        "source": "10.30.1.10",
        "destination": "db.internal.svc",
        "destinationIp": "52.1.2.3",
        "port": 443,
        "protocol": "tcp",
    }
    doc = replay(spec, [(1, record)]).to_json()
    (s,) = doc["suggestions"]
    assert s["add"] == []
    assert [u["destination"] for u in s["unsuggestable"]] == ["db.internal.svc"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"timestamp": "yesterday"}, "timestamp: 'yesterday' is not an RFC 3339 time"),
        ({"timestamp": "2026-11-20T10:00:00"}, "has no time zone"),
        ({"port": 70000}, "port: 70000 is not a port"),
        ({"destination": None, "destinationIp": None}, "give destination"),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], reason: str) -> None:
    row = {
        "timestamp": "2026-11-20T10:00:00Z",
        "source": "10.30.1.10",
        "destination": "pypi.org",
        "port": 443,
        "protocol": "tcp",
        **change,
    }
    with pytest.raises(LogError) as info:
        parse_flow(row)
    assert reason in str(info.value)


def test_a_bad_destination_ip_is_a_bad_line_every_time_it_appears() -> None:
    spec = load_file(STACKS_DIR / "Pulumi.foundry-dev.yaml")
    row = {
        "timestamp": "2026-11-20T10:00:00Z",
        "source": "10.30.1.10",
        "destinationIp": "999.1.1.1",
        "port": 443,
        "protocol": "tcp",
    }
    doc = replay(spec, [(1, row), (2, row)]).to_json()
    assert doc["badLines"] == 2 and doc["flows"] == 0
    assert doc["badLineSamples"][1] == {
        "line": 2,
        "reason": "destinationIp: '999.1.1.1' is not an IPv4 address",
    }


def test_cli_json_and_table(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["replay", str(JSONL), "--stack", "foundry-dev", "--stacks-dir", str(STACKS_DIR)]
    out = runner.invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == report_of(JSONL)
    table = runner.invoke(app, args)
    assert table.exit_code == 0
    assert "6 would be cut by promotion" in table.stdout
    assert "line 10: not JSON" in table.stdout
    assert "  - pypi.org" in table.stdout
    missing = runner.invoke(
        app,
        [
            "replay",
            str(tmp_path / "nope.jsonl"),
            "--stack",
            "foundry-dev",
            "--stacks-dir",
            str(STACKS_DIR),
        ],
    )
    assert missing.exit_code == 2
