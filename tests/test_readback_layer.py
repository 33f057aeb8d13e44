"""Issue 13: the policy pack once read a ruleset's layer from ``"after" in name``, so an
environment called ``after-sales`` or ``hereafter`` flipped the layers and blocked the deploy
with false ordering violations. The readback now matches the whole suffix the library gives
each ruleset (``<prefix>-before-ui-rules``, ``<prefix>-after-ui-rules``)."""

from __future__ import annotations

import pytest

from mcp_containment.config.validate import validate
from mcp_containment.core.model import Layer
from mcp_containment.crossguard import readback
from mcp_containment.crossguard import resources as res
from mcp_containment.crossguard.policy_config import stack_facts
from mcp_containment.crossguard.registry import Level
from mcp_containment.offline import runner, runtime

from .helpers import raw_stack, with_changes


@pytest.mark.parametrize("environment", ["after-sales", "hereafter", "afterlife-after"])
def test_an_environment_named_after_something_keeps_its_layers(environment: str) -> None:
    spec = validate(with_changes(raw_stack("obot-aks"), environment=environment))
    capture = runtime.plan(spec)
    violations = runner.check(capture, [stack_facts(spec)])
    assert [v for v in violations if v.level is Level.MANDATORY] == []
    views = [res.Resource(r.type, r.name, r.urn, r.outputs) for r in capture.resources]
    layers = {
        rule.name: readback.ruleset_layer(rs)
        for rs in views
        if rs.type in res.RULESET_TYPES
        for rule in readback.ruleset_rules(rs, {})
    }
    assert layers["deny-threat-intel"] is Layer.BEFORE_UI
    assert layers["default-deny-internet"] is Layer.AFTER_UI
