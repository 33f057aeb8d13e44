"""From a validated spec to core values: the rulebase, the Kubernetes band's FirewallPolicies,
and flows resolved against the stack (simulate, replay)."""
