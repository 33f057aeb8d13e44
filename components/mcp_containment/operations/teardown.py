"""``containment teardown``: the one way down a stack, in an order Azure and the controller
accept.

The library protects what containment rests on (in production), so a plain ``pulumi destroy``
refuses; and a plain destroy in dependency order still fails on Azure: deleting the Foundry
account leaves the agent subnet's service association link (``legionservicelink``, held by the
capability host's Container Apps environment) in place for up to 48 hours, so the subnet
cannot be deleted. Teardown therefore, through the user's own Pulumi CLI (Automation API):

1. reads the state (``stack export``) and refuses if anything outside the library is
   protected: it unprotects exactly the library's protected resources, nothing else;
2. unprotects those (``state unprotect``);
3. destroys the capability hosts first (``destroy --target ... --target-dependents``), then
   waits out the service association link (Microsoft's own template waits 900 s);
4. destroys, in a phase of its own, whatever must precede another resource the dependency
   graph does not already order it before (FirewallPolicies before the CRDs that define them,
   rulesets before their groups, child policy groups before the group holding their
   attachment point);
5. destroys the rest, retrying while Azure still reports the link.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..config import naming
from ..crossguard import resources as res
from .graph import StateResource, reaches

SAL_WAIT_SECONDS: Final = 900
"""Microsoft's Terraform for the network-secured agent setup waits 900 s after purging the
account before deleting the subnet (foundry-samples, 15a-private-network-standard-agent-setup,
``destroy_duration``)."""
SAL_RETRY_SECONDS: Final = 300
SAL_RETRIES: Final = 4
SAL_MARKERS: Final = ("serviceAssociationLinks", "InUseSubnetCannotBeDeleted")
"""What Azure's refusal to delete a subnet still linked to Container Apps contains."""
K8S_FIREWALL: Final = "mcp-containment:kubernetes:K8sFirewall"
POLICY_GROUP: Final = "aviatrix:index/dcfPolicyGroup:DcfPolicyGroup"


class TeardownRefused(Exception):
    """Teardown will not start; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Phase:
    reason: str
    targets: tuple[str, ...]
    """Destroyed with their dependents; empty for the final destroy of everything left."""
    wait_seconds: int = 0
    """Waited after the phase."""


@dataclass(frozen=True, slots=True)
class TeardownPlan:
    unprotect: tuple[str, ...]
    phases: tuple[Phase, ...]


@dataclass(frozen=True, slots=True)
class OrderRule:
    """``first`` resources must be deleted before ``then`` resources."""

    reason: str
    first: Callable[[StateResource], bool]
    then: Callable[[StateResource], bool]


def _agent_subnet(r: StateResource) -> bool:
    return r.type == res.AZ_SUBNET and r.inputs.get("subnetName") == naming.AGENT_SUBNET


def _crd_release(r: StateResource) -> bool:
    return r.type == res.HELM_RELEASE and K8S_FIREWALL in r.lineage


def _child_group(r: StateResource) -> bool:
    return r.type == POLICY_GROUP and not r.inputs.get("attachmentPoints")


def _parent_group(r: StateResource) -> bool:
    return r.type == POLICY_GROUP and bool(r.inputs.get("attachmentPoints"))


ORDER: Final = (
    OrderRule(
        "FirewallPolicies before the k8s-firewall CRDs that define them",
        lambda r: r.type == res.FIREWALL_POLICY,
        _crd_release,
    ),
    OrderRule(
        "rulesets before the groups they reference",
        lambda r: r.type in res.RULESET_TYPES,
        lambda r: r.type in (res.SMART_GROUP, res.WEB_GROUP),
    ),
    OrderRule(
        "child policy groups before the policy group holding their attachment point",
        _child_group,
        _parent_group,
    ),
)
"""What Azure and the controller require beyond the capability host; each pair the
dependency graph does not already order gets a destroy phase of its own."""


def plan_teardown(
    resources: Sequence[StateResource], sal_wait: int = SAL_WAIT_SECONDS
) -> TeardownPlan:
    foreign = sorted(r.urn for r in resources if r.protect and not r.library_owned)
    if foreign:
        raise TeardownRefused(
            "protected resources outside the library (teardown unprotects only its own): "
            + ", ".join(foreign)
        )
    unprotect = tuple(r.urn for r in resources if r.protect)
    phases: list[Phase] = []
    hosts = tuple(r.urn for r in resources if r.type in res.CAPABILITY_HOST_TYPES)
    if hosts:
        phases.append(
            Phase(
                "capability hosts before the agent subnet; then wait out its service "
                "association link",
                hosts,
                sal_wait if any(_agent_subnet(r) for r in resources) else 0,
            )
        )
    for rule in ORDER:
        thens = {r.urn for r in resources if rule.then(r)}
        firsts = tuple(
            r.urn
            for r in resources
            if rule.first(r) and thens - {r.urn} - reaches(resources, r.urn, thens)
        )
        if firsts:
            phases.append(Phase(rule.reason, firsts))
    phases.append(Phase("everything else", ()))
    return TeardownPlan(unprotect, tuple(phases))


@dataclass(frozen=True, slots=True)
class Step:
    """One thing teardown did, for the report."""

    action: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"action": self.action, "detail": self.detail}


def run_teardown(
    stack_name: str,
    work_dir: str,
    *,
    sal_wait: int = SAL_WAIT_SECONDS,
    sleep: Callable[[float], None],
    echo: Callable[[str], None],
) -> list[Step]:
    """Drive the Pulumi CLI through the plan; the caller has checked the acknowledgement."""
    from pulumi import automation as auto  # noqa: PLC0415 - the CLI, only when tearing down

    stack = auto.select_stack(stack_name, work_dir=work_dir)
    exported = stack.export_stack().deployment or {}
    resources = [StateResource.from_state(r) for r in exported.get("resources") or ()]
    plan = plan_teardown(resources, sal_wait)
    steps: list[Step] = []
    if plan.unprotect:
        ws: Any = stack.workspace
        ws.cli_api.state_unprotect(
            *plan.unprotect, stack=stack.name, cwd=ws.work_dir, additional_env=ws.env_vars
        )
        steps.append(Step("unprotect", f"{len(plan.unprotect)} resource(s)"))
    for phase in plan.phases:
        if phase.targets:
            echo(f"destroying {len(phase.targets)} resource(s): {phase.reason}")
            stack.destroy(target=list(phase.targets), target_dependents=True, on_output=echo)
            steps.append(Step("destroy", phase.reason))
        else:
            _destroy_rest(stack, echo, sleep)
            steps.append(Step("destroy", phase.reason))
        if phase.wait_seconds:
            echo(f"waiting {phase.wait_seconds} s for Azure to release the agent subnet")
            sleep(phase.wait_seconds)
            steps.append(Step("wait", f"{phase.wait_seconds} s"))
    return steps


def _destroy_rest(stack: Any, echo: Callable[[str], None], sleep: Callable[[float], None]) -> None:
    from pulumi.automation import CommandError  # noqa: PLC0415

    for attempt in range(SAL_RETRIES + 1):
        try:
            stack.destroy(on_output=echo)
            return
        except CommandError as exc:
            if attempt == SAL_RETRIES or not any(m in str(exc) for m in SAL_MARKERS):
                raise
            echo(f"the agent subnet is still linked; retrying in {SAL_RETRY_SECONDS} s")
            sleep(SAL_RETRY_SECONDS)
