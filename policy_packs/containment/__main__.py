"""The mcp-containment policy pack: wiring only. The policies live in
``mcp_containment.policies`` (constructing a PolicyPack starts the analyzer server, so tests
import the policies, never this module).

    pulumi preview --policy-pack policy_packs/containment \\
        --policy-pack-config <(containment policy-config --stack NAME)
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from mcp_containment.policies import PACK, crossguard_policies

PolicyPack(
    name=PACK,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=crossguard_policies(),
)
