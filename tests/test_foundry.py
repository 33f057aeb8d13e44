"""Foundry end to end: private paths for every dependency, the decryption CA, protection by
environment. Bad input is refused with its key path before anything is declared.

Private Link facts come from Microsoft's "Azure Private Endpoint private DNS zone values"
(MicrosoftDocs/azure-docs, articles/private-link/private-endpoint-dns.md, 2025-08-04) and the
Foundry BYO-VNet DNS table (MicrosoftDocs/azure-ai-docs@03a5bd4c,
articles/foundry/agents/how-to/virtual-networks.md), matched by Microsoft's template
(microsoft-foundry/foundry-samples@ec0972e3, infrastructure/infrastructure-setup-bicep/
15-private-network-standard-agent-setup/modules-network-secured/private-endpoint-and-dns.bicep:
groupIds account/searchService/blob/Sql, zones at location 'global', links with
registrationEnabled false, one zone group of three configs for the Foundry account).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from mcp_containment.cli import EXIT_INVALID, EXIT_OK, EXIT_VIOLATIONS, app
from mcp_containment.config.validate import validate
from mcp_containment.core import privatelink
from mcp_containment.crossguard.policy_config import stack_facts
from mcp_containment.infra.aviatrix import provider as avx
from mcp_containment.infra.foundry import decryption
from mcp_containment.offline import runner, runtime
from mcp_containment.offline.runtime import Capture, CapturedResource

from .helpers import ROOT, paths, raw_stack, with_changes
from .test_components import planned

SUB = "/subscriptions/5f0c3b9e-8d7a-4c21-9e1b-2a6f4d8c7b10/resourceGroups/rg/providers"
VAULT = f"{SUB}/Microsoft.KeyVault/vaults/egress-kv"
PE = "azure-native:network:PrivateEndpoint"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
SECRET = "azure-native:keyvault:Secret"
PROXY_CA = "aviatrix:index/distributedFirewallingProxyCaConfig:DistributedFirewallingProxyCaConfig"


def certificate(*, ca: bool = True, days: int = 365, start_days_ago: int = 1) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test decryption CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=start_days_ago))
        .not_valid_after(now - timedelta(days=start_days_ago) + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def existing_ca(pem: str) -> dict[str, Any]:
    return {"keyVaultId": VAULT, "certificateName": "dcf-proxy-ca", "certificate": pem}


# --- bad input: the key path and the reason, nothing declared -----------------------------------


def test_a_private_endpoint_subnet_too_small_for_its_endpoints_is_refused() -> None:
    raw = with_changes(raw_stack("foundry-prod"), network__privateEndpointSubnet="10.40.2.0/28")
    message = paths(raw)["network.privateEndpointSubnet"]
    # account 1 + storage 1 + search 1 + cosmos 2 + vault 1, twice, plus Azure's 5.
    assert "need at least 17" in message and "10.40.2.0/28 has 16" in message
    ok = with_changes(raw_stack("foundry-prod"), network__privateEndpointSubnet="10.40.2.0/27")
    assert "network.privateEndpointSubnet" not in paths(ok)


def test_foundry_needs_a_private_endpoint_subnet() -> None:
    raw = with_changes(raw_stack("foundry-dev"), network__privateEndpointSubnet=None)
    assert "is required when foundry.enabled" in paths(raw)["network.privateEndpointSubnet"]


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (
            "storage",
            f"{SUB}/Microsoft.Search/searchServices/s",
            "storage takes a Microsoft.Storage",
        ),
        (
            "cosmosDb",
            f"{SUB}/Microsoft.DocumentDB/mongoClusters/m",
            "Microsoft.DocumentDB/databaseAccounts",
        ),
        ("aiSearch", "prod-agents-search", "is not an ARM resource id"),
        (
            "aiServices",
            f"{SUB}/Microsoft.Storage/storageAccounts/x",
            "Microsoft.CognitiveServices/accounts",
        ),
    ],
)
def test_a_dependency_id_of_the_wrong_type_is_refused(key: str, value: str, reason: str) -> None:
    deps = {**raw_stack("foundry-prod")["foundry"]["dependencies"], key: value}
    found = paths(with_changes(raw_stack("foundry-prod"), foundry__dependencies=deps))
    assert reason in found[f"foundry.dependencies.{key}"]


def test_dependencies_without_foundry_are_refused() -> None:
    raw = with_changes(
        raw_stack("obot-aks"),
        foundry__dependencies={"storage": f"{SUB}/Microsoft.Storage/storageAccounts/x"},
    )
    assert "foundry.enabled is false" in paths(raw)["foundry.dependencies"]


@pytest.mark.parametrize(
    ("pem", "reason"),
    [
        (certificate(ca=False), "is not a CA certificate"),
        (certificate(days=10, start_days_ago=20), "expired on"),
        (certificate(start_days_ago=-5), "is not valid before"),
        ("MIIB...", "is not a PEM certificate"),
        (certificate() + certificate(), "holds 2 certificates"),
    ],
)
def test_a_ca_certificate_that_cannot_sign_for_the_gateway_is_refused(
    pem: str, reason: str
) -> None:
    raw = with_changes(raw_stack("foundry-prod"), foundry__decryptionCa=existing_ca(pem))
    assert reason in paths(raw)["foundry.decryptionCa.certificate"]


def test_the_ca_source_is_exactly_one_and_its_vault_is_a_vault() -> None:
    both = {**existing_ca(certificate()), "generate": {}}
    assert (
        "exactly one"
        in paths(with_changes(raw_stack("foundry-prod"), foundry__decryptionCa=both))[
            "foundry.decryptionCa"
        ]
    )
    wrong = {
        **existing_ca(certificate()),
        "keyVaultId": f"{SUB}/Microsoft.Storage/storageAccounts/x",
    }
    assert (
        "Microsoft.KeyVault/vaults"
        in paths(with_changes(raw_stack("foundry-prod"), foundry__decryptionCa=wrong))[
            "foundry.decryptionCa.keyVaultId"
        ]
    )
    long_name = {**existing_ca(certificate()), "certificateName": "c" * 57}
    assert (
        "at most 56"
        in paths(with_changes(raw_stack("foundry-prod"), foundry__decryptionCa=long_name))[
            "foundry.decryptionCa.certificateName"
        ]
    )


def test_only_the_controller_owner_can_generate_a_ca() -> None:
    generated = raw_stack("foundry-prod")["foundry"]["decryptionCa"]
    raw = with_changes(
        raw_stack("foundry-dev"), foundry__decryptionCa=generated, egress__toolCalls__decrypt=True
    )
    assert "ownsControllerWide" in paths(raw)["foundry.decryptionCa.generate"]
    # A non-owner trusts the owner's CA by its committed public certificate.
    ok = with_changes(raw, foundry__decryptionCa=existing_ca(certificate()))
    assert paths(ok) == {}


def test_the_cli_refuses_bad_input_with_the_key_path(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.foundry-prod.yaml").read_text())
    doc["config"]["mcp-containment:foundry"]["decryptionCa"] = existing_ca(certificate(ca=False))
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(app, ["plan", "--config", str(path), "--json"])
    assert result.exit_code == EXIT_INVALID
    assert [e["path"] for e in json.loads(result.stdout)["errors"]] == [
        "foundry.decryptionCa.certificate"
    ]


# --- private paths --------------------------------------------------------------------------------


def test_the_private_link_table_is_microsofts() -> None:
    table = {s.key: (s.resource_type, s.group_id, s.zones) for s in privatelink.SERVICES.values()}
    assert table == {
        "aiServices": (
            "Microsoft.CognitiveServices/accounts",
            "account",
            (
                "privatelink.cognitiveservices.azure.com",
                "privatelink.openai.azure.com",
                "privatelink.services.ai.azure.com",
            ),
        ),
        "storage": (
            "Microsoft.Storage/storageAccounts",
            "blob",
            ("privatelink.blob.core.windows.net",),
        ),
        "aiSearch": (
            "Microsoft.Search/searchServices",
            "searchService",
            ("privatelink.search.windows.net",),
        ),
        "cosmosDb": (
            "Microsoft.DocumentDB/databaseAccounts",
            "Sql",
            ("privatelink.documents.azure.com",),
        ),
        "keyVault": ("Microsoft.KeyVault/vaults", "vault", ("privatelink.vaultcore.azure.net",)),
    }


def _by_name(c: Capture, type_: str) -> dict[str, CapturedResource]:
    """By name below the stack's component ("<stack>-mcp-foundry-..." -> "foundry-...")."""
    return {r.name.split("-mcp-", 1)[-1]: r for r in c.of_type(type_)}


@pytest.mark.parametrize("stack", ["foundry-dev", "foundry-prod"])
def test_every_dependency_gets_an_endpoint_zones_linked_to_the_spoke_and_a_zone_group(
    stack: str,
) -> None:
    c = planned(stack)
    spec = validate(raw_stack(stack))
    vnet = c.of_type("azure-native:network:VirtualNetwork")[0]
    pe_subnet = next(
        r
        for r in c.of_type("azure-native:network:Subnet")
        if r.inputs["subnetName"] == "private-endpoints"
    )
    assert (
        "routeTable" not in pe_subnet.inputs and pe_subnet.inputs["defaultOutboundAccess"] is False
    )
    zones = {r.inputs["privateZoneName"]: r for r in c.of_type(ZONE)}
    want_zones = {z for d in spec.private_dependencies() for z in d.service.zones}
    assert set(zones) == want_zones
    assert all(z.inputs["location"] == "global" for z in zones.values())
    links = c.of_type(LINK)
    assert sorted(zones[z].urn for z in want_zones) == sorted(
        link.property_dependencies["privateZoneName"][0] for link in links
    )
    for link in links:
        assert link.inputs["registrationEnabled"] is False
        assert link.property_dependencies["virtualNetwork"] == (vnet.urn,)
    endpoints = _by_name(c, PE)
    groups = _by_name(c, ZONE_GROUP)
    account = c.of_type("azure-native:cognitiveservices:Account")[0]
    assert len(endpoints) == len(spec.private_dependencies())
    for dep in spec.private_dependencies():
        key = "foundry-account" if dep.resource_id is None else _kebab(dep.key)
        pe = endpoints[f"foundry-private-endpoints-{key}"]
        (conn,) = pe.inputs["privateLinkServiceConnections"]
        assert conn["groupIds"] == [dep.service.group_id]
        if dep.resource_id is None:
            assert pe.property_dependencies["privateLinkServiceConnections"] == (account.urn,)
        else:
            assert conn["privateLinkServiceId"] == dep.resource_id
        assert pe.property_dependencies["subnet"] == (pe_subnet.urn,)
        group = groups[f"foundry-private-endpoints-{key}-dns"]
        assert group.property_dependencies["privateEndpointName"] == (pe.urn,)
        assert set(group.property_dependencies["privateDnsZoneConfigs"]) == {
            zones[z].urn for z in dep.service.zones
        }


def _kebab(key: str) -> str:
    return "".join(f"-{ch.lower()}" if ch.isupper() else ch for ch in key)


def test_no_agent_starts_before_its_private_paths_and_ca_exist() -> None:
    c = planned("foundry-prod")
    host = c.of_type("azure-native:cognitiveservices:AccountCapabilityHost")[0]
    needed = [r.urn for t in (PE, ZONE_GROUP, LINK, PROXY_CA, SECRET) for r in c.of_type(t)]
    assert needed and set(needed) <= set(host.depends_on)


def test_plan_shows_every_dependency_private_and_no_finding_for_it() -> None:
    result = CliRunner().invoke(app, ["plan", "--stack", "foundry-prod", "--json"])
    assert result.exit_code == EXIT_OK
    doc = json.loads(result.stdout)
    assert [(p["key"], p["private"], p["subnet"]) for p in doc["privatePaths"]] == [
        (key, True, "10.40.2.0/26")
        for key in ("foundryAccount", "storage", "aiSearch", "cosmosDb", "decryptionCaVault")
    ]
    assert not [f for f in doc["findings"] if f["code"].startswith("dependency")]


# --- the decryption CA ----------------------------------------------------------------------------


def test_the_proxy_ca_binding_follows_the_provider_schema() -> None:
    # terraform-provider-aviatrix v8.2.20:
    # aviatrix/resource_aviatrix_distributed_firewalling_proxy_ca_config.go: ca_cert Required
    # ForceNew; ca_key Required Sensitive ForceNew; computed common_name, expiration_time,
    # issuer_name, unique_serial, upload_info; registered in aviatrix/provider.go as
    # aviatrix_distributed_firewalling_proxy_ca_config.
    args = {f.name for f in dataclasses.fields(avx.DistributedFirewallingProxyCaConfigArgs)}
    assert args == {"ca_cert", "ca_key"}
    assert set(avx.DistributedFirewallingProxyCaConfig.OUTPUTS) == {
        "common_name",
        "expiration_time",
        "issuer_name",
        "unique_serial",
        "upload_info",
    }
    assert avx.DistributedFirewallingProxyCaConfig.TOKEN == (
        "aviatrix:index/distributedFirewallingProxyCaConfig:DistributedFirewallingProxyCaConfig"
    )


def test_a_generated_ca_is_stored_in_key_vault_and_uploaded_with_its_key_secret() -> None:
    c = planned("foundry-prod")
    (cert,) = c.of_type("tls:index/selfSignedCert:SelfSignedCert")
    assert cert.inputs["isCaCertificate"] is True
    assert "cert_signing" in cert.inputs["allowedUses"]
    assert cert.inputs["validityPeriodHours"] == 365 * 24
    secrets = {r.inputs["secretName"]: r for r in c.of_type(SECRET)}
    assert set(secrets) == {"dcf-proxy-ca-prod-public", "dcf-proxy-ca-prod-key"}
    assert "properties" in secrets["dcf-proxy-ca-prod-key"].secret_inputs
    public = secrets["dcf-proxy-ca-prod-public"]
    assert public.inputs["tags"]["mcp-containment-role"] == "decryption-ca-certificate"
    assert public.inputs["properties"]["contentType"] == "application/x-pem-file"
    assert (public.inputs["vaultName"], public.inputs["resourceGroupName"]) == (
        "prod-egress-kv",
        "prod-security",
    )
    (controller,) = c.of_type(PROXY_CA)
    assert controller.secret_inputs == ("caKey",)
    assert controller.inputs["caKey"] == runtime.SECRET
    (reader,) = c.of_type("azure-native:authorization:RoleAssignment")
    assert reader.property_dependencies["scope"] == (public.urn,)
    assert reader.inputs["roleDefinitionId"].endswith(decryption.KEY_VAULT_SECRETS_USER)
    assert reader.inputs["principalType"] == "ServicePrincipal"
    project = c.of_type("azure-native:cognitiveservices:Project")[0]
    assert reader.property_dependencies["principalId"] == (project.urn,)


def test_an_existing_certificate_is_published_and_its_key_read_from_key_vault() -> None:
    pem = certificate()
    spec = validate(with_changes(raw_stack("foundry-prod"), foundry__decryptionCa=existing_ca(pem)))
    c = runtime.plan(spec)
    assert not c.of_type("tls:index/selfSignedCert:SelfSignedCert")
    (public,) = c.of_type(SECRET)  # the public certificate only: its key stays where it is
    assert public.inputs["properties"]["value"] == pem
    (controller,) = c.of_type(PROXY_CA)
    assert controller.inputs["caCert"] == pem
    assert controller.inputs["caKey"] == runtime.SECRET


def test_a_stack_that_does_not_own_the_controller_publishes_the_ca_but_does_not_upload_it() -> None:
    raw = with_changes(
        raw_stack("foundry-dev"),
        foundry__decryptionCa=existing_ca(certificate()),
        egress__toolCalls__decrypt=True,
    )
    spec = validate(raw)
    c = runtime.plan(spec)
    assert not c.of_type(PROXY_CA)
    assert len(c.of_type(SECRET)) == 1
    facts = stack_facts(spec)["dcf-decryption-ca"]
    assert facts["caConfiguredElsewhere"] is True
    violations = runner.check(c, [stack_facts(spec)])
    assert not [v for v in violations if v.policy == "dcf-decryption-ca"]
    # Without the owning stack's CA recorded, the same plan is refused.
    refused = runner.check(
        c, [stack_facts(spec), {"dcf-decryption-ca": {"caConfiguredElsewhere": False}}]
    )
    assert [v.policy for v in refused if v.level.value == "mandatory"] == ["dcf-decryption-ca"]


def test_a_ca_the_agents_cannot_read_is_not_distributed() -> None:
    spec = validate(raw_stack("foundry-prod"))
    c = planned("foundry-prod")
    kept = [r for r in c.resources if r.type != "azure-native:authorization:RoleAssignment"]
    violations = runner.check(Capture(resources=kept, outputs=c.outputs), [stack_facts(spec)])
    (v,) = [v for v in violations if v.policy == "dcf-decryption-ca"]
    assert "not published in Key Vault with read access for the agents" in v.message
    assert "no proxy CA" not in v.message


def _check(tmp_path: Path, ca: Any) -> int:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.foundry-prod.yaml").read_text())
    foundry = doc["config"]["mcp-containment:foundry"]
    if ca is None:
        foundry.pop("decryptionCa")
    else:
        foundry["decryptionCa"] = ca
    path = tmp_path / "Pulumi.decrypting.yaml"
    path.write_text(yaml.safe_dump(doc))
    return CliRunner().invoke(app, ["check", "--config", str(path)]).exit_code


def test_a_decrypting_stack_fails_check_without_a_ca_and_passes_with_one(tmp_path: Path) -> None:
    assert _check(tmp_path, None) == EXIT_VIOLATIONS
    assert _check(tmp_path, existing_ca(certificate())) == EXIT_OK
    generated = raw_stack("foundry-prod")["foundry"]["decryptionCa"]
    assert _check(tmp_path, generated) == EXIT_OK


# --- protection by environment ------------------------------------------------------------------

GUARDED = (
    "azure-native:network:VirtualNetwork",
    "azure-native:network:RouteTable",
    "aviatrix:index/spokeGateway:SpokeGateway",
    "azure-native:cognitiveservices:Account",
    "azure-native:cognitiveservices:Project",
    "azure-native:cognitiveservices:AccountCapabilityHost",
)


def _protected(c: Capture) -> set[str]:
    return {r.type for r in c.resources if r.protect}


def test_production_is_protected_and_development_is_not() -> None:
    assert set(GUARDED) <= _protected(planned("foundry-prod"))
    assert _protected(planned("foundry-dev")) == set()


@pytest.mark.parametrize(("stack", "protect"), [("foundry-dev", True), ("foundry-prod", False)])
def test_protection_can_be_configured_either_way_and_the_policy_agrees(
    stack: str, protect: bool
) -> None:
    spec = validate(with_changes(raw_stack(stack), protect=protect))
    c = runtime.plan(spec)
    assert (set(GUARDED) <= _protected(c)) if protect else _protected(c) == set()
    violations = runner.check(c, [stack_facts(spec)])
    assert not [v for v in violations if v.policy == "containment-infrastructure-protected"]
    # The policy follows the stack's setting: demand protection and an unprotected plan fails.
    if not protect:
        demanded = runner.check(
            c, [stack_facts(spec), {"containment-infrastructure-protected": {"protect": True}}]
        )
        assert [v for v in demanded if v.policy == "containment-infrastructure-protected"]
