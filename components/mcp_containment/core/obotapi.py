"""The part of Obot's admin API this library calls, over stdlib HTTP.

Paths, bodies and responses follow obot-platform/obot ba10ff72 (``pkg/api/router/router.go``,
``pkg/api/handlers/mcpcatalogs.go``, ``pkg/api/handlers/mcp.go``): success is 200 with JSON
(or an empty body), lists are ``{"items": [...]}`` (``null`` when empty), errors are plain text
with the status. The API key travels only in the ``Authorization`` header; it is never part of
an error message, and redirects are refused so it cannot follow one to another host.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

DEFAULT_TIMEOUT = 30.0


class ObotApiError(RuntimeError):
    """A call to Obot failed; the message names the call and Obot's answer."""

    def __init__(self, method: str, path: str, status: int | None, detail: str) -> None:
        self.method, self.path, self.status, self.detail = method, path, status, detail
        answer = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"Obot {method} {path}: {answer}: {detail}")


def check_api_url(url: str) -> str | None:
    """Why ``url`` cannot carry an API key (None when it can): https, or plain http only to a
    loopback address (a ``kubectl port-forward``)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return f"{url!r} has no host"
    if parts.username or parts.password:
        return f"{url!r} carries credentials"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http":
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return None
        return (
            f"{url!r} is plain http to another host: the API key would cross the network in clear"
        )
    return f"{url!r} is not an http(s) URL"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx surfaces as an HTTPError


def items(doc: Any, what: str) -> list[dict[str, Any]]:
    """The ``items`` of an Obot list (``null`` when empty); ValueError if ``doc`` is not one."""
    if not isinstance(doc, Mapping) or "items" not in doc:
        raise ValueError(f"{what}: not an Obot list (no 'items')")
    listed = doc["items"]
    if listed is None:
        return []
    if not isinstance(listed, list) or not all(isinstance(i, Mapping) for i in listed):
        raise ValueError(f"{what}: 'items' is not a list of objects")
    return [dict(i) for i in listed]


class ObotApi:
    """One Obot, one API key (``ok1-...``, a key with API access of an admin)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        problem = check_api_url(base_url)
        if problem is not None:
            raise ValueError(problem)
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; the parsed JSON answer, or None for an empty body."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._key}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                raw: bytes = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace").strip() or exc.reason
            raise ObotApiError(method, path, exc.code, str(detail)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ObotApiError(method, path, None, str(reason)) from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ObotApiError(method, path, 200, "the answer is not JSON") from None

    @staticmethod
    def _catalog(catalog_id: str) -> str:
        return f"/api/mcp-catalogs/{quote(catalog_id, safe='')}"

    def catalog(self, catalog_id: str) -> dict[str, Any]:
        doc = self.call("GET", self._catalog(catalog_id))
        if not isinstance(doc, dict) or not isinstance(doc.get("sourceURLs", []), list | None):
            raise ObotApiError("GET", self._catalog(catalog_id), 200, "not an MCPCatalog")
        return doc

    def set_source_urls(self, catalog: Mapping[str, Any], urls: list[str]) -> dict[str, Any]:
        """``PUT`` replaces the whole list: callers pass the list they read, edited.
        Credentials are omitted, which keeps the ones Obot holds."""
        body = {"displayName": catalog.get("displayName", ""), "sourceURLs": urls}
        doc = self.call("PUT", self._catalog(str(catalog["id"])), body)
        return doc if isinstance(doc, dict) else {}

    def refresh(self, catalog_id: str) -> None:
        self.call("POST", self._catalog(catalog_id) + "/refresh")

    def entries(self, catalog_id: str) -> list[dict[str, Any]]:
        path = self._catalog(catalog_id) + "/entries?all=true"
        return items(self.call("GET", path), f"GET {path}")

    def entry_servers(self, catalog_id: str, entry_id: str) -> list[dict[str, Any]]:
        path = f"{self._catalog(catalog_id)}/entries/{quote(entry_id, safe='')}/servers"
        return items(self.call("GET", path), f"GET {path}")

    def all_servers(self, catalog_id: str) -> Any:
        """The raw answer of ``.../entries/all-servers`` (verify checks its shape)."""
        return self.call("GET", self._catalog(catalog_id) + "/entries/all-servers")

    def trigger_update(self, catalog_id: str, server: Mapping[str, Any]) -> None:
        """Apply the catalog entry's changes to a server. Multi-user servers are updated
        through their catalog's route, single-user servers through their own."""
        server_id = quote(str(server["id"]), safe="")
        if server.get("serverUserType") == "multiUser":
            scope = str(server.get("mcpCatalogID") or catalog_id)
            path = f"{self._catalog(scope)}/servers/{server_id}/trigger-update"
        else:
            path = f"/api/mcp-servers/{server_id}/trigger-update"
        self.call("POST", path)

    def version(self) -> dict[str, Any]:
        doc = self.call("GET", "/api/version")
        if not isinstance(doc, dict):
            raise ObotApiError("GET", "/api/version", 200, "not a JSON object")
        return doc
