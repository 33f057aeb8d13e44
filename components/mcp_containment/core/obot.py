"""Obot's side of MCP server egress: catalog entries, entry ids, and the MCPNetworkPolicy Obot
derives from a server.

Restated from obot-platform/obot at ba10ff72 (the sources are cited where each rule is
ported); nothing here talks to Obot. The catalog entry is the unit a platform team declares:
Obot copies its egress fields into every server launched from it, then writes one
MCPNetworkPolicy per server, which the Aviatrix network-policy controller translates
(:mod:`mcp_containment.core.npc`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

from .fqdn import obot_egress_error


class Runtime(StrEnum):
    """``apiclient/types/mcpserver.go`` L11-17."""

    NPX = "npx"
    UVX = "uvx"
    CONTAINERIZED = "containerized"
    REMOTE = "remote"
    COMPOSITE = "composite"


RUNTIMES: Final = frozenset(r.value for r in Runtime)
POD_RUNTIMES: Final = frozenset({Runtime.NPX, Runtime.UVX, Runtime.CONTAINERIZED})
"""Runtimes Obot runs as pods in its MCP namespace; only these get an MCPNetworkPolicy
(``pkg/controller/handlers/mcpserver/mcpserver.go`` EnsureMCPNetworkPolicy)."""

RUNTIME_CONFIG: Final = {
    Runtime.NPX: "npxConfig",
    Runtime.UVX: "uvxConfig",
    Runtime.CONTAINERIZED: "containerizedConfig",
    Runtime.REMOTE: "remoteConfig",
    Runtime.COMPOSITE: "compositeConfig",
}

SINGLE_USER: Final = "singleUser"
MULTI_USER: Final = "multiUser"
DEFAULT_CATALOG: Final = "default"
"""The catalog id ``PUT /api/mcp-catalogs/{id}`` accepts (only ``default``)."""
STORAGE_NAMESPACE: Final = "default"
"""The Obot-storage namespace MCPNetworkPolicy objects live in."""
POD_LABEL: Final = "app"
"""Obot labels a server's pods ``app=<MCPServer name>`` (``pkg/mcp/kubernetes.go``)."""
MAX_STARTUP_TIMEOUT: Final = 600
MAX_SHORT_DESCRIPTION: Final = 160


# --- names (nah pkg/name @3fc648d, Obot pkg/mcpcatalog/validation.go SanitizeName) ------------

_NOT_NAME = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")


def sanitize_name(name: str) -> str:
    """Obot's ``SanitizeName``: what an entry's display name becomes in its id."""
    return _DASHES.sub("-", _NOT_NAME.sub("-", name.lower())).strip("-")


def safe_concat_name(*parts: str, length: int = 64) -> str:
    """nah's ``SafeConcatName``: parts joined by ``-``; a name of ``length`` bytes or more is
    cut and given a short sha256 suffix so it stays unique (always 63 bytes then)."""
    full = "-".join(parts).encode()
    if len(full) < length:
        return full.decode()
    digest = hashlib.sha256(full).hexdigest()
    cut = full[length - 8]
    if ord("a") <= cut <= ord("z") or ord("0") <= cut <= ord("9"):
        return full[: length - 7].decode(errors="ignore") + "-" + digest[:5]
    return full[: length - 8].decode(errors="ignore") + "-" + digest[:6]


def safe_hash_concat_name(*parts: str) -> str:
    """nah's ``SafeHashConcatName``: the parts plus an 8-character hash of them all."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\x00")
    return safe_concat_name(*parts, h.hexdigest()[:8])


def catalog_entry_id(display_name: str, catalog: str = DEFAULT_CATALOG) -> str:
    """The id Obot gives a git-synced entry: derived from its ``name`` (not its file name, not
    its entryKey). Computed from nah @3fc648d; Obot pins a later nah (8bdf003) we could not
    read, so a live catalog is the confirmation."""
    return safe_hash_concat_name(catalog, sanitize_name(display_name))


_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(value) is not None


def go_sorted(values: Iterable[str]) -> list[str]:
    """Go's ``slices.Sort`` on strings: byte order of the UTF-8 encoding."""
    return sorted(values, key=lambda v: v.encode())


# --- what Obot derives from a server -----------------------------------------------------------


def effective_deny_all(declared: bool | None, domains: Iterable[str], default: bool) -> bool:
    """``effectiveDenyAllEgress``: the declared value when set; otherwise Obot's
    ``OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS`` for a server that lists no domain."""
    if declared is not None:
        return declared
    return default and not any(True for _ in domains)


def runtime_of(manifest: Mapping[str, Any]) -> str:
    return str(manifest.get("runtime") or "")


def egress_of(manifest: Mapping[str, Any]) -> tuple[tuple[str, ...], bool | None]:
    """A manifest's egress fields as written: (egressDomains, denyAllEgress pointer)."""
    runtime = runtime_of(manifest)
    key = RUNTIME_CONFIG.get(Runtime(runtime)) if runtime in RUNTIMES else None
    config = (manifest.get(key) if key else None) or {}
    deny = config.get("denyAllEgress")
    return tuple(config.get("egressDomains") or ()), (bool(deny) if deny is not None else None)


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Obot's ``MCPNetworkPolicy`` (``pkg/storage/apis/obot.obot.ai/v1/mcpnetworkpolicy.go``):
    the object the network-policy controller reads."""

    name: str
    mcp_server_name: str
    pod_selector: tuple[tuple[str, str], ...]
    egress_domains: tuple[str, ...] = ()
    deny_all_egress: bool = False
    uid: str = ""
    namespace: str = STORAGE_NAMESPACE

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> NetworkPolicy:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        return cls(
            name=str(meta.get("name") or ""),
            mcp_server_name=str(spec.get("mcpServerName") or ""),
            pod_selector=tuple(sorted((spec.get("podSelector") or {}).items())),
            egress_domains=tuple(spec.get("egressDomains") or ()),
            deny_all_egress=bool(spec.get("denyAllEgress", False)),
            uid=str(meta.get("uid") or ""),
            namespace=str(meta.get("namespace") or ""),
        )


def network_policy(
    server: str, manifest: Mapping[str, Any], default_deny: bool, *, name: str, uid: str = ""
) -> NetworkPolicy | None:
    """The MCPNetworkPolicy Obot writes for server ``server`` (EnsureMCPNetworkPolicy,
    ``mcpserver.go`` ~L53-215): None for remote and composite servers, which run no pod.
    Domains are sorted, never trimmed, lowercased or de-duplicated."""
    if runtime_of(manifest) not in POD_RUNTIMES:
        return None
    domains, declared = egress_of(manifest)
    return NetworkPolicy(
        name=name,
        mcp_server_name=server,
        pod_selector=((POD_LABEL, server),),
        egress_domains=tuple(go_sorted(domains)),
        deny_all_egress=effective_deny_all(declared, domains, default_deny),
        uid=uid,
    )


def remote_host(manifest: Mapping[str, Any]) -> str | None:
    """The host Obot itself calls for a remote entry (``fixedURL`` or ``hostname``)."""
    if runtime_of(manifest) != Runtime.REMOTE:
        return None
    config = manifest.get("remoteConfig") or {}
    if config.get("fixedURL"):
        return urlsplit(str(config["fixedURL"])).hostname
    hostname = config.get("hostname")
    return str(hostname).lower() if hostname else None


# --- catalog entry validation (ValidateSourceFields + ValidateCatalogEntryManifest) ------------


def entry_errors(manifest: Mapping[str, Any]) -> list[str]:
    """Every reason Obot's catalog sync would refuse this entry (``path: message``), for the
    rules a git-synced entry meets: ``pkg/mcpcatalog/validation.go`` ValidateSourceFields and
    ``pkg/mcp/mcpvalidators.go`` ValidateCatalogEntryManifest (L1224-1281) with the runtime
    validators. Obot stops at the first; this lists them all."""
    return list(_entry_errors(manifest))


def _entry_errors(m: Mapping[str, Any]) -> Iterator[str]:
    name = str(m.get("name") or "")
    if not sanitize_name(name):
        yield f"name: invalid catalog entry name after sanitization: {name!r}"
    key = m.get("entryKey")
    if key and not is_dns1123_subdomain(str(key)):
        yield f"entryKey: source entry key {key!r} must be DNS-friendly"
    if len(str(m.get("shortDescription") or "")) > MAX_SHORT_DESCRIPTION:
        yield (
            "shortDescription: short description must be less than or equal to "
            f"{MAX_SHORT_DESCRIPTION} characters"
        )
    user_type = m.get("serverUserType") or SINGLE_USER
    runtime = runtime_of(m)
    if user_type not in (SINGLE_USER, MULTI_USER):
        yield f"serverUserType: invalid serverUserType {user_type!r}"
    elif user_type == MULTI_USER and runtime in (Runtime.REMOTE, Runtime.COMPOSITE):
        yield f"serverUserType: multiUser catalog entries do not support {runtime} runtime"
    if runtime not in RUNTIMES:
        yield "runtime: unsupported runtime"
        return
    key_name = RUNTIME_CONFIG[Runtime(runtime)]
    config = m.get(key_name)
    if not isinstance(config, Mapping):
        yield f"{key_name}: {runtime} configuration is required"
        return
    for problem in _RUNTIME_CHECKS.get(Runtime(runtime), _no_checks)(config):
        yield f"{key_name}.{problem}"


def _no_checks(config: Mapping[str, Any]) -> Iterator[str]:
    return iter(())


def _pod_checks(config: Mapping[str, Any], required: tuple[str, ...]) -> Iterator[str]:
    for field in required:
        if not str(config.get(field) or "").strip():
            yield f"{field}: {field} field cannot be empty"
    for i, arg in enumerate(config.get("args") or ()):
        if not str(arg).strip():
            yield f"args[{i}]: argument cannot be empty"
    reason = obot_egress_error(config.get("egressDomains") or (), config.get("denyAllEgress"))
    if reason is not None:
        yield reason
    timeout = int(config.get("startupTimeoutSeconds") or 0)
    if timeout < 0:
        yield "startupTimeoutSeconds: must be greater than or equal to 0"
    if timeout > MAX_STARTUP_TIMEOUT:
        yield f"startupTimeoutSeconds: must be less than {MAX_STARTUP_TIMEOUT}"


def _package_checks(config: Mapping[str, Any]) -> Iterator[str]:
    return _pod_checks(config, ("package",))


def _container_checks(config: Mapping[str, Any]) -> Iterator[str]:
    yield from _pod_checks(config, ("image", "path"))
    port = config.get("port")
    if not isinstance(port, int) or not 0 < port <= 65535:
        yield "port: port must be between 1 and 65535"


_HOSTNAME = re.compile(
    r"(?:\*\.)?[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)


def _remote_checks(config: Mapping[str, Any]) -> Iterator[str]:
    ways = [k for k in ("fixedURL", "hostname", "urlTemplate") if str(config.get(k) or "").strip()]
    if not ways:
        yield "either fixedURL, hostname, or urlTemplate must be provided"
    elif len(ways) > 1:
        yield (
            "cannot specify multiple URL configuration methods (fixedURL, hostname, or urlTemplate)"
        )
    if config.get("tunnelName"):
        yield "tunnelName: cannot be set on catalog-synced entries"
    fixed = str(config.get("fixedURL") or "")
    if fixed and urlsplit(fixed).scheme not in ("https", "http"):
        yield "fixedURL: URL scheme must be either https or http"
    hostname = str(config.get("hostname") or "")
    if hostname and _HOSTNAME.fullmatch(hostname) is None:
        yield "hostname: hostname should only contain alphanumeric and hyphens"
    for i, header in enumerate(config.get("headers") or ()):
        if not str(header.get("key") or "").strip():
            yield f"headers[{i}].key: header key cannot be empty"
        if header.get("value") and header.get("sensitive"):
            yield f"headers[{i}]: static header value cannot be marked as sensitive"


_RUNTIME_CHECKS = {
    Runtime.NPX: _package_checks,
    Runtime.UVX: _package_checks,
    Runtime.CONTAINERIZED: _container_checks,
    Runtime.REMOTE: _remote_checks,
}
