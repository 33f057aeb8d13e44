"""The mcp-containment policy pack: wiring only. The policies live in
``mcp_containment.crossguard`` (constructing a PolicyPack starts the analyzer server, so tests
import the policies, never this module).

    pulumi preview --policy-pack policy_packs/containment \\
        --policy-pack-config <(containment policy-config --stack NAME)
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from mcp_containment.crossguard.pack import crossguard_policies
from mcp_containment.crossguard.registry import PACK

PolicyPack(
    name=PACK,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=crossguard_policies(),
)
