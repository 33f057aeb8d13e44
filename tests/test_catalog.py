"""Catalog as code: mcpServers rendered as Obot catalog entries, checked by Obot's rules.

Obot's entry format and rules: obot-platform/obot ba10ff72 ``apiclient/types/mcpserver.go``
(MCPServerCatalogEntryManifest L153-183), ``pkg/mcp/mcpvalidators.go``
(ValidateCatalogEntryManifest L1224-1281 and the runtime validators), ``pkg/mcpcatalog``
(``validation.go`` SanitizeName/ValidateSourceFields, ``walker.go`` .obotcatalogs). Entry layout:
obot-platform/mcp-catalog 0c65667 (``fixtures/obot/catalog-entry*.yaml``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mcp_containment.cli import app
from mcp_containment.compile import catalog
from mcp_containment.config.validate import validate
from mcp_containment.core.obot import (
    catalog_entry_id,
    entry_errors,
    safe_concat_name,
    sanitize_name,
)

from .helpers import STACKS_DIR, paths, raw_stack

FIXTURES = Path(__file__).parent / "fixtures" / "obot"
runner = CliRunner()


def _aks() -> Any:
    return validate(raw_stack("obot-aks"))


def test_every_entry_passes_obots_rules_and_the_render_is_deterministic() -> None:
    spec = _aks()
    entries = catalog.entries(spec)
    assert list(entries) == sorted(s.name for s in spec.mcp_servers)
    assert all(entry_errors(e) == [] for e in entries.values())
    assert catalog.render(spec) == catalog.render(_aks())
    files = catalog.render(spec)
    for key, entry in entries.items():
        assert yaml.safe_load(files[f"{key}.yaml"]) == entry


def test_the_github_entry_has_obots_layout() -> None:
    # Same entry as the mcp-catalog-style fixture, domains normalised and byte-sorted.
    theirs = yaml.safe_load((FIXTURES / "catalog-entry.yaml").read_text())
    ours = catalog.entries(_aks())["github"]
    assert entry_errors(theirs) == []
    assert list(ours) == [
        "metadata",
        "entryKey",
        "name",
        "shortDescription",
        "runtime",
        "npxConfig",
        "serverUserType",
        "env",
    ]  # Obot's field order (Go struct order)
    assert ours["npxConfig"] == {
        "package": theirs["npxConfig"]["package"],
        "egressDomains": sorted(theirs["npxConfig"]["egressDomains"]),
    }
    assert (ours["name"], ours["runtime"], ours["metadata"]) == (
        theirs["name"],
        theirs["runtime"],
        theirs["metadata"],
    )
    env = ours["env"][0]
    assert {k: env[k] for k in ("key", "name", "required", "sensitive")} == {
        k: theirs["env"][0][k] for k in ("key", "name", "required", "sensitive")
    }


def test_egress_lives_in_the_runtime_block_and_deny_all_only_when_declared() -> None:
    entries = catalog.entries(_aks())
    assert entries["scratch"]["npxConfig"] == {
        "package": "@example/scratch-mcp",
        "denyAllEgress": True,
    }
    assert entries["brave-search"]["containerizedConfig"]["egressDomains"] == [
        "api.search.brave.com"
    ]
    assert entries["deepwiki"]["remoteConfig"] == {"fixedURL": "https://mcp.deepwiki.com/mcp"}
    assert "egressDomains" not in json.dumps(entries["deepwiki"])


def test_domains_are_rendered_normalised_and_byte_sorted() -> None:
    raw = raw_stack("obot-aks")
    raw["mcpServers"][0]["egressDomains"] = [" API.GitHub.com", "*.GitHubUserContent.com", "b.io"]
    entry = catalog.entries(validate(raw))["github"]
    assert entry["npxConfig"]["egressDomains"] == [
        "*.githubusercontent.com",
        "api.github.com",
        "b.io",
    ]


def test_entry_ids_follow_obots_naming() -> None:
    # Computed with nah @3fc648d SafeHashConcatName; Obot pins a later nah, so a live
    # catalog is the confirmation. The research's own computation agrees on these.
    assert sanitize_name("  Brave  Search!! ") == "brave-search"
    assert catalog_entry_id("GitHub") == "default-github-391ae5a6"
    assert catalog_entry_id("Brave Search") == "default-brave-search-523e4405"
    long = catalog_entry_id("A Very Long MCP Server Display Name That Exceeds The Kubernetes Limit")
    assert long == "default-a-very-long-mcp-server-display-name-that-exceeds-9dbb23"
    assert len(safe_concat_name("x" * 80)) == 63


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"name": "!!", "runtime": "npx", "npxConfig": {"package": "p"}}, "sanitization"),
        (
            {"name": "a", "entryKey": "A_B", "runtime": "npx", "npxConfig": {"package": "p"}},
            "DNS-friendly",
        ),
        ({"name": "a", "runtime": "npx", "npxConfig": {"package": " "}}, "package field"),
        ({"name": "a", "runtime": "npx"}, "npx configuration is required"),
        ({"name": "a", "runtime": "docker"}, "unsupported runtime"),
        (
            {"name": "a", "runtime": "containerized", "containerizedConfig": {"image": "i"}},
            "port must be between 1 and 65535",
        ),
        (
            {
                "name": "a",
                "runtime": "npx",
                "npxConfig": {"package": "p", "egressDomains": ["*.com"]},
            },
            "at least two DNS labels",
        ),
        (
            {
                "name": "a",
                "runtime": "remote",
                "serverUserType": "multiUser",
                "remoteConfig": {"fixedURL": "https://x.example.com"},
            },
            "do not support remote runtime",
        ),
        (
            {
                "name": "a",
                "runtime": "remote",
                "remoteConfig": {"fixedURL": "https://a.com", "hostname": "a.com"},
            },
            "multiple URL configuration",
        ),
        (
            {
                "name": "a",
                "runtime": "uvx",
                "uvxConfig": {"package": "p", "startupTimeoutSeconds": 601},
            },
            "less than 600",
        ),
    ],
)
def test_obots_entry_rules(manifest: dict[str, Any], message: str) -> None:
    assert any(message in e for e in entry_errors(manifest)), entry_errors(manifest)


# --- bad input: refused with the key path --------------------------------------------------------


def _server(**fields: Any) -> dict[str, Any]:
    return {"name": "x", "runtime": "npx", "npxConfig": {"package": "p"}, **fields}


@pytest.mark.parametrize(
    ("server", "path", "message"),
    [
        (_server(runtime="docker"), "mcpServers[5].runtime", "unknown runtime 'docker'"),
        (_server(runtime="composite"), "mcpServers[5].runtime", "composite servers"),
        (
            {
                "name": "x",
                "runtime": "remote",
                "remoteConfig": {"fixedURL": "https://x.example.com/mcp"},
                "egressDomains": ["api.x.com"],
            },
            "mcpServers[5].egressDomains",
            "does not apply to a remote server",
        ),
        (
            {
                "name": "x",
                "runtime": "remote",
                "remoteConfig": {"fixedURL": "https://x.example.com/mcp"},
                "denyAllEgress": True,
            },
            "mcpServers[5].denyAllEgress",
            "does not apply to a remote server",
        ),
        (_server(name="github"), "mcpServers[5].name", "is used twice"),
        (_server(displayName="GitHub!"), "mcpServers[5].displayName", "same Obot entry id"),
        (_server(runtime="uvx"), "mcpServers[5].uvxConfig", "is required for runtime uvx"),
        (_server(uvxConfig={"package": "p"}), "mcpServers[5].uvxConfig", "another runtime"),
        (
            {"name": "x", "runtime": "remote", "remoteConfig": {"fixedURL": "http://x.io/mcp"}},
            "mcpServers[5].remoteConfig.fixedURL",
            "not an https:// URL",
        ),
        (
            {"name": "x", "runtime": "remote", "remoteConfig": {"fixedURL": "https://1.2.3.4/m"}},
            "mcpServers[5].remoteConfig.fixedURL",
            "by hostname",
        ),
        (_server(podCidrs=["10.70.16.5/32"]), "mcpServers[5].podCidrs", "unknown key"),
        (
            _server(npxConfig={"package": "p", "egressDomains": ["a.com"]}),
            "mcpServers[5].npxConfig.egressDomains",
            "unknown key",
        ),
    ],
)
def test_bad_servers_are_refused_with_the_key_path(
    server: dict[str, Any], path: str, message: str
) -> None:
    raw = raw_stack("obot-aks")
    raw["mcpServers"].append(server)
    found = paths(raw)
    assert path in found, found
    assert message in found[path]


def test_a_remote_server_with_egress_domains_is_refused() -> None:
    raw = raw_stack("obot-aks")
    raw["mcpServers"][4]["egressDomains"] = ["mcp.deepwiki.com"]
    assert "Obot calls it from its own pods" in paths(raw)["mcpServers[4].egressDomains"]


# --- writing the directory -----------------------------------------------------------------------


def test_write_lists_exactly_its_files_in_obotcatalogs(tmp_path: Path) -> None:
    written = catalog.write(_aks(), tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([".obotcatalogs", *(f"{s.name}.yaml" for s in _aks().mcp_servers)])
    patterns = [
        line
        for line in (tmp_path / ".obotcatalogs").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert patterns == sorted(n for n in names if n.endswith(".yaml"))
    assert written.removed == ()


def test_a_server_removed_from_the_stack_loses_its_file(tmp_path: Path) -> None:
    catalog.write(_aks(), tmp_path)
    raw = raw_stack("obot-aks")
    raw["mcpServers"] = [s for s in raw["mcpServers"] if s["name"] != "scratch"]
    written = catalog.write(validate(raw), tmp_path)
    assert written.removed == ("scratch.yaml",)
    assert not (tmp_path / "scratch.yaml").exists()
    assert "scratch.yaml" not in (tmp_path / ".obotcatalogs").read_text()


def test_a_foreign_catalog_file_stops_the_write_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text("on: push\n")
    with pytest.raises(catalog.CatalogError, match=r"ci\.yml"):
        catalog.write(_aks(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ci.yml"]


def test_cli_catalog_writes_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    result = runner.invoke(app, ["catalog", "--stack", "obot-aks", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stdout
    doc = json.loads(result.stdout)
    assert doc["entries"]["github"] == {
        "file": "github.yaml",
        "obotEntryId": "default-github-391ae5a6",
    }
    assert (out / "github.yaml").read_text() == catalog.render(_aks())["github.yaml"]


def test_cli_catalog_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    doc = yaml.safe_load((STACKS_DIR / "Pulumi.obot-aks.yaml").read_text())
    doc["config"]["mcp-containment:mcpServers"][0]["runtime"] = "docker"
    stack.write_text(yaml.safe_dump(doc))
    out = tmp_path / "catalog"
    result = runner.invoke(app, ["catalog", "--config", str(stack), "--out", str(out)])
    assert result.exit_code == 2
    assert "mcpServers[0].runtime" in result.stderr
    assert not out.exists()
    foundry = runner.invoke(app, ["catalog", "--stack", "foundry-prod", "--out", str(out)])
    assert foundry.exit_code == 2 and "mcpServers" in foundry.stderr
    assert not out.exists()


# Field names of obot ba10ff72 apiclient/types/mcpserver.go: `obot mcp validate-catalog-yaml`
# decodes strictly, so a key outside these would fail there.
_FIELDS: dict[str, set[str]] = {
    "entry": {
        "metadata", "entryKey", "name", "shortDescription", "description", "icon", "repoURL",
        "toolPreview", "runtime", "uvxConfig", "npxConfig", "containerizedConfig",
        "remoteConfig", "compositeConfig", "multiUserConfig", "serverUserType", "env",
        "resources",
    },
    "npxConfig": {"package", "args", "egressDomains", "denyAllEgress", "startupTimeoutSeconds"},
    "uvxConfig": {
        "package", "command", "args", "egressDomains", "denyAllEgress", "startupTimeoutSeconds",
    },
    "containerizedConfig": {
        "image", "command", "args", "port", "path", "healthzPath", "egressDomains",
        "denyAllEgress", "startupTimeoutSeconds",
    },
    "remoteConfig": {
        "fixedURL", "tunnelName", "urlTemplate", "hostname", "headers", "staticOAuthRequired",
    },
    "header": {
        "name", "description", "key", "value", "sensitive", "required", "prefix", "options",
        "secretBinding",
    },
}  # fmt: skip


def test_rendered_entries_use_only_obots_field_names() -> None:
    raw = raw_stack("obot-aks")
    raw["mcpServers"][4]["remoteConfig"]["headers"] = [{"key": "X-Tenant", "required": True}]
    for entry in catalog.entries(validate(raw)).values():
        assert set(entry) <= _FIELDS["entry"]
        for block in ("npxConfig", "uvxConfig", "containerizedConfig", "remoteConfig"):
            assert set(entry.get(block) or {}) <= _FIELDS[block]
        headers = (entry.get("remoteConfig") or {}).get("headers") or []
        for field in [*entry.get("env", []), *headers]:
            assert set(field) <= _FIELDS["header"] | {"file", "dynamicFile"}
