"""``containment verify``'s inputs: read from files, or live from the cluster and from Obot.

Live, the FirewallPolicies come from ``kubectl get firewallpolicies -A -o json`` (with the
kubeconfig and context given), and the servers from Obot's admin API
(``GET /api/mcp-catalogs/default/entries/all-servers``, plus ``GET /api/version`` for its
network-policy settings). The comparison itself is :mod:`mcp_containment.core.verify`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config.schema import Spec
from ..core.obot import DEFAULT_CATALOG
from ..core.obotapi import ObotApi, ObotApiError
from ..core.verify import Declared, InputError, Report, compare, parse_policies, parse_servers
from . import catalog, firewallpolicy

KUBECTL_TIMEOUT = 120
FIREWALL_POLICIES = "firewallpolicies.networking.aviatrix.com"


def declared(spec: Spec) -> Declared:
    obot = spec.kubernetes.obot
    return Declared(
        mcp_namespace=obot.mcp_namespace,
        default_deny_all_egress=obot.default_deny_all_egress,
        entries=catalog.entries(spec),
        workloads={w.name: firewallpolicy.workload(spec, w) for w in spec.mcp_workloads},
    )


def read_json(path: Path, option: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError([(option, f"{path}: {exc.strerror or exc}")]) from None
    except ValueError as exc:
        raise InputError([(option, f"{path} is not JSON: {exc}")]) from None


def kubectl_policies(
    kubeconfig: Path | None = None, context: str | None = None, kubectl: str = "kubectl"
) -> Any:
    """``kubectl get firewallpolicies -A -o json``: the cluster's answer, parsed."""
    binary = shutil.which(kubectl)
    if binary is None:
        raise InputError([("kubectl", "not found on PATH; pass --policies FILE instead")])
    command = [binary, "get", FIREWALL_POLICIES, "--all-namespaces", "--output", "json"]
    if kubeconfig is not None:
        command += ["--kubeconfig", str(kubeconfig)]
    if context is not None:
        command += ["--context", context]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise InputError([("kubectl", f"no answer within {KUBECTL_TIMEOUT}s")]) from None
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        raise InputError([("kubectl", f"exit {done.returncode}: {detail}")])
    try:
        return json.loads(done.stdout)
    except ValueError as exc:
        raise InputError([("kubectl", f"output is not JSON: {exc}")]) from None


def obot_servers(url: str, api_key: str) -> tuple[Any, dict[str, Any]]:
    """Obot's servers of the default catalog and its ``/api/version`` answer."""
    try:
        api = ObotApi(url, api_key)
        return api.all_servers(DEFAULT_CATALOG), api.version()
    except ValueError as exc:
        raise InputError([("--obot-url", str(exc))]) from None
    except ObotApiError as exc:
        raise InputError([("--obot-url", str(exc))]) from None


def verify(
    spec: Spec,
    policies_doc: Any,
    servers_doc: Any,
    version: Mapping[str, Any] | None = None,
    *,
    policies_source: str = "--policies",
    servers_source: str = "--servers",
) -> Report:
    """Parse both answers (InputError when either is not the API's shape), then compare."""
    issues: list[tuple[str, str]] = []
    policies: list[dict[str, Any]] = []
    servers: list[dict[str, Any]] = []
    try:
        policies = parse_policies(policies_doc, policies_source)
    except InputError as exc:
        issues += exc.issues
    try:
        servers = parse_servers(servers_doc, servers_source)
    except InputError as exc:
        issues += exc.issues
    if issues:
        raise InputError(issues)
    return compare(declared(spec), policies, servers, version)
