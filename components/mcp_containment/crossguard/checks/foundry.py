"""Foundry checks: the agents' dependencies stay on private paths, and decryption only where
the agents trust the CA that signs it.

Both read the rulebase each ``DcfRulebase`` declares (known at preview, as the DCF policies
read it), the resources, and stack facts: the declared dependencies and whether the
controller's CA is declared by the stack that owns it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...config import naming
from ...core.analysis import Severity, private_path_findings
from ...core.model import Decrypt
from ...core.privatelink import Dependency
from .. import resources as res
from ..privatelink import private_paths
from ..resources import Resource
from .dcf import Declared, declared, urn_of_rule


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
    account = next((r.urn for r in resources if r.type == res.FOUNDRY_ACCOUNT), None)
    rulebases: list[Declared | None] = [*declared(resources, config)] or [None]
    for d in rulebases:
        rulebase = d.rulebase if d is not None else None
        findings = private_path_findings(rulebase, found.paths, found.spoke_cidr, production)
        for f in findings:
            if f.severity is Severity.ERROR:
                at = urn_of_rule(resources, d, f.rule) if d is not None and f.rule else None
                yield f.message, at or found.endpoint_urns.get(f.related or "") or account


def check_decryption_ca(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    """No DECRYPT_ALLOWED rule unless the gateway's CA is configured on the controller and
    its public certificate is published in Key Vault, readable by the agents."""
    # (what decrypts, where it is declared): the library's rules, and any FirewallPolicy.
    decrypting = [
        (rule.name, urn_of_rule(resources, d, rule.name))
        for d in declared(resources, config)
        for rule in d.rulebase.rules
        if rule.decrypt_policy is Decrypt.ALLOWED
    ]
    decrypting += [(f"FirewallPolicy {r.name}", r.urn) for r in resources if _decrypting(r)]
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
    for what, at in decrypting:
        yield (
            f"{what!r} decrypts (DECRYPT_ALLOWED) but {' and '.join(missing)}: every "
            "decrypted connection would fail TLS verification in the agent",
            at,
        )


def _decrypting(r: Resource) -> bool:
    """A declared FirewallPolicy with a decrypting rule (the rulebase holds the library's)."""
    if r.type != res.FIREWALL_POLICY:
        return False
    rules = (r.props.get("spec") or {}).get("rules") or []
    return any(str(x.get("decryptPolicy", "")).lower() == "decryptallowed" for x in rules)


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
