"""Obot's egress-domain rule, ported, and ours checked against it.

``egress_domain_vectors.json``: the 14 cases of obot-platform/obot ba10ff72
``pkg/mcp/mcpvalidators_test.go`` TestValidateEgressDomains (~L1340-1458), as data.
``egress_domain_derived_vectors.json``: **our** extra cases, worked out from the same rule
(``pkg/mcp/mcpvalidators.go`` L37, L77-169); they are flagged ``derived`` and are not upstream
tests.

Two functions are held to them: :func:`obot_egress_error` (Obot's rule and messages, exactly)
and :func:`check_egress_domain` (what a stack accepts: never anything Obot refuses, and a few
things Obot accepts refused on purpose, listed below).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcp_containment.core.fqdn import (
    DomainError,
    check_egress_domain,
    obot_domain_error,
    obot_egress_error,
)

from .helpers import paths, raw_stack

FIXTURES = Path(__file__).parent / "fixtures" / "obot"
UPSTREAM: list[dict[str, Any]] = json.loads((FIXTURES / "egress_domain_vectors.json").read_text())
DERIVED: list[dict[str, Any]] = json.loads(
    (FIXTURES / "egress_domain_derived_vectors.json").read_text()
)

STRICTER = {
    # Obot accepts these; the gateway could never reach a public service by them.
    "1.2.3": "all-numeric top-level label",
    "256.1.1.1": "all-numeric top-level label",
}
"""Domains Obot accepts that a stack refuses, and why."""


@pytest.mark.parametrize("case", UPSTREAM, ids=[c["name"] for c in UPSTREAM])
def test_obots_own_cases(case: dict[str, Any]) -> None:
    reason = obot_egress_error(case["domains"], case.get("denyAllEgress"))
    if case["valid"]:
        assert reason is None
    else:
        assert reason is not None and case["errorContains"] in reason


def _single(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cases if len(c["domains"]) == 1 and not c.get("denyAllEgress")]


@pytest.mark.parametrize("case", _single(UPSTREAM), ids=[c["name"] for c in _single(UPSTREAM)])
def test_a_stack_refuses_what_obot_refuses_upstream(case: dict[str, Any]) -> None:
    if case["valid"]:
        assert check_egress_domain(case["domain"]) == case["domain"].strip().lower()
    else:
        with pytest.raises(DomainError):
            check_egress_domain(case["domain"])


def test_star_dot_com_is_refused_with_obots_reason() -> None:
    with pytest.raises(DomainError, match="two DNS labels"):
        check_egress_domain("*.com")
    assert obot_domain_error("*.com") == "egress domain must contain at least two DNS labels"


@pytest.mark.parametrize("case", DERIVED, ids=[repr(c["domains"]) for c in DERIVED])
def test_derived_cases_ours_not_upstream(case: dict[str, Any]) -> None:
    assert case["derived"] is True
    reason = obot_egress_error(case["domains"], case.get("denyAllEgress"))
    assert reason is None if case["valid"] else reason == f"egressDomains[0]: {case['error']}"
    for domain in case["domains"]:
        if not case["valid"]:
            with pytest.raises(DomainError):
                check_egress_domain(domain)
        elif domain.strip() in STRICTER:
            with pytest.raises(DomainError, match=STRICTER[domain.strip()]):
                check_egress_domain(domain)
        else:
            assert check_egress_domain(domain) == domain.strip().lower()


def test_deny_all_with_domains_is_refused_in_a_stack_too() -> None:
    (case,) = [c for c in UPSTREAM if c.get("denyAllEgress")]
    raw = raw_stack("obot-aks")
    raw["mcpServers"][0]["egressDomains"] = case["domains"]
    raw["mcpServers"][0]["denyAllEgress"] = True
    assert "egressDomains is also set" in paths(raw)["mcpServers[0].denyAllEgress"]


def test_obot_keeps_duplicates_a_stack_does_not() -> None:
    (case,) = [c for c in DERIVED if c["domains"] == ["api.example.com", "api.example.com"]]
    assert obot_egress_error(case["domains"], None) is None
    raw = raw_stack("obot-aks")
    raw["mcpServers"][0]["egressDomains"] = case["domains"]
    assert paths(raw)["mcpServers[0].egressDomains"] == "lists a domain more than once"
