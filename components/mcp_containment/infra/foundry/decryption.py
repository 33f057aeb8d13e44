"""``DecryptionCa``: the CA the spoke gateway signs decrypted tool calls with, configured on
the controller and published in Key Vault for the agents to trust.

Two sources, neither needing a Key Vault data-plane SDK in this program:

- **generated**: the ``tls`` provider creates the key and a self-signed CA certificate (the key
  lives in state as a Pulumi secret); both are written to Key Vault as secrets through ARM
  (``Microsoft.KeyVault/vaults/secrets``, a management-plane resource);
- **existing**: a Key Vault certificate by name. Its public certificate is committed in the
  stack config (so it is validated offline and the plan is deterministic); its private key is
  read, only where the controller is configured, through the classic ``azure`` provider's
  ``getCertificateData`` data source (the provider does the data-plane read, and the key stays
  a Pulumi secret).

Either way the public certificate is published as its own secret, readable by the agents'
identity alone (Key Vault Secrets User on that one secret): never the certificate's own
same-name secret, which holds the private key. The controller's proxy CA is a singleton, so
only the stack that owns controller-wide objects configures it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_tls as tls
from pulumi_azure_native import authorization, keyvault

from ...config.naming import DECRYPTION_CA_TAG
from ...core.privatelink import ArmId
from ..aviatrix import provider as avx

COMPONENT = "mcp-containment:foundry:DecryptionCa"
PEM_CONTENT_TYPE = "application/x-pem-file"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
"""Azure built-in role "Key Vault Secrets User" (read secret contents), by its fixed id."""
GET_CERTIFICATE_DATA = "azure:keyvault/getCertificateData:getCertificateData"
AZURE_CLASSIC_VERSION = "6.40.1"
"""The classic ``azure`` provider plugin the existing-certificate key read runs in."""
CA_KEY_USES = ("cert_signing", "crl_signing", "digital_signature")


@dataclass(frozen=True, kw_only=True)
class GeneratedCaSettings:
    common_name: str
    validity_days: int


@dataclass(frozen=True, kw_only=True)
class DecryptionCaArgs:
    key_vault_id: pulumi.Input[str]
    """The vault (Azure RBAC authorization) the certificate is published in."""
    certificate_name: str
    """The existing Key Vault certificate, or the base name of a generated CA's secrets."""
    secret_suffix: str
    """Distinguishes this stack's secrets in a shared vault (the environment)."""
    certificate_pem: pulumi.Input[str] | None = None
    """The existing certificate's public PEM; None with ``generate``."""
    generate: GeneratedCaSettings | None = None
    configure_controller: bool = False
    """Upload the CA to the controller (the stack owning controller-wide objects only)."""
    reader_principal_id: pulumi.Input[str] | None = None
    """The agents' identity, granted read on the published certificate alone."""
    tags: Mapping[str, str] = field(default_factory=dict)


class DecryptionCa(pulumi.ComponentResource):
    certificate_pem: pulumi.Output[str]
    public_certificate: keyvault.Secret
    certificate_uri: pulumi.Output[str]
    """The published certificate's data-plane URI, what agents read."""
    controller: avx.DistributedFirewallingProxyCaConfig | None
    reader: authorization.RoleAssignment | None

    def __init__(
        self, name: str, args: DecryptionCaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        if (args.certificate_pem is None) == (args.generate is None):
            raise ValueError("give exactly one of certificate_pem or generate")
        vault = pulumi.Output.from_input(args.key_vault_id).apply(ArmId.parse)
        self._vault = vault
        self._args = args
        key: pulumi.Output[str] | None = None
        if args.generate is not None:
            pem, key = self._generated(name, args.generate)
        else:
            pem = pulumi.Output.from_input(args.certificate_pem).apply(str)
            if args.configure_controller:
                key = _certificate_key(args, pulumi.InvokeOutputOptions(parent=self))
        self.certificate_pem = pem
        self.public_certificate = self._secret(
            f"{name}-public-certificate", "public", pem, dict([DECRYPTION_CA_TAG])
        )
        self.reader = self._reader(name)
        self.controller = None
        if args.configure_controller and key is not None:
            self.controller = avx.DistributedFirewallingProxyCaConfig(
                f"{name}-controller",
                avx.DistributedFirewallingProxyCaConfigArgs(ca_cert=pem, ca_key=key),
                pulumi.ResourceOptions(parent=self),
            )
        self.certificate_uri = self.public_certificate.properties.apply(
            lambda p: p.secret_uri if p else None
        )
        self.register_outputs(
            {
                "publicCertificateSecretId": self.public_certificate.id,
                "publicCertificateUri": self.certificate_uri,
            }
        )

    def _generated(
        self, name: str, settings: GeneratedCaSettings
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """A new CA: key and self-signed certificate, the key also kept in Key Vault."""
        child = pulumi.ResourceOptions(parent=self)
        private_key = tls.PrivateKey(f"{name}-key", algorithm="RSA", rsa_bits=4096, opts=child)
        hours = settings.validity_days * 24
        cert = tls.SelfSignedCert(
            f"{name}-certificate",
            private_key_pem=private_key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(common_name=settings.common_name),
            is_ca_certificate=True,
            set_subject_key_id=True,
            allowed_uses=list(CA_KEY_USES),
            validity_period_hours=hours,
            # Renewed by the `pulumi up` that runs in its last month (or last half, if short):
            # a new CA, re-published and re-uploaded, before agents see an expired one.
            early_renewal_hours=min(30 * 24, hours // 2),
            opts=child,
        )
        key_pem: pulumi.Output[str] = pulumi.Output.secret(private_key.private_key_pem)
        self._secret(f"{name}-private-key", "key", key_pem, {})
        return cert.cert_pem, key_pem

    def _secret(
        self, resource_name: str, role: str, value: pulumi.Input[str], tags: Mapping[str, str]
    ) -> keyvault.Secret:
        args = self._args
        return keyvault.Secret(
            resource_name,
            resource_group_name=self._vault.apply(lambda v: v.resource_group),
            vault_name=self._vault.apply(lambda v: v.name),
            secret_name=f"{args.certificate_name}-{args.secret_suffix}-{role}",
            properties=keyvault.SecretPropertiesArgs(value=value, content_type=PEM_CONTENT_TYPE),
            tags={**args.tags, **tags},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _reader(self, name: str) -> authorization.RoleAssignment | None:
        """The agents may read the public certificate, and nothing else in the vault."""
        args = self._args
        if args.reader_principal_id is None:
            return None
        secret = f"{args.certificate_name}-{args.secret_suffix}-public"
        return authorization.RoleAssignment(
            f"{name}-agents-read",
            scope=self.public_certificate.id,
            role_definition_id=self._vault.apply(
                lambda v: (
                    f"/subscriptions/{v.subscription}/providers/"
                    f"Microsoft.Authorization/roleDefinitions/{KEY_VAULT_SECRETS_USER}"
                )
            ),
            principal_id=args.reader_principal_id,
            principal_type="ServicePrincipal",
            # A role assignment's name is a GUID: derived, so the same stack keeps the same one.
            role_assignment_name=self._vault.apply(
                lambda v: str(uuid.uuid5(uuid.NAMESPACE_URL, f"{v}/secrets/{secret}/agents"))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _certificate_key(
    args: DecryptionCaArgs, opts: pulumi.InvokeOutputOptions
) -> pulumi.Output[str]:
    """The existing certificate's private key (PEM), read by the classic provider."""
    opts.version = AZURE_CLASSIC_VERSION
    result: pulumi.Output[Any] = pulumi.runtime.invoke_output(
        GET_CERTIFICATE_DATA,
        {"keyVaultId": args.key_vault_id, "name": args.certificate_name},
        opts,
    )
    return pulumi.Output.secret(result.apply(lambda r: str(r["key"])))
