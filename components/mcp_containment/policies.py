"""CrossGuard policies: what `pulumi preview --policy-pack` refuses, and `containment check` too.

Every policy is a plain check over :class:`Resource` views, wrapped once for CrossGuard
(:func:`crossguard_policies`, used by ``policy_packs/containment``) and run in-process by
:func:`mcp_containment.offline.check` on captured resources, with the policy config merged the
way the Pulumi CLI merges it. Checks about rules rebuild the layered ruleset from the resources
(:mod:`mcp_containment.policy_view`) and ask the egress analysis, so no rule is written twice.

CrossGuard sees neither prior state nor stack config, so the facts a policy needs about the
stack (production or not, the declared controller version, the committed network lock) come in
through policy config: ``containment policy-config --stack NAME`` writes them, and the same
file feeds ``pulumi preview --policy-pack-config`` and ``containment check --policy-config``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from . import naming, policy_view
from .egress import analysis, crd
from .egress.analysis import Code, Severity
from .spec import Spec

PACK = "mcp-containment"


class Level(StrEnum):
    """Enforcement levels, as the Pulumi CLI spells them."""

    ADVISORY = "advisory"
    MANDATORY = "mandatory"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource as a policy sees it: plain data, whichever way it was obtained."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    parent: str | None = None
    deps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Property -> URNs its value came from (CrossGuard's property dependencies)."""


@dataclass(frozen=True, slots=True)
class Violation:
    policy: str
    level: Level
    resource: str | None
    message: str

    def to_json(self) -> dict[str, str | None]:
        return {
            "policy": self.policy,
            "level": self.level.value,
            "resource": self.resource,
            "message": self.message,
        }


ResourceCheck = Callable[[Resource, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Mapping[str, Any]], Iterable[tuple[str, str | None]]]


@dataclass(frozen=True)
class PolicyDef:
    name: str
    description: str
    level: Level
    scope: Literal["resource", "stack"]
    check: ResourceCheck | StackCheck
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON-schema properties of the policy's config (with defaults)."""


# --- stack facts carried by policy config ------------------------------------------------------

PRODUCTION = {
    "production": {
        "type": "boolean",
        "default": False,
        "description": "The stack is production (stricter checks).",
    }
}
CONTROLLER = {
    "controllerVersion": {
        "type": "string",
        "default": "",
        "description": "Declared Aviatrix controller version.",
    }
}
LOCK = {
    "lock": {
        "type": "object",
        "default": {},
        "description": "The committed network lock (containment lock).",
    }
}


def policy_config(spec: Spec) -> dict[str, dict[str, Any]]:
    """The policy config a stack needs: what CrossGuard cannot see, per policy."""
    facts: dict[str, Any] = {
        "production": spec.is_production,
        "controllerVersion": spec.controller.version,
        "lock": spec.lock.model_dump(by_alias=True, exclude_none=True) if spec.lock else {},
    }
    return {p.name: {k: facts[k] for k in p.config} for p in POLICIES if p.config}


# --- helpers over resources ------------------------------------------------------------------

AZ_SUBNET = "azure-native:network:Subnet"
AZ_ROUTE_TABLE = "azure-native:network:RouteTable"
AZ_ROUTE = "azure-native:network:Route"
AWS_SUBNET = "aws:ec2/subnet:Subnet"
AWS_ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
AWS_ROUTE = "aws:ec2/route:Route"
AWS_RT_ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
FIREWALL_POLICY = "kubernetes:networking.aviatrix.com/v1alpha1:FirewallPolicy"
SPOKE_GATEWAY = "aviatrix:index/spokeGateway:SpokeGateway"
FOUNDRY_ACCOUNT = "azure-native:cognitiveservices:Account"
CAPABILITY_HOST_TYPES = frozenset(
    {
        "azure-native:cognitiveservices:ProjectCapabilityHost",
        "azure-native:cognitiveservices:AccountCapabilityHost",
        "azure-native:cognitiveservices:CapabilityHost",
    }
)
DEFAULT_ROUTE = "0.0.0.0/0"
WORKLOAD_ROLES = (naming.AGENT_SUBNET, naming.POD_SUBNET)


def _tag_name(props: Mapping[str, Any]) -> str | None:
    tags = props.get("tags") or {}
    return tags.get("Name") if isinstance(tags, Mapping) else None


def subnet_role(r: Resource) -> str | None:
    """``agents``/``pods``/... for the stack's subnets (by the names naming.py gives them)."""
    if r.type == AZ_SUBNET:
        name = r.props.get("subnetName") or r.name
        return name if name in _ROLES else None
    if r.type == AWS_SUBNET:
        name = _tag_name(r.props) or ""
        return next((role for role in _ROLES if name.endswith(f"-{role}")), None)
    return None


_ROLES = (
    naming.AGENT_SUBNET,
    naming.POD_SUBNET,
    naming.GATEWAY_SUBNET,
    naming.HA_GATEWAY_SUBNET,
    naming.PRIVATE_ENDPOINT_SUBNET,
)


def _cidr(props: Mapping[str, Any]) -> str | None:
    value = props.get("addressPrefix") or props.get("cidrBlock")
    return str(value) if value else None


def _azure_routes(r: Resource) -> list[Mapping[str, Any]]:
    if r.type == AZ_ROUTE_TABLE:
        return list(r.props.get("routes") or [])
    if r.type == AZ_ROUTE:
        return [r.props]
    return []


def _aws_routes(r: Resource) -> list[Mapping[str, Any]]:
    if r.type == AWS_ROUTE_TABLE:
        return [
            {**x, "destinationCidrBlock": x.get("cidrBlock")} for x in r.props.get("routes") or []
        ]
    if r.type == AWS_ROUTE:
        return [r.props]
    return []


# --- subnet immutability ---------------------------------------------------------------------


def check_subnet_immutability(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    lock = config.get("lock") or {}
    if not lock or lock.get("teardownAcknowledged"):
        return
    role = subnet_role(r)
    if role == naming.AGENT_SUBNET:
        cidr = _cidr(r.props)
        if cidr != lock.get("agentSubnetCidr"):
            yield _changed("agent subnet CIDR", lock.get("agentSubnetCidr"), cidr)
    for route in _azure_routes(r):
        if route.get("addressPrefix") != DEFAULT_ROUTE:
            continue
        want = next(
            (x for x in lock.get("routes") or () if x.get("addressPrefix") == DEFAULT_ROUTE), None
        )
        if want is None:
            continue
        for key, label in (
            ("nextHopType", "UDR next hop type"),
            ("nextHopIpAddress", "UDR next hop (gateway private IP)"),
        ):
            # A lock written before the first deployment does not know the gateway's address
            # yet: it pins what it knows, and `containment lock --from-outputs` fills the rest.
            if want.get(key) is None and key == "nextHopIpAddress":
                continue
            if (route.get(key) or None) != (want.get(key) or None):
                yield _changed(label, want.get(key), route.get(key))
        gateway_ip = lock.get("gatewayPrivateIp")
        if gateway_ip and route.get("nextHopIpAddress") not in (None, gateway_ip):
            yield _changed("gateway private IP", gateway_ip, route.get("nextHopIpAddress"))
    if r.type == FOUNDRY_ACCOUNT and lock.get("agentSubnetId"):
        for inj in r.props.get("properties", {}).get("networkInjections") or []:
            if inj.get("subnetArmId") != lock["agentSubnetId"]:
                yield _changed("agent subnet id", lock["agentSubnetId"], inj.get("subnetArmId"))
    if r.type in CAPABILITY_HOST_TYPES and lock.get("capabilityHostSubnet"):
        subnet = _find_key(r.props, "customerSubnet") or _find_key(r.props, "subnetArmId")
        if subnet != lock["capabilityHostSubnet"]:
            yield _changed("capability host subnet", lock["capabilityHostSubnet"], subnet)


def _changed(field_name: str, locked: Any, planned: Any) -> str:
    return (
        f"{field_name} differs from the network lock: locked {locked!r}, planned {planned!r}. "
        "The Foundry capability host cannot be updated in place; this change means a full "
        "teardown. Record teardownAcknowledged in the lock to proceed deliberately."
    )


def _find_key(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        for v in value.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    elif isinstance(value, list):
        for v in value:
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


# --- routing -----------------------------------------------------------------------------------


def check_routing(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    """Every workload subnet's route table sends 0.0.0.0/0 to the gateway (or fails closed).

    Routes may be inline on the table or separate resources, on Azure and AWS alike; tables
    and subnets are linked through property dependencies, never through ids, which a preview
    may not know yet.
    """
    default_routes: dict[str, list[Mapping[str, Any]]] = {}
    for r in resources:
        inline = r.type in (AZ_ROUTE_TABLE, AWS_ROUTE_TABLE)
        for route in _azure_routes(r) + _aws_routes(r):
            prefix = route.get("addressPrefix") or route.get("destinationCidrBlock")
            if prefix != DEFAULT_ROUTE:
                continue
            tables = (
                [r.urn]
                if inline
                else [*r.deps.get("routeTableName", ()), *r.deps.get("routeTableId", ())]
            )
            for table in tables:
                default_routes.setdefault(table, []).append(route)
    subnet_table: dict[str, str] = {}
    for r in resources:
        if r.type == AZ_SUBNET and r.deps.get("routeTable"):
            subnet_table[r.urn] = r.deps["routeTable"][0]
        if r.type == AWS_RT_ASSOC and r.deps.get("subnetId") and r.deps.get("routeTableId"):
            subnet_table[r.deps["subnetId"][0]] = r.deps["routeTableId"][0]
    for r in resources:
        role = subnet_role(r)
        if role not in WORKLOAD_ROLES:
            continue
        table_urn = subnet_table.get(r.urn)
        if table_urn is None:
            yield (
                f"workload subnet {role!r} has no route table of this stack: its default "
                "route would bypass the spoke gateway",
                r.urn,
            )
            continue
        routes = default_routes.get(table_urn, [])
        if not routes:
            yield (f"the route table of workload subnet {role!r} has no 0.0.0.0/0 route", r.urn)
        for route in routes:
            if not _via_gateway(route):
                yield (
                    f"the default route of workload subnet {role!r} does not go through the "
                    f"spoke gateway: {dict(route)}",
                    r.urn,
                )


def _via_gateway(route: Mapping[str, Any]) -> bool:
    hop = route.get("nextHopType")
    if hop is not None:
        # VirtualAppliance to the gateway, or fail-closed (None) while the controller programs it.
        return hop in ("VirtualAppliance", "None") and (
            hop == "None" or bool(route.get("nextHopIpAddress"))
        )
    # AWS: through the gateway's ENI or instance, never an internet or NAT gateway.
    if route.get("gatewayId") or route.get("natGatewayId") or route.get("egressOnlyGatewayId"):
        return False
    return bool(route.get("networkInterfaceId") or route.get("instanceId"))


# --- Kubernetes ---------------------------------------------------------------------------------

_PINNED = __import__("re").compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
DENY_ALL_ENV = "OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS"


def check_chart_pinned(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if r.type != HELM_RELEASE:
        return
    version = str(r.props.get("version") or "")
    if not _PINNED.match(version):
        yield (
            f"Helm release {r.props.get('chart')!r} is not pinned to an exact version "
            f"({version or 'no version'}); previews would not be reproducible"
        )


def check_obot_deny_all(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if r.type != HELM_RELEASE or r.props.get("chart") != "obot":
        return
    value = _find_key(r.props.get("values") or {}, DENY_ALL_ENV)
    if str(value).lower() != "true":
        yield (
            f"Obot's {DENY_ALL_ENV} is {value!r}: MCP servers that declare no egress "
            "domains would get allow-all egress"
        )


def check_server_policy(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if r.type != FIREWALL_POLICY:
        return
    spec: dict[str, Any] = dict(r.props.get("spec") or {})
    manifest: dict[str, Any] = {
        "apiVersion": r.props.get("apiVersion"),
        "kind": r.props.get("kind"),
        "metadata": r.props.get("metadata") or {},
        "spec": spec,
    }
    for err in crd.errors(manifest):
        yield f"FirewallPolicy does not validate against the CRD: {err}"
    rules = spec.get("rules") or []
    if not rules or rules[-1].get("action") != "deny":
        yield "FirewallPolicy does not end with its deny rule: unlisted egress would be allowed"
    if config.get("production"):
        for wg in spec.get("webGroups") or []:
            if "*" in (wg.get("domains") or []):
                yield (
                    f"FirewallPolicy permits every domain ('*', Obot's allow-all) in "
                    f"production (webGroup {wg.get('name')!r})"
                )


# --- protection -------------------------------------------------------------------------------


def check_protected(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    guarded = (
        subnet_role(r) == naming.AGENT_SUBNET
        or r.type in (AZ_ROUTE_TABLE, AZ_ROUTE, AWS_ROUTE_TABLE, AWS_ROUTE, SPOKE_GATEWAY)
        or r.type in CAPABILITY_HOST_TYPES
    )
    if guarded and not r.protect:
        yield (
            "must be protected (protect=True): deleting it breaks egress containment or "
            "forces a Foundry teardown"
        )


# --- rules (the rebuilt layered ruleset) -----------------------------------------------------


_FINDINGS: list[Any] = [None, None, None]
"""(resources, config facts, findings) of the last analysis: the rule policies all read one
analysis of the same preview, so it runs once per stack, not once per policy."""


def _findings(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[analysis.Finding]:
    facts = (bool(config.get("production")), str(config.get("controllerVersion") or ""))
    if _FINDINGS[0] is resources and _FINDINGS[1] == facts:
        cached: list[analysis.Finding] = _FINDINGS[2]
        return cached
    compiled = policy_view.compiled_from_resources(resources, config)
    found = analysis.analyze(compiled) if compiled is not None else []
    _FINDINGS[:] = [resources, facts, found]
    return found


def _urn_of(resources: Sequence[Resource], rule: str | None) -> str | None:
    return policy_view.urn_of_rule(resources, rule)


def _stack_check(codes: frozenset[Code], *, errors_only: bool = True) -> StackCheck:
    def check(
        resources: Sequence[Resource], config: Mapping[str, Any]
    ) -> Iterator[tuple[str, str | None]]:
        for f in _findings(resources, config):
            if f.code in codes and (not errors_only or f.severity is Severity.ERROR):
                yield f.message, _urn_of(resources, f.rule)

    return check


ORDERING = frozenset(
    {
        Code.DUPLICATE_NAME,
        Code.DUPLICATE_PRIORITY,
        Code.SHADOWED,
        Code.THREAT_INTEL_MISSING,
        Code.PERMIT_BEFORE_THREAT_INTEL,
        Code.DEFAULT_DENY_MISSING,
        Code.PLATFORM_AFTER_DEFAULT_DENY,
        Code.DEFAULT_DENY_BEFORE_KUBERNETES,
        Code.DEFAULT_ACTION_NOT_DENY,
        Code.EAST_WEST_MISSING,
    }
)
DECRYPTION = frozenset(
    {Code.ACA_DECRYPTED, Code.DECRYPT_OUTSIDE_TOOL_CALLS, Code.DECRYPT_NEEDS_CONTROLLER_8_2}
)


def check_default_deny_enforced(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    if not config.get("production"):
        return
    compiled = policy_view.compiled_from_resources(resources, config)
    if compiled is None:
        return
    for rule in compiled.rules:
        if rule.name == "default-deny-internet" and rule.watch:
            yield (
                "default-deny-internet is in monitor mode in a production stack: nothing is "
                "actually denied",
                _urn_of(resources, rule.name),
            )


def check_monitor_mode(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    for f in _findings(resources, config):
        if f.code is Code.MONITOR_MODE:
            yield (
                f.message
                + "; promote it after `containment replay` shows no legitimate flow is cut",
                _urn_of(resources, f.rule),
            )


def check_containment_breadth(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    for f in _findings(resources, config):
        if f.code is Code.STORAGE_EXPOSED_TO_MCP and f.severity is Severity.ERROR:
            yield f.message, _urn_of(resources, f.rule)
        if f.code is Code.PERMIT_ALL_INTERNET and config.get("production"):
            yield f.message, _urn_of(resources, f.rule)


RULE_FACTS: dict[str, Mapping[str, Any]] = {**PRODUCTION, **CONTROLLER}
"""Every policy over the rebuilt ruleset reads the same facts, so they share one analysis."""

POLICIES: tuple[PolicyDef, ...] = (
    PolicyDef(
        "subnet-immutability",
        "Agent subnet, UDR, gateway IP and capability host subnet match the network lock.",
        Level.MANDATORY,
        "resource",
        check_subnet_immutability,
        LOCK,
    ),
    PolicyDef(
        "dcf-rule-ordering",
        "Threat intel first, platform permits before default deny, default deny after the "
        "Kubernetes band, east-west deny when transit-attached, no duplicates or shadowed "
        "rules, default action DENY.",
        Level.MANDATORY,
        "stack",
        _stack_check(ORDERING),
        RULE_FACTS,
    ),
    PolicyDef(
        "dcf-decryption-scope",
        "ACA rules never decrypted; only the tool-call rule may; per-rule decryption needs "
        "controller 8.2+.",
        Level.MANDATORY,
        "stack",
        _stack_check(DECRYPTION),
        RULE_FACTS,
    ),
    PolicyDef(
        "dcf-audit-logging",
        "Every rule and the default action log.",
        Level.MANDATORY,
        "stack",
        _stack_check(frozenset({Code.NOT_LOGGED})),
        RULE_FACTS,
    ),
    PolicyDef(
        "dcf-default-deny-enforced-in-production",
        "In production, default deny is enforced, not in monitor mode.",
        Level.MANDATORY,
        "stack",
        check_default_deny_enforced,
        RULE_FACTS,
    ),
    PolicyDef(
        "dcf-rules-in-monitor-mode",
        "Rules still in monitor mode (advisory: promote after replaying production flows).",
        Level.ADVISORY,
        "stack",
        check_monitor_mode,
        RULE_FACTS,
    ),
    PolicyDef(
        "dcf-containment-breadth",
        "No platform permit exposes storage to MCP pods; no permit to all of the internet "
        "in production.",
        Level.MANDATORY,
        "stack",
        check_containment_breadth,
        RULE_FACTS,
    ),
    PolicyDef(
        "kubernetes-chart-versions-pinned",
        "Helm releases pin an exact chart version.",
        Level.MANDATORY,
        "resource",
        check_chart_pinned,
    ),
    PolicyDef(
        "obot-default-deny-egress",
        "Obot gives undeclared MCP servers no egress.",
        Level.MANDATORY,
        "resource",
        check_obot_deny_all,
    ),
    PolicyDef(
        "mcp-server-firewall-policy",
        "Each MCP server's FirewallPolicy validates against the CRD, ends with its deny "
        "rule, and (in production) permits no '*' domain.",
        Level.MANDATORY,
        "resource",
        check_server_policy,
        PRODUCTION,
    ),
    PolicyDef(
        "workload-default-route-via-gateway",
        "Every workload subnet's default route goes to the spoke gateway.",
        Level.MANDATORY,
        "stack",
        check_routing,
    ),
    PolicyDef(
        "containment-infrastructure-protected",
        "Agent subnet, route table and routes, gateway and capability host are protected.",
        Level.MANDATORY,
        "resource",
        check_protected,
    ),
)


# --- CrossGuard wiring ---------------------------------------------------------------------


def plain(value: Any) -> Any:
    """CrossGuard hands props as read-only proxies: make them plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def view_of(resource: Any) -> Resource:
    """A :class:`Resource` from a pulumi_policy ``PolicyResource``/``ResourceValidationArgs``."""
    opts = getattr(resource, "opts", None)
    deps = getattr(resource, "property_dependencies", None) or {}
    parent = getattr(resource, "parent", None)
    return Resource(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        props=plain(resource.props),
        protect=bool(getattr(opts, "protect", False)),
        parent=getattr(parent, "urn", None) or getattr(opts, "parent", None),
        deps={k: tuple(d.urn for d in v) for k, v in deps.items()},
    )


def crossguard_policies() -> list[Any]:
    """The policies as pulumi_policy objects, for the pack and the in-process runner alike."""
    from pulumi_policy import (  # noqa: PLC0415 - keep the pure checks importable without it
        EnforcementLevel,
        PolicyConfigSchema,
        ResourceValidationPolicy,
        StackValidationPolicy,
    )

    out: list[Any] = []
    for p in POLICIES:
        schema = (
            PolicyConfigSchema(properties={k: dict(v) for k, v in p.config.items()})
            if p.config
            else None
        )
        level = EnforcementLevel(p.level.value)
        if p.scope == "resource":
            out.append(
                ResourceValidationPolicy(
                    name=p.name,
                    description=p.description,
                    enforcement_level=level,
                    config_schema=schema,
                    validate=_resource_validator(p),
                )
            )
        else:
            out.append(
                StackValidationPolicy(
                    name=p.name,
                    description=p.description,
                    enforcement_level=level,
                    config_schema=schema,
                    validate=_stack_validator(p),
                )
            )
    return out


def _config(args: Any, p: PolicyDef) -> dict[str, Any]:
    merged = {k: v.get("default") for k, v in p.config.items()}
    merged.update(plain(args.get_config() or {}))
    return merged


def _resource_validator(p: PolicyDef) -> Callable[[Any, Callable[..., None]], None]:
    check: ResourceCheck = p.check  # type: ignore[assignment]

    def validate(args: Any, report: Callable[..., None]) -> None:
        for message in check(_view(args), _config(args, p)):
            report(message)

    return validate


_RESOURCE_VIEWS: dict[tuple[str, int], tuple[Any, Resource]] = {}


def _view(args: Any) -> Resource:
    """One plain view per resource for all resource policies, not one per policy: copying the
    props of a couple of thousand resources once per policy dominated a check."""
    key = (args.urn, id(args.props))
    hit = _RESOURCE_VIEWS.get(key)
    # The entry keeps its props alive, so an equal id is the same object.
    if hit is not None and hit[0] is args.props:
        return hit[1]
    if len(_RESOURCE_VIEWS) > 20_000:
        _RESOURCE_VIEWS.clear()
    view = view_of(args)
    _RESOURCE_VIEWS[key] = (args.props, view)
    return view


_VIEWS: list[Any] = [None, None]
"""(the engine's resource list, its views): every stack policy sees the same list."""


def _views(resources: Sequence[Any]) -> list[Resource]:
    # Holding the list keeps its identity meaningful for as long as it is cached.
    if _VIEWS[0] is not resources:
        _VIEWS[:] = [resources, [view_of(r) for r in resources]]
    views: list[Resource] = _VIEWS[1]
    return views


def _stack_validator(p: PolicyDef) -> Callable[[Any, Callable[..., None]], None]:
    check: StackCheck = p.check  # type: ignore[assignment]

    def validate(args: Any, report: Callable[..., None]) -> None:
        for message, urn in check(_views(args.resources), _config(args, p)):
            report(message, urn)

    return validate


# --- policy config, merged the way the Pulumi CLI merges it ------------------------------------


@dataclass(frozen=True, slots=True)
class EffectiveConfig:
    level: Level
    properties: dict[str, Any]


def merge_config(layers: Sequence[Mapping[str, Any]]) -> dict[str, EffectiveConfig]:
    """Defaults (schema defaults, policy level), then each layer in order; within a layer,
    ``all`` first, then the policy's own entry. A string is an enforcement level; an object
    may carry ``enforcementLevel`` and properties."""
    out: dict[str, EffectiveConfig] = {}
    for p in POLICIES:
        level = p.level
        props: dict[str, Any] = {k: v.get("default") for k, v in p.config.items()}
        for layer in layers:
            for key in ("all", p.name):
                entry = layer.get(key)
                if entry is None:
                    continue
                if isinstance(entry, str):
                    level = Level(entry)
                elif isinstance(entry, Mapping):
                    if "enforcementLevel" in entry:
                        level = Level(entry["enforcementLevel"])
                    props.update(
                        {
                            k: v
                            for k, v in entry.items()
                            if k != "enforcementLevel" and (key == p.name or k in p.config)
                        }
                    )
                else:
                    raise ValueError(f"policy config {key!r}: expected a level or an object")
        out[p.name] = EffectiveConfig(level, props)
    return out


def unknown_policies(layers: Sequence[Mapping[str, Any]]) -> list[str]:
    names = {p.name for p in POLICIES} | {"all"}
    return sorted({k for layer in layers for k in layer if k not in names})
