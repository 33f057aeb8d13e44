"""The mcp-containment policy pack: wiring only. The policies live in
``mcp_containment.crossguard`` (constructing a PolicyPack starts the analyzer server, so tests
import the policies, never this module). Run it from the directory
``containment policy-pack --out DIR`` writes:

    pulumi preview --policy-pack "$(containment policy-pack --out .policy-pack)"

Nothing may be printed before the PolicyPack starts: the engine reads the pack's port from the
first line of its output.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from mcp_containment.crossguard.pack import crossguard_policies
from mcp_containment.crossguard.registry import PACK

PolicyPack(
    name=PACK,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=crossguard_policies(),
)
