"""The Pulumi ComponentResources: the spoke network and gateway, the DCF rulebase, the
Kubernetes releases and FirewallPolicies, Foundry, and ContainmentStack composing them."""
