"""Resource and object names derived from a spec.

Names are part of what a preview diffs: they are computed in one place, from the spec alone,
so the same config always yields the same names and the components, the ruleset (whose subnet
SmartGroups select subnets by name) and the lock agree on them.
"""

from __future__ import annotations

from .schema import Spec

GATEWAY_SUBNET = "aviatrix-gateway"
HA_GATEWAY_SUBNET = "aviatrix-gateway-ha"
AGENT_SUBNET = "agents"
POD_SUBNET = "pods"
HA_AGENT_SUBNET = "agents-ha"
"""AWS: the workload (node) subnet in the second zone, the HA gateway's."""
HA_POD_SUBNET = "pods-ha"
"""AWS: the pod subnet in the second zone (EKS custom networking: one per node zone)."""
PRIVATE_ENDPOINT_SUBNET = "private-endpoints"


def prefix(spec: Spec) -> str:
    """Resource groups and AWS Name tags are account-wide like the controller's names, so two
    stacks of one environment differ by ``controller.namePrefix`` here too."""
    return f"{spec.name_prefix}-mcp"


def vnet(spec: Spec) -> str:
    return f"{prefix(spec)}-spoke"


def resource_group(spec: Spec) -> str:
    return f"{prefix(spec)}-rg"


def route_table(spec: Spec) -> str:
    return f"{prefix(spec)}-egress-rt"


def subnet(spec: Spec, role: str) -> str:
    """Subnet names are relative to the VNet/VPC, so they are the role alone (Azure), or the
    role under the stack prefix (AWS Name tags are account-wide, so they carry the prefix)."""
    return role if spec.cloud.value == "azure" else f"{prefix(spec)}-{role}"


def kebab(key: str) -> str:
    """A camelCase config key as an Azure-style name part (``cosmosDb`` -> ``cosmos-db``)."""
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in key)


DECRYPTION_CA_TAG = ("mcp-containment-role", "decryption-ca-certificate")
"""Tags the Key Vault secret holding the decryption CA's public certificate, the one the
agents read; the policy pack finds it by this tag."""
