"""The rulebase: SmartGroups, WebGroups and rules in one layered evaluation order.

These are plain frozen values with no Pulumi in them. The components turn them into provider
resources, the policy pack and the analysis reason over them, and the simulator evaluates
flows against them; none of those re-derive a rule on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, Final

DEFAULT_ROUTE: Final = "0.0.0.0/0"
"""The IPv4 default route, and the range Aviatrix's ``Anywhere`` group stands for."""


class Layer(IntEnum):
    """Where a rule sits in the controller's single evaluation order; lower runs first.

    DCF walks one policy tree: the Terraform attachment point before the rules managed in the
    controller's UI, those UI rules, the Terraform point after them, the Kubernetes band (the
    rules the controller derives from FirewallPolicy objects), the Terraform point after that
    band where the controller has one, then the default action. Where the band sits is not
    documented for 8.2; the provider's newest docs place ``TERRAFORM_AFTER_K8S_MANAGED`` "after
    the K8s managed rules", so the band is modelled after ``TERRAFORM_AFTER_UI_MANAGED``: the
    order in which a rule at either earlier point can shadow a server's permits.
    """

    BEFORE_UI = 0
    UI = 1
    """Rules an operator manages in the controller's UI: the library declares none."""
    AFTER_UI = 2
    KUBERNETES = 3
    AFTER_KUBERNETES = 4
    DEFAULT = 5

    @property
    def label(self) -> str:
        return _LAYER_LABELS[self]

    @property
    def attachment_point(self) -> str | None:
        """The controller's attachment point for a Terraform-managed layer, else None."""
        return _TERRAFORM_POINTS.get(self)


_LAYER_LABELS = {
    Layer.BEFORE_UI: "before-ui",
    Layer.UI: "ui",
    Layer.AFTER_UI: "after-ui",
    Layer.KUBERNETES: "kubernetes",
    Layer.AFTER_KUBERNETES: "after-kubernetes",
    Layer.DEFAULT: "default",
}
_TERRAFORM_POINTS = {
    Layer.BEFORE_UI: "TERRAFORM_BEFORE_UI_MANAGED",
    Layer.AFTER_UI: "TERRAFORM_AFTER_UI_MANAGED",
    Layer.AFTER_KUBERNETES: "TERRAFORM_AFTER_K8S_MANAGED",
}
TERRAFORM_LAYERS: Final = tuple(_TERRAFORM_POINTS)
"""The layers the library declares rulesets in, each through its own attachment point."""


def in_evaluation_order(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    """Rules in the controller's order: by layer; within a layer, in the order given (a
    ruleset's rules by priority, the band's policies by name, each policy's rules in list
    order). Compiler and policy pack both build their rule lists through this."""
    return tuple(sorted(rules, key=lambda r: r.layer))


class Action(StrEnum):
    PERMIT = "PERMIT"
    DENY = "DENY"


class Protocol(StrEnum):
    ANY = "ANY"
    TCP = "TCP"
    UDP = "UDP"
    ICMP = "ICMP"

    @classmethod
    def parse(cls, text: str) -> Protocol | None:
        """Any spelling of a protocol name (``tcp``, ``TCP``, ``Any``); None when unknown."""
        return _PROTOCOL_SPELLINGS.get(text) or _PROTOCOL_SPELLINGS.get(text.strip().upper())

    @property
    def code(self) -> int:
        """The small integer the evaluator's inner loop compares (0 is ANY)."""
        return _PROTOCOL_CODES[self]


_PROTOCOL_SPELLINGS = {
    spelling: p for p in Protocol for spelling in (p.value, p.value.lower(), p.value.title())
}
_PROTOCOL_CODES = {Protocol.ANY: 0, Protocol.TCP: 1, Protocol.UDP: 2, Protocol.ICMP: 3}


class Decrypt(StrEnum):
    ALLOWED = "DECRYPT_ALLOWED"
    NOT_ALLOWED = "DECRYPT_NOT_ALLOWED"


class SelectorKind(StrEnum):
    CIDR = "cidr"
    SUBNET = "subnet"
    K8S = "k8s"
    EXTERNAL = "external"  # a feed such as Azure service tags (external: azureips)
    THREAT = "threat"  # Aviatrix-managed threat intelligence
    PUBLIC_INTERNET = "public-internet"
    ANYWHERE = "anywhere"


@dataclass(frozen=True, slots=True)
class Selector:
    """One match expression of a SmartGroup (an OR of selectors makes the group)."""

    kind: SelectorKind
    cidr: str | None = None
    """For CIDR selectors, and the resolved range of a SUBNET selector (used by simulation)."""
    account_name: str | None = None
    name: str | None = None
    region: str | None = None
    k8s_cluster_id: str | None = None
    k8s_namespace: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    external: str | None = None
    ext_args: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any], subnet_cidrs: Mapping[str, str] = {}) -> Selector:
        """A selector as it appears on the wire: an Aviatrix match expression (camelCase) or a
        FirewallPolicy SmartGroup selector, which share their field names. ``subnet_cidrs``
        gives the range of a subnet selector, which names its subnet but not its range."""
        if raw.get("external"):
            return cls(
                SelectorKind.EXTERNAL,
                external=str(raw["external"]),
                ext_args=tuple(sorted((raw.get("extArgs") or {}).items())),
            )
        kind = _WIRE_KINDS.get(str(raw.get("type") or ""))
        cidr = raw.get("cidr")
        if kind is None and cidr:
            if cidr == DEFAULT_ROUTE:
                return cls(SelectorKind.ANYWHERE, cidr=DEFAULT_ROUTE)
            return cls(SelectorKind.CIDR, cidr=str(cidr))
        if kind is None:
            # An untyped selector with Kubernetes fields selects pods (FirewallPolicy style).
            kind = SelectorKind.K8S if raw.get("k8sNamespace") or raw.get("tags") else None
        if kind is None:
            return cls(SelectorKind.CIDR)
        name = raw.get("name")
        return cls(
            kind,
            cidr=cidr or (subnet_cidrs.get(str(name)) if name else None),
            account_name=raw.get("accountName"),
            name=name,
            region=raw.get("region"),
            k8s_cluster_id=raw.get("k8sClusterId"),
            k8s_namespace=raw.get("k8sNamespace"),
            tags=tuple(sorted((raw.get("tags") or {}).items())),
        )


_WIRE_KINDS = {"cidr": SelectorKind.CIDR, "subnet": SelectorKind.SUBNET, "k8s": SelectorKind.K8S}


@dataclass(frozen=True, slots=True)
class SmartGroup:
    name: str
    selectors: tuple[Selector, ...]
    managed: bool = False
    """Aviatrix-managed (Anywhere, Public Internet, threat group): referenced, never created."""
    uuid: str | None = None


@dataclass(frozen=True, slots=True)
class WebGroup:
    name: str
    domains: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PortRange:
    lo: int
    hi: int

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.lo <= port <= self.hi

    def __str__(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    priority: int
    layer: Layer
    action: Action
    src: tuple[str, ...]
    dst: tuple[str, ...]
    protocol: Protocol = Protocol.ANY
    ports: tuple[PortRange, ...] = ()
    web_groups: tuple[str, ...] = ()
    decrypt_policy: Decrypt | None = None
    tls_required: bool = False
    monitor: bool = False
    """Monitor mode (the provider's ``watch``): a match is logged with the action it would
    take, and permitted."""
    logging: bool = True
    origin: str = "base"
    """``base`` for the library's rulesets, ``server:<name>`` for a FirewallPolicy rule."""
    firewall_policy: str | None = None
    """The FirewallPolicy (namespace/name) a Kubernetes-band rule comes from."""


@dataclass(frozen=True, slots=True)
class DefaultAction:
    action: Action
    logging: bool = True


@dataclass(frozen=True, slots=True)
class Rulebase:
    """Everything the gateway evaluates for one stack, in evaluation order."""

    smart_groups: tuple[SmartGroup, ...]
    web_groups: tuple[WebGroup, ...]
    rules: tuple[Rule, ...]
    """All layers, already in evaluation order (layer, then priority, then list order)."""
    default_action: DefaultAction
    firewall_policies: tuple[dict[str, object], ...] = ()
    """The Kubernetes FirewallPolicy objects behind the Kubernetes band, as manifests."""
    threat_feed: tuple[str, ...] = ()
    platform_version: str = ""
    transit_attached: bool = False
    mcp_namespace: str | None = None
    mcp_pod_ranges: tuple[str, ...] = ()
    """Where MCP server pods get their addresses: a permit whose source reaches these (or the
    MCP namespace) reaches MCP workloads."""
    controller_version: tuple[int, ...] | None = None
    production: bool = False

    def group(self, name: str) -> SmartGroup:
        for g in self.smart_groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def web_group(self, name: str) -> WebGroup:
        for w in self.web_groups:
            if w.name == name:
                return w
        raise KeyError(name)

    def layer(self, layer: Layer) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.layer is layer)

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)
