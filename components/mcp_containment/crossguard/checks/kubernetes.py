"""Kubernetes checks: pinned charts, Obot's deny-all default, and each FirewallPolicy.

A FirewallPolicy is judged as the object the API server will receive: plain data, validated
against the CRD. One with values unknown until apply cannot be validated, and says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...core import analysis, band, crd
from ...core.fqdn import MATCH_ALL
from ...core.names import OBOT_DENY_ALL_EGRESS
from ...core.versions import is_pinned_chart_version
from .. import resources as res
from ..readback import planned_policies
from ..resources import Resource, Undecidable, contains_unknown, is_unknown


def check_chart_pinned(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if r.type != res.HELM_RELEASE:
        return
    version = str(r.props.get("version") or "")
    if not is_pinned_chart_version(version):
        yield (
            f"Helm release {r.props.get('chart')!r} is not pinned to an exact version "
            f"({version or 'no version'}); previews would not be reproducible"
        )


def check_obot_deny_all(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if r.type != res.HELM_RELEASE or r.props.get("chart") != "obot":
        return
    value = res.find_key(r.props.get("values") or {}, OBOT_DENY_ALL_EGRESS)
    if is_unknown(value):
        raise Undecidable(f"Obot's values ({OBOT_DENY_ALL_EGRESS}) are not known until apply")
    if str(value).lower() != "true":
        yield (
            f"Obot's {OBOT_DENY_ALL_EGRESS} is {value!r}: MCP servers that declare no egress "
            "domains would get allow-all egress"
        )


def check_server_policy(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A declared FirewallPolicy, or each one Obot's controller will write for a registered
    catalog's servers (its own translation of the entries)."""
    if r.type == res.FIREWALL_POLICY:
        manifest: dict[str, Any] = {
            "apiVersion": r.props.get("apiVersion"),
            "kind": r.props.get("kind"),
            "metadata": r.props.get("metadata") or {},
            "spec": r.props.get("spec") or {},
        }
        unknown = contains_unknown(manifest)
        if unknown:
            raise Undecidable(
                f"the FirewallPolicy cannot be validated: {', '.join(unknown)} not known until "
                "apply"
            )
        yield from _policy_problems(manifest, config)
    if r.type == res.OBOT_CATALOG:
        unknown = contains_unknown(r.props.get("entries"))
        if unknown:
            raise Undecidable(f"the catalog's entries are not known until apply: {unknown[0]}")
        for key, planned in planned_policies(r):
            for problem in _policy_problems(planned, config):
                yield f"catalog entry {key!r}: {problem}"


def _policy_problems(manifest: Mapping[str, Any], config: Mapping[str, Any]) -> Iterator[str]:
    errors = crd.errors(manifest)
    for err in errors:
        yield f"FirewallPolicy does not validate against the CRD: {err}"
    if not errors:
        for finding in analysis.unterminated_policies(band.to_rules(manifest).rules):
            yield finding.message
    if config.get("production"):
        for wg in manifest["spec"].get("webGroups") or []:
            if MATCH_ALL in (wg.get("domains") or []):
                yield (
                    f"FirewallPolicy permits every domain ('*', Obot's allow-all) in "
                    f"production (webGroup {wg.get('name')!r})"
                )
