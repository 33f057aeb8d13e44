"""The example agent entrypoint that trusts the decryption CA, run for real against a loopback
stand-in for the managed identity endpoint and Key Vault (the Container Apps identity protocol:
``X-IDENTITY-HEADER``, api-version 2019-08-01; Key Vault ``GET /secrets/{name}?api-version=7.4``
answering ``{"value": ...}``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from .helpers import ROOT
from .test_foundry import certificate

SCRIPT = ROOT / "examples" / "foundry-agent-image" / "trust-decryption-ca.sh"
CA = certificate()


class _Azure(BaseHTTPRequestHandler):
    secret_value = CA

    def do_GET(self) -> None:
        if self.path.startswith("/identity?") and self.headers["X-IDENTITY-HEADER"] == "h":
            body = {"access_token": "token-1"}
        elif self.path == "/secrets/ca?api-version=7.4" and (
            self.headers["Authorization"] == "Bearer token-1"
        ):
            body = {"value": type(self).secret_value}
        else:
            self.send_response(403)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def azure() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Azure)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _run(azure: HTTPServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    port = azure.server_address[1]
    system = tmp_path / "system.pem"
    system.write_text(certificate())
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    env.update(
        IDENTITY_ENDPOINT=f"http://127.0.0.1:{port}/identity",
        IDENTITY_HEADER="h",
        DECRYPTION_CA_SECRET_URI=f"http://127.0.0.1:{port}/secrets/ca",
        DECRYPTION_CA_BUNDLE=str(tmp_path / "bundle.pem"),
        SYSTEM_CA_BUNDLE=str(system),
        NO_PROXY="127.0.0.1",
    )
    agent = (
        "import os; b = open(os.environ['SSL_CERT_FILE']).read(); "
        "print(os.environ['REQUESTS_CA_BUNDLE'] == os.environ['SSL_CERT_FILE'], "
        "b.count('BEGIN CERTIFICATE'), open(os.environ['NODE_EXTRA_CA_CERTS']).read() == "
        f"{CA!r})"
    )
    return subprocess.run(
        ["sh", str(SCRIPT), "python3", "-c", agent],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the entrypoint uses curl")


def test_the_agent_starts_trusting_the_system_bundle_and_the_decryption_ca(
    azure: HTTPServer, tmp_path: Path
) -> None:
    result = _run(azure, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "2", "True"]


def test_without_a_certificate_the_agent_does_not_start(
    azure: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Azure, "secret_value", "not a certificate")
    result = _run(azure, tmp_path)
    assert result.returncode == 1
    assert "does not hold a PEM certificate" in result.stderr
    assert result.stdout == ""
