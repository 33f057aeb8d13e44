#!/bin/sh
# Trust the spoke gateway's TLS-decryption CA, then run the agent.
#
# The stack publishes the CA's public certificate in Key Vault (stack output
# decryptionCaCertificateUri) and grants the Foundry project's identity
# read on that one secret. This entrypoint reads it with the container's managed identity,
# appends it to a copy of the system bundle and points every common TLS stack at that bundle:
# OpenSSL/Python (SSL_CERT_FILE), requests (REQUESTS_CA_BUNDLE), curl (CURL_CA_BUNDLE) and
# Node.js (NODE_EXTRA_CA_CERTS). It needs no root and fails closed: no CA, no agent.
# The vault's name resolves to its private endpoint in the spoke, so this never leaves it.
set -eu

: "${DECRYPTION_CA_SECRET_URI:?set it to https://<vault>.vault.azure.net/secrets/<certificateName>-<environment>-public}"
BUNDLE="${DECRYPTION_CA_BUNDLE:-/tmp/ca-bundle.pem}"
SYSTEM_BUNDLE="${SYSTEM_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
VAULT_RESOURCE="${KEY_VAULT_RESOURCE:-https://vault.azure.net}"

json_field() {
  python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

if [ -n "${IDENTITY_ENDPOINT:-}" ]; then
  # Container Apps (and the hosted agent runtime built on it): the local identity endpoint.
  token=$(curl -fsS -H "X-IDENTITY-HEADER: ${IDENTITY_HEADER:-}" \
    "${IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=${VAULT_RESOURCE}" | json_field access_token)
else
  token=$(curl -fsS -H "Metadata: true" \
    "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${VAULT_RESOURCE}" \
    | json_field access_token)
fi

curl -fsS -H "Authorization: Bearer ${token}" "${DECRYPTION_CA_SECRET_URI}?api-version=7.4" \
  | json_field value > "${BUNDLE}.ca"
if ! grep -q -- "-----BEGIN CERTIFICATE-----" "${BUNDLE}.ca"; then
  echo "trust-decryption-ca: ${DECRYPTION_CA_SECRET_URI} does not hold a PEM certificate" >&2
  exit 1
fi
cat "${SYSTEM_BUNDLE}" "${BUNDLE}.ca" > "${BUNDLE}"

export SSL_CERT_FILE="${BUNDLE}" REQUESTS_CA_BUNDLE="${BUNDLE}" CURL_CA_BUNDLE="${BUNDLE}"
export NODE_EXTRA_CA_CERTS="${BUNDLE}.ca"
exec "$@"
