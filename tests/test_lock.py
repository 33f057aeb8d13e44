"""The network lock: built from the spec and deployed outputs, written into the stack file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mcp_containment.config.load import load_file, load_stack
from mcp_containment.config.lock import build_lock, lock_document, read_outputs, write_lock
from mcp_containment.crossguard.policy_config import stack_facts

from .helpers import STACKS_DIR

OUTPUTS = {
    "agentSubnetId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/"
    "virtualNetworks/v/subnets/agents",
    "gatewayPrivateIp": "10.40.0.4",
}


def test_lock_from_spec_and_outputs() -> None:
    spec = load_stack("foundry-prod", STACKS_DIR)
    doc = lock_document(build_lock(spec, OUTPUTS))
    assert doc == {
        "agentSubnetCidr": "10.40.1.0/24",
        "agentSubnetId": OUTPUTS["agentSubnetId"],
        "routes": [
            {
                "addressPrefix": "0.0.0.0/0",
                "nextHopType": "VirtualAppliance",
                "nextHopIpAddress": "10.40.0.4",
            }
        ],
        "gatewayPrivateIp": "10.40.0.4",
        "capabilityHostSubnet": OUTPUTS["agentSubnetId"],
    }


def test_lock_before_deploy_records_only_what_is_known() -> None:
    doc = lock_document(build_lock(load_stack("foundry-prod", STACKS_DIR)))
    assert "agentSubnetId" not in doc and "gatewayPrivateIp" not in doc
    assert doc["routes"] == [{"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance"}]


def test_write_keeps_comments_and_the_file_still_validates(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.foundry-prod.yaml"
    shutil.copy(STACKS_DIR / "Pulumi.foundry-prod.yaml", path)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS))
    spec = load_file(path)
    write_lock(path, build_lock(spec, read_outputs(outputs)))
    text = path.read_text()
    assert "# Foundry hosted agents on Azure" in text  # comments survive
    relocked = load_file(path)
    assert relocked.lock is not None
    assert relocked.lock.gateway_private_ip == "10.40.0.4"
    assert relocked.network == spec.network  # nothing else moved
    # The lock reaches the policy pack through policy config.
    assert stack_facts(relocked)["subnet-immutability"]["lock"]["agentSubnetCidr"] == (
        "10.40.1.0/24"
    )
