"""The k8s-firewall chart the library installs, and the gap between its CRD and the vendored one.

Facts from AviatrixSystems/k8s-firewall-charts: its published ``index.yaml`` (gh-pages commit
64ea7227) lists 10.0.0, 9.0.0 and 8.2.0; ``Chart.yaml`` is 8.2.0 at 3e10f8cb, 10.0.0 at 7962c89d
and 10.1.0 at 17d7843b. ``crds/networking.aviatrix.com_firewallpolicies.yaml`` has two
versions in the repository's history, first seen at 3e10f8cb and at 17d7843b, so 10.0.0 ships
the 8.2.0 CRD. The vendored one is 17d7843b's: it adds five optional rule fields.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from mcp_containment.compile import firewallpolicy
from mcp_containment.config.schema import Spec
from mcp_containment.config.validate import validate
from mcp_containment.core import crd
from mcp_containment.core.versions import K8S_FIREWALL_CHART

from .helpers import EXAMPLE_STACKS, raw_stack
from .test_provider_conformance import stacks


@cache
def spec_of(stack: str) -> Spec:
    return validate(raw_stack(stack))


def test_the_default_chart_is_the_newest_published_one() -> None:
    assert K8S_FIREWALL_CHART == "10.0.0"
    for stack in EXAMPLE_STACKS:
        spec = spec_of(stack)
        if spec.kubernetes.enabled:
            assert spec.kubernetes.k8s_firewall.chart_version == K8S_FIREWALL_CHART


def test_the_fields_beyond_the_published_crd_are_the_vendored_crds() -> None:
    doc = crd.crd("FirewallPolicy")
    (version,) = doc["spec"]["versions"]
    rule = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["rules"]
    fields = set(rule["items"]["properties"])
    assert fields >= crd.RULE_FIELDS_AFTER_PUBLISHED
    # What both versions have: what the library may generate.
    assert {"name", "action", "protocol", "port", "selector", "destinationSmartGroups"} <= (
        fields - crd.RULE_FIELDS_AFTER_PUBLISHED
    )
    header = crd.CRD_FILES["FirewallPolicy"]
    text = (crd.resources.files("mcp_containment") / "data" / "crds" / header).read_text()
    assert "17d7843b6bacca443025622983a20e33dde99bc8" in text and "version 10.1.0" in text


def _manifests(spec: Spec) -> list[dict[str, Any]]:
    """Every FirewallPolicy of the band: the controller's for Obot's servers (the library
    computes them), the library's own for self-managed workloads."""
    planned = [firewallpolicy.planned(spec, s) for s in spec.mcp_servers]
    return [p for p in planned if p is not None] + [
        firewallpolicy.workload(spec, w) for w in spec.mcp_workloads
    ]


@pytest.mark.parametrize("stack", ["obot-aks", "obot-eks"])
def test_generated_policies_use_only_fields_of_the_published_crd(stack: str) -> None:
    manifests = _manifests(spec_of(stack))
    assert manifests
    for m in manifests:
        assert crd.unpublished_fields(m) == []
        assert crd.errors(m) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_generated_policies_of_any_stack_fit_the_published_crd(spec: Spec) -> None:
    for m in _manifests(spec):
        assert crd.unpublished_fields(m) == []


def test_a_field_the_published_crd_lacks_is_named() -> None:
    (m, *_) = _manifests(spec_of("obot-aks"))
    m["spec"]["rules"][0]["watch"] = True
    assert crd.errors(m) == []  # valid against the vendored 10.1.0 CRD...
    assert crd.unpublished_fields(m) == ["spec.rules[0].watch"]  # ...pruned by 10.0.0's
