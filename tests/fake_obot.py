"""An in-process stand-in for the part of Obot's admin API the library calls.

Paths, status codes and answer shapes follow obot-platform/obot ba10ff72:
``pkg/api/router/router.go`` (routes), ``pkg/api/handlers/mcpcatalogs.go`` (Get, Update: only
the ``default`` catalog, the list is replaced; Refresh: 200 with an empty body, the sync
happens later; ListEntries; the servers of an entry; all-servers), ``pkg/api/handlers/mcp.go``
TriggerUpdate (single-user servers on ``/api/mcp-servers/{id}``, multi-user ones on their
catalog's route; a no-op unless ``needsUpdate``), ``apiclient/types`` (``{"items": null}`` for
an empty list, ``needsUpdate`` omitted when false), plain-text errors with their status.

Catalog repositories are modelled as ``repos``: source URL -> the entries committed there.
A requested sync completes after ``sync_polls`` reads of the catalog, as Obot's controller
does it asynchronously.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from mcp_containment.core.obot import catalog_entry_id, egress_of

DEFAULT_SOURCE = "https://github.com/obot-platform/mcp-catalog"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeObot:
    api_key: str = "ok1-1-7-s3cr3t"
    catalog: dict[str, Any] = field(
        default_factory=lambda: {
            "id": "default",
            "created": "2026-08-01T00:00:00Z",
            "type": "mcpcatalog",
            "displayName": "Default",
            "sourceURLs": [DEFAULT_SOURCE],
            "lastSynced": "2026-08-21T10:00:00Z",
        }
    )
    repos: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    servers: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    failures: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    sync_polls: int = 1
    sync_never_finishes: bool = False
    version: dict[str, Any] = field(
        default_factory=lambda: {
            "obot": "v0.26.0",
            "mcpNetworkPolicyEnabled": True,
            "mcpDefaultDenyAllEgress": True,
        }
    )
    _pending: int | None = None
    _syncs: int = 0

    # --- the model -------------------------------------------------------------------------

    def sync(self) -> None:
        """What Obot's catalog controller does: entries from every source, servers flagged."""
        self._syncs += 1
        self.catalog["lastSynced"] = f"2026-08-21T10:{self._syncs:02d}:00Z"
        self.catalog.pop("isSyncing", None)
        self.entries = [
            {
                "id": catalog_entry_id(m["name"]),
                "created": "2026-08-21T10:00:00Z",
                "type": "mcpservercatalogentry",
                "manifest": {
                    **copy.deepcopy(m),
                    "serverUserType": m.get("serverUserType") or "singleUser",
                },
                "catalogName": "default",
                "sourceURL": url,
            }
            for url in self.catalog["sourceURLs"]
            for m in self.repos.get(url, [])
        ]
        by_id = {e["id"]: e for e in self.entries}
        for server in self.servers:
            entry = by_id.get(server["catalogEntryID"])
            if entry is not None and egress_of(entry["manifest"]) != egress_of(server["manifest"]):
                server["needsUpdate"] = True

    def server(self, server_id: str) -> dict[str, Any]:
        return next(s for s in self.servers if s["id"] == server_id)

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]

    # --- HTTP --------------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if (method, path) in self.failures:
            return self.failures[(method, path)]
        route = urlsplit(path).path
        parts = route.strip("/").split("/")
        if route == "/api/version" and method == "GET":
            return 200, self.version
        if parts[:2] == ["api", "mcp-servers"] and parts[3:] == ["trigger-update"]:
            return self._trigger(parts[2], multi_user=False)
        if parts[:2] != ["api", "mcp-catalogs"] or len(parts) < 3:
            return 404, "404 page not found"
        if parts[2] != "default":
            if method == "PUT":
                return 400, "only the default catalog can be updated"
            return 404, f'mcpcatalogs.obot.obot.ai "{parts[2]}" not found'
        return self._catalog_route(method, parts[3:], body)

    def _catalog_route(self, method: str, rest: list[str], body: bytes) -> tuple[int, Any]:
        if not rest and method == "GET":
            return 200, self._read_catalog()
        if not rest and method == "PUT":
            manifest = json.loads(body)
            if not isinstance(manifest.get("sourceURLs"), list):
                return 400, "failed to read catalog manifest"
            self.catalog["sourceURLs"] = manifest["sourceURLs"]
            return 200, self.catalog
        if rest == ["refresh"] and method == "POST":
            self._pending = self.sync_polls
            self.catalog["isSyncing"] = True
            return 200, None
        if rest == ["entries"] and method == "GET":
            return 200, {"items": self.entries or None}
        if rest == ["entries", "all-servers"] and method == "GET":
            return 200, {"items": self.servers or None}
        if len(rest) == 3 and rest[0] == "entries" and rest[2] == "servers" and method == "GET":
            mine = [s for s in self.servers if s["catalogEntryID"] == rest[1]]
            return 200, {"items": mine or None}
        if len(rest) == 3 and rest[0] == "servers" and rest[2] == "trigger-update":
            return self._trigger(rest[1], multi_user=True)
        return 404, "404 page not found"

    def _read_catalog(self) -> dict[str, Any]:
        if self._pending is not None and not self.sync_never_finishes:
            self._pending -= 1
            if self._pending < 0:
                self._pending = None
                self.sync()
        return self.catalog

    def _trigger(self, server_id: str, *, multi_user: bool) -> tuple[int, Any]:
        try:
            server = self.server(server_id)
        except StopIteration:
            return 404, f'mcpservers.obot.obot.ai "{server_id}" not found'
        if (server["serverUserType"] == "multiUser") != multi_user:
            return 404, f"MCP server {server_id} not found"
        if not server.get("needsUpdate"):
            return 200, None
        entry = next(e for e in self.entries if e["id"] == server["catalogEntryID"])
        server["manifest"] = copy.deepcopy(entry["manifest"])
        server.pop("needsUpdate")
        return 200, None

    def serve(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(
                    Request(self.command, self.path, dict(self.headers.items()), body)
                )
                if self.path in fake.redirects:
                    self.send_response(302)
                    self.send_header("Location", fake.redirects[self.path])
                    self.end_headers()
                    return
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    status, answer = 401, "unauthorized"
                else:
                    status, answer = fake.handle(self.command, self.path, body)
                if isinstance(answer, str):
                    payload, kind = (answer + "\n").encode(), "text/plain; charset=utf-8"
                elif answer is None:
                    payload, kind = b"", "application/json"
                else:
                    payload, kind = (json.dumps(answer) + "\n").encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
