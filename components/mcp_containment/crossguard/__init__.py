"""The CrossGuard policy pack: resource views, the rulebase read back from resources, checks
by family, the policy registry, the pack wiring and policy config."""
