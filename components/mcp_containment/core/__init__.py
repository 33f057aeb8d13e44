"""The pure core: rulebase values and the algorithms on them (matching, evaluation, analysis,
CRD validation). No Pulumi, no stack config: every layer above builds on it."""
