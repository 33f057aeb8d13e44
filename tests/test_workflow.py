"""The pull-request workflow: what actionlint (run by the test command) does not hold it to."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .helpers import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "policy-preview.yml"


def _workflow() -> dict[Any, Any]:
    doc: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return doc


def _steps() -> list[dict[str, Any]]:
    return [step for job in _workflow()["jobs"].values() for step in job.get("steps", [])]


def test_no_expression_is_pasted_into_a_script() -> None:
    # A matrix value or an event field pasted into `run:` is script injection: they reach
    # scripts through `env:` instead.
    pasted = [s["run"] for s in _steps() if "run" in s and re.search(r"\$\{\{", s["run"])]
    assert pasted == []


def test_permissions_are_the_ones_the_jobs_need() -> None:
    assert _workflow()["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "id-token": "write",
    }


def test_each_cloud_gets_credentials_and_stacks_are_org_qualified() -> None:
    uses = {s.get("uses", "").split("@")[0]: s for s in _steps()}
    azure = uses["azure/login"]["with"]
    assert set(azure) == {"client-id", "tenant-id", "subscription-id"}
    assert "role-to-assume" in uses["aws-actions/configure-aws-credentials"]["with"]
    preview = uses["pulumi/actions"]
    assert preview["with"]["stack-name"].startswith("${{ vars.PULUMI_ORG }}/")
    assert {"ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"} <= set(preview["env"])
