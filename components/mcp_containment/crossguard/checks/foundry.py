"""Foundry checks: the agents' dependencies stay on private paths, and decryption only where
the agents trust the CA that signs it.

Both read the resources alone plus stack facts: the declared dependencies (CrossGuard sees no
config) and whether the controller's CA is declared by the stack that owns it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...config import naming
from ...core.analysis import Severity, private_path_findings
from ...core.model import Decrypt, Rulebase
from ...core.privatelink import Dependency
from .. import resources as res
from ..privatelink import private_paths
from ..readback import rulebase_from_resources, urn_of_rule
from ..resources import Resource, derived


def _rulebase(resources: Sequence[Resource], config: Mapping[str, Any]) -> Rulebase | None:
    key = f"foundry-rulebase/{bool(config.get('production'))}/{config.get('controllerVersion')}"
    return derived(resources, key, lambda: rulebase_from_resources(resources, config))


def check_private_paths(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    """Every declared dependency resolves to a private address inside the spoke, and no
    permit would carry it through the gateway (errors in production)."""
    deps = [Dependency.from_json(d) for d in config.get("privateDependencies") or ()]
    if not deps:
        return
    found = private_paths(resources, deps)
    if found.spoke_cidr is None:
        yield "the stack declares no spoke VNet for its private endpoints", None
        return
    production = bool(config.get("production"))
    findings = private_path_findings(
        _rulebase(resources, config), found.paths, found.spoke_cidr, production
    )
    account = next((r.urn for r in resources if r.type == res.FOUNDRY_ACCOUNT), None)
    for f in findings:
        if f.severity is Severity.ERROR:
            at = urn_of_rule(resources, f.rule) if f.rule else None
            yield f.message, at or found.endpoint_urns.get(f.related or "") or account


def check_decryption_ca(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    """No DECRYPT_ALLOWED rule unless the gateway's CA is configured on the controller and
    its public certificate is published in Key Vault, readable by the agents."""
    if not any(_may_decrypt(r) for r in resources):
        return  # the common case, decided without rebuilding the rulebase
    rulebase = _rulebase(resources, config)
    if rulebase is None:
        return
    decrypting = [r for r in rulebase.rules if r.decrypt_policy is Decrypt.ALLOWED]
    if not decrypting:
        return
    missing = []
    configured = any(r.type == res.PROXY_CA for r in resources)
    if not configured and not config.get("caConfiguredElsewhere"):
        missing.append("no proxy CA is configured on the controller")
    if not _published(resources):
        missing.append(
            "the CA's public certificate is not published in Key Vault with read access for "
            "the agents"
        )
    if not missing:
        return
    for rule in decrypting:
        yield (
            f"{rule.name!r} decrypts (DECRYPT_ALLOWED) but {' and '.join(missing)}: every "
            "decrypted connection would fail TLS verification in the agent",
            urn_of_rule(resources, rule.name),
        )


def _may_decrypt(r: Resource) -> bool:
    if r.type in res.RULESET_TYPES:
        rules = r.props.get("rules") or r.props.get("policies") or []
        return any(x.get("decryptPolicy") == Decrypt.ALLOWED.value for x in rules)
    if r.type == res.FIREWALL_POLICY:
        rules = (r.props.get("spec") or {}).get("rules") or []
        return any(str(x.get("decryptPolicy", "")).lower() == "decryptallowed" for x in rules)
    return False


def _published(resources: Sequence[Resource]) -> bool:
    tag, value = naming.DECRYPTION_CA_TAG
    secrets = {
        r.urn
        for r in resources
        if r.type == res.KEY_VAULT_SECRET and (r.props.get("tags") or {}).get(tag) == value
    }
    return any(
        r.type == res.ROLE_ASSIGNMENT and secrets.intersection(r.deps.get("scope", ()))
        for r in resources
    )
