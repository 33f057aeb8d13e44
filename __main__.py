"""The mcp-containment program: this stack's config -> ContainmentStack.

Invalid config stops here, before any resource is declared, with every problem listed.
"""

import pulumi

from mcp_containment.config.load import load_pulumi_config
from mcp_containment.config.validate import SpecError
from mcp_containment.infra.stack import program

try:
    spec = load_pulumi_config()
except SpecError as exc:
    raise pulumi.RunError(
        "invalid mcp-containment config:\n"
        + "\n".join(f"  {i.path}: {i.message}" for i in exc.issues)
    ) from None

program(spec)
