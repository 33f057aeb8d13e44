"""The catalog's dynamic provider against a local Obot stand-in (``fake_obot.py``): every
request it sends, with its body and headers, for create, diff, update and delete; Obot's
errors as the update's failure. Not tested against a live Obot (see the README)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from mcp_containment.compile import catalog
from mcp_containment.config.validate import validate
from mcp_containment.core.obot import catalog_entry_id
from mcp_containment.core.obotapi import ObotApi, ObotApiError
from mcp_containment.infra.kubernetes.catalog import CatalogSourceProvider
from mcp_containment.infra.kubernetes.catalog_sync import SyncError

from .fake_obot import DEFAULT_SOURCE, FakeObot
from .helpers import raw_stack

OURS = "https://github.com/example-org/mcp-catalog"
GITHUB_ID = catalog_entry_id("GitHub")
BRAVE_ID = catalog_entry_id("Brave Search")


class Provider(CatalogSourceProvider):
    poll_seconds = 0.0


def _entries(**github_domains: Any) -> dict[str, dict[str, Any]]:
    raw = raw_stack("obot-aks")
    if "domains" in github_domains:
        raw["mcpServers"][0]["egressDomains"] = github_domains["domains"]
    return catalog.entries(validate(raw))


def _server(server_id: str, entry: dict[str, Any], entry_id: str, multi: bool) -> dict[str, Any]:
    # The shape of GET .../entries/all-servers items (fixtures/obot/servers.json).
    server = {
        "id": server_id,
        "created": "2026-08-20T14:03:11Z",
        "type": "mcpserver",
        "manifest": copy.deepcopy(entry),
        "userID": "2",
        "configured": True,
        "catalogEntryID": entry_id,
        "powerUserWorkspaceID": "",
        "serverUserType": "multiUser" if multi else "singleUser",
        "deploymentStatus": "Available",
    }
    if multi:
        server["mcpCatalogID"] = "default"
    return server


@pytest.fixture
def obot() -> Iterator[tuple[FakeObot, str]]:
    fake = FakeObot()
    old = _entries(domains=["api.github.com"])
    fake.servers = [
        _server("ms1k7x2p", old["github"], GITHUB_ID, multi=False),
        _server("ms1b9rtd", old["brave-search"], BRAVE_ID, multi=True),
    ]
    yield from ((fake, url) for url in fake.serve())


def _props(url: str, key: str, entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "obotUrl": url,
        "apiKey": key,
        "catalogId": "default",
        "sourceUrl": OURS,
        "entries": entries,
        "mcpNamespace": "obot-mcp",
        "defaultDenyAllEgress": True,
        "syncTimeoutSeconds": 5,
        **extra,
    }


def test_create_registers_refreshes_checks_and_updates(obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    entries = _entries()
    fake.repos[OURS] = list(entries.values())  # `containment catalog` output, pushed
    result = Provider().create(_props(url, fake.api_key, entries))

    assert all(r.headers["Authorization"] == f"Bearer {fake.api_key}" for r in fake.requests)
    (put,) = [r for r in fake.requests if r.method == "PUT"]
    assert put.path == "/api/mcp-catalogs/default"
    assert put.headers["Content-Type"] == "application/json"
    # Read first, then replace the whole list with ours added: the public catalog stays.
    assert json.loads(put.body) == {"displayName": "Default", "sourceURLs": [DEFAULT_SOURCE, OURS]}
    posts = [(r.path, r.body) for r in fake.requests if r.method == "POST"]
    assert posts == [
        ("/api/mcp-catalogs/default/refresh", b""),
        ("/api/mcp-servers/ms1k7x2p/trigger-update", b""),
    ]
    assert fake.paths().index("/api/mcp-catalogs/default/refresh") < fake.paths().index(
        "/api/mcp-catalogs/default/entries?all=true"
    )
    assert result.id == f"default/{OURS}"
    assert result.outs["entryIds"] == {
        s.name: catalog_entry_id(s.title) for s in validate(raw_stack("obot-aks")).mcp_servers
    }
    assert result.outs["updatedServers"] == ["ms1k7x2p"]
    assert fake.server("ms1k7x2p")["manifest"] == entries["github"]
    assert "needsUpdate" not in fake.server("ms1k7x2p")


def _created(fake: FakeObot, url: str) -> dict[str, Any]:
    entries = _entries()
    fake.repos[OURS] = list(entries.values())
    outs = Provider().create(_props(url, fake.api_key, entries)).outs
    fake.requests.clear()
    return dict(outs)


def test_update_triggers_only_the_servers_of_changed_entries(obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    olds = _created(fake, url)
    news = _props(url, fake.api_key, _entries(domains=["api.github.com", "uploads.github.com"]))
    news["entries"]["brave-search"]["containerizedConfig"]["egressDomains"] = ["a.brave.com"]
    fake.repos[OURS] = list(news["entries"].values())
    result = Provider().update("id", olds, news)

    assert fake.paths("PUT") == []  # already registered
    assert fake.paths("POST") == [
        "/api/mcp-catalogs/default/refresh",
        "/api/mcp-catalogs/default/servers/ms1b9rtd/trigger-update",  # multi-user route
        "/api/mcp-servers/ms1k7x2p/trigger-update",  # single-user route
    ]
    listed = [p for p in fake.paths("GET") if p.endswith("/servers")]
    assert sorted(listed) == sorted(
        f"/api/mcp-catalogs/default/entries/{i}/servers" for i in (BRAVE_ID, GITHUB_ID)
    )
    assert result.outs["updatedServers"] == ["ms1b9rtd", "ms1k7x2p"]


def test_update_refuses_a_catalog_that_was_not_pushed(obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    olds = _created(fake, url)
    news = _props(url, fake.api_key, _entries(domains=["api.github.com", "uploads.github.com"]))
    with pytest.raises(SyncError, match="commit and push the output of `containment catalog`") as e:
        Provider().update("id", olds, news)
    assert (
        "github: Obot has npx egressDomains ['*.githubusercontent.com', 'api.github.com']"
        in str(e.value)
    )
    assert not [p for p in fake.paths("POST") if p.endswith("trigger-update")]


def test_nothing_is_called_when_only_the_key_changes(obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    olds = _created(fake, url)
    news = {**_props(url, "ok1-1-8-rotated", olds["entries"])}
    result = Provider().update("id", olds, news)
    assert fake.requests == []
    assert result.outs["apiKey"] == "ok1-1-8-rotated"
    assert result.outs["entryIds"] == olds["entryIds"]


def test_a_new_source_url_replaces_the_old_one(obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    olds = _created(fake, url)
    moved = "https://github.com/example-org/mcp-catalog-v2"
    fake.repos[moved] = list(olds["entries"].values())
    Provider().update("id", olds, _props(url, fake.api_key, olds["entries"], sourceUrl=moved))
    (put,) = [r for r in fake.requests if r.method == "PUT"]
    assert json.loads(put.body)["sourceURLs"] == [DEFAULT_SOURCE, moved]


def test_diff() -> None:
    base = _props("https://obot.example.com", "k", _entries())
    p = Provider()
    assert not p.diff("id", base, copy.deepcopy(base)).changes
    changed = p.diff(
        "id", base, _props("https://obot.example.com", "k", _entries(domains=["a.io"]))
    )
    assert changed.changes and changed.replaces == []
    moved = p.diff("id", base, {**base, "obotUrl": "https://obot2.example.com"})
    assert moved.replaces == ["obotUrl"]
    assert p.diff("id", base, {**base, "apiKey": "k2"}).replaces == []
    outputs = {**base, "lastSynced": "t", "entryIds": {}, "updatedServers": []}
    assert not p.diff("id", outputs, base).changes  # outputs are not inputs


def test_delete_unregisters_only_our_source(obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    outs = _created(fake, url)
    Provider().delete("id", outs)
    (put,) = [r for r in fake.requests if r.method == "PUT"]
    assert json.loads(put.body) == {"displayName": "Default", "sourceURLs": [DEFAULT_SOURCE]}


def test_obot_errors_are_the_updates_failure_without_the_key(obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    fake.repos[OURS] = list(_entries().values())
    fake.failures[("PUT", "/api/mcp-catalogs/default")] = (400, "invalid source URL")
    with pytest.raises(ObotApiError) as exc:
        Provider().create(_props(url, fake.api_key, _entries()))
    assert str(exc.value) == "Obot PUT /api/mcp-catalogs/default: HTTP 400: invalid source URL"
    with pytest.raises(ObotApiError, match="HTTP 401: unauthorized") as wrong:
        Provider().create(_props(url, "ok1-1-7-wrong", _entries()))
    assert "ok1-1-7-wrong" not in str(wrong.value) and fake.api_key not in str(exc.value)


def test_sync_errors_and_a_sync_that_never_ends(obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    fake.catalog["syncErrors"] = {OURS: "failed to clone repository"}
    with pytest.raises(SyncError, match=f"Obot could not sync {OURS}: failed to clone"):
        Provider().create(_props(url, fake.api_key, _entries()))
    fake.catalog.pop("syncErrors")
    fake.sync_never_finishes = True
    with pytest.raises(SyncError, match="did not finish syncing catalog 'default' within 0s"):
        Provider().create(_props(url, fake.api_key, _entries(), syncTimeoutSeconds=0))


def test_redirects_are_refused_so_the_key_stays_with_obot(obot: tuple[FakeObot, str]) -> None:
    fake, url = obot
    fake.redirects["/api/version"] = f"{url}/elsewhere"
    with pytest.raises(ObotApiError, match="HTTP 302"):
        ObotApi(url, fake.api_key).version()
    assert fake.paths() == ["/api/version"]


@pytest.mark.parametrize(
    ("obot_url", "ok"),
    [
        ("https://obot.example.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://obot.example.com", False),
        ("https://user:pw@obot.example.com", False),
    ],
)
def test_check_refuses_urls_that_would_leak_the_key(obot_url: str, ok: bool) -> None:
    result = Provider().check({}, _props(obot_url, "k", {}))
    assert (result.failures == []) == ok
    if not ok:
        assert result.failures[0].property == "obotUrl"
