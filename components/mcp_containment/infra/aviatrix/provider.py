"""Typed bindings for the Aviatrix resources the library declares.

Each class is a ``pulumi.CustomResource`` with the token the ``terraform-provider`` bridge
gives the Terraform resource (``aviatrix_smart_group`` -> ``aviatrix:index/smartGroup:SmartGroup``)
and an ``Args`` dataclass whose fields are the Terraform arguments in snake_case. On the wire
the bridge expects camelCase names, MaxItems-1 blocks (``selector``) as one object and other
blocks as arrays (``matchExpressions``, ``portRanges``); :func:`wire` does that translation in
one place. ``name`` is always passed: the bridge would otherwise auto-name the object and every
preview would show a diff.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi

from .package import PACKAGE, package_ref


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def wire(value: Any) -> Any:
    """Args dataclasses -> the camelCase property bag the bridge reads; ``None`` is omitted."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            camel(f.name): wire(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, Mapping):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    return value


class _Binding(pulumi.CustomResource):
    TOKEN: ClassVar[str]
    OUTPUTS: ClassVar[tuple[str, ...]] = ()
    """Computed attributes a caller may read, e.g. ``uuid`` or ``private_ip``."""

    def __init__(self, resource_name: str, args: Any, opts: pulumi.ResourceOptions | None) -> None:
        # Top-level keys stay Python names (they become attributes); the SDK translates them
        # on the wire. Nested blocks are already camelCase: the SDK leaves dict keys alone.
        props: dict[str, Any] = {
            f.name: wire(getattr(args, f.name))
            for f in dataclasses.fields(args)
            if getattr(args, f.name) is not None
        }
        for key in self.OUTPUTS:
            props.setdefault(key, None)
        # The SDK applies the translation to nested keys too; only our own field names are
        # translated, so user data (tags, ext_args such as ``service_name``) goes out verbatim.
        self._wire_names = {key: camel(key) for key in props}
        super().__init__(self.TOKEN, resource_name, props, opts, package_ref=package_ref())

    def translate_input_property(self, prop: str) -> str:
        return self._wire_names.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return snake(prop)


# --- gateway ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SpokeGatewayArgs:
    cloud_type: int
    account_name: pulumi.Input[str]
    gw_name: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    """AWS: the VPC id. Azure: ``<vnet name>:<resource group>:<vnet guid>``."""
    vpc_reg: pulumi.Input[str]
    gw_size: pulumi.Input[str]
    subnet: pulumi.Input[str]
    """The gateway subnet's CIDR."""
    zone: pulumi.Input[str] | None = None
    ha_subnet: pulumi.Input[str] | None = None
    ha_gw_size: pulumi.Input[str] | None = None
    ha_zone: pulumi.Input[str] | None = None
    single_ip_snat: bool = True
    enable_vpc_dns_server: bool | None = None
    tags: Mapping[str, pulumi.Input[str]] | None = None


class SpokeGateway(_Binding):
    """``aviatrix_spoke_gateway``."""

    TOKEN = "aviatrix:index/spokeGateway:SpokeGateway"
    OUTPUTS = (
        "private_ip",
        "ha_private_ip",
        "cloud_instance_id",
        "ha_cloud_instance_id",
        "public_ip",
    )
    private_ip: pulumi.Output[str]
    ha_private_ip: pulumi.Output[str]
    cloud_instance_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: SpokeGatewayArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, args, opts)


@dataclass(frozen=True, kw_only=True)
class SpokeTransitAttachmentArgs:
    spoke_gw_name: pulumi.Input[str]
    transit_gw_name: pulumi.Input[str]


class SpokeTransitAttachment(_Binding):
    """``aviatrix_spoke_transit_attachment``."""

    TOKEN = "aviatrix:index/spokeTransitAttachment:SpokeTransitAttachment"

    def __init__(
        self,
        resource_name: str,
        args: SpokeTransitAttachmentArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, args, opts)


# --- Distributed Cloud Firewall ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConfigFeatureArgs:
    feature_name: str
    """``microseg`` is Distributed Cloud Firewall."""
    is_enabled: bool


class ConfigFeature(_Binding):
    """``aviatrix_config_feature``: a controller-wide feature switch. Deleting it disables the
    feature for every stack on the controller (the provider's delete disables it)."""

    TOKEN = "aviatrix:index/configFeature:ConfigFeature"

    def __init__(
        self,
        resource_name: str,
        args: ConfigFeatureArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, args, opts)


@dataclass(frozen=True, kw_only=True)
class DistributedFirewallingDefaultActionRuleArgs:
    action: str
    logging: bool = True


class DistributedFirewallingDefaultActionRule(_Binding):
    """``aviatrix_distributed_firewalling_default_action_rule``: a controller-wide singleton
    that defaults to PERMIT any-to-any, so default deny must be declared."""

    TOKEN = (
        "aviatrix:index/distributedFirewallingDefaultActionRule:"
        "DistributedFirewallingDefaultActionRule"
    )

    def __init__(
        self,
        resource_name: str,
        args: DistributedFirewallingDefaultActionRuleArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, args, opts)


@dataclass(frozen=True, kw_only=True)
class MatchExpression:
    """One entry of a SmartGroup selector (the entries are OR-ed)."""

    type: str | None = None
    cidr: str | None = None
    fqdn: str | None = None
    account_name: str | None = None
    name: str | None = None
    region: str | None = None
    tags: Mapping[str, str] | None = None
    k8s_cluster_id: pulumi.Input[str] | None = None
    k8s_namespace: str | None = None
    external: str | None = None
    ext_args: Mapping[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class SmartGroupSelector:
    match_expressions: Sequence[MatchExpression]


@dataclass(frozen=True, kw_only=True)
class SmartGroupArgs:
    name: str
    selector: SmartGroupSelector


class SmartGroup(_Binding):
    """``aviatrix_smart_group``; rules reference it by ``uuid``."""

    TOKEN = "aviatrix:index/smartGroup:SmartGroup"
    OUTPUTS = ("uuid",)
    uuid: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: SmartGroupArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, args, opts)


@dataclass(frozen=True, kw_only=True)
class WebMatchExpression:
    snifilter: str | None = None
    urlfilter: str | None = None


@dataclass(frozen=True, kw_only=True)
class WebGroupSelector:
    match_expressions: Sequence[WebMatchExpression]


@dataclass(frozen=True, kw_only=True)
class WebGroupArgs:
    name: str
    selector: WebGroupSelector


class WebGroup(_Binding):
    """``aviatrix_web_group``; rules reference it by ``uuid``."""

    TOKEN = "aviatrix:index/webGroup:WebGroup"
    OUTPUTS = ("uuid",)
    uuid: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: WebGroupArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, args, opts)


@dataclass(frozen=True, kw_only=True)
class PortRangeArgs:
    lo: int
    hi: int | None = None


@dataclass(frozen=True, kw_only=True)
class DcfRuleArgs:
    """One rule of a ruleset (the same block as a V1 policy list entry)."""

    name: str
    action: str
    priority: int
    protocol: str
    src_smart_groups: Sequence[pulumi.Input[str]]
    dst_smart_groups: Sequence[pulumi.Input[str]]
    logging: bool = True
    watch: bool = False
    port_ranges: Sequence[PortRangeArgs] | None = None
    web_groups: Sequence[pulumi.Input[str]] | None = None
    flow_app_requirement: str | None = None
    decrypt_policy: str | None = None


@dataclass(frozen=True, kw_only=True)
class DcfRulesetArgs:
    name: str
    attach_to: pulumi.Input[str]
    """The attachment point's id (``aviatrix_dcf_attachment_point``). An attachment point
    holds one object: this stack's own point, never one of the controller's shared ones."""
    rules: Sequence[DcfRuleArgs]


class DcfRuleset(_Binding):
    """``aviatrix_dcf_ruleset``: one atomic object per attachment point, so a rule change is a
    single update of the whole ordered list, never a window with rules half-applied."""

    TOKEN = "aviatrix:index/dcfRuleset:DcfRuleset"

    def __init__(
        self,
        resource_name: str,
        args: DcfRulesetArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, args, opts)


@dataclass(frozen=True, kw_only=True)
class PolicyGroupAttachmentPointArgs:
    """A named attachment point the policy group holds, for a lower-level owner to fill."""

    name: str
    priority: int


@dataclass(frozen=True, kw_only=True)
class PolicyGroupReferenceArgs:
    priority: int
    target_uuid: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class DcfPolicyGroupArgs:
    """Field names are the bridge's: it pluralises list and set blocks (``attachment_point``
    becomes ``attachmentPoints``), as for every Terraform provider it bridges."""

    name: str
    attach_to: pulumi.Input[str] | None = None
    """The id of the attachment point (or parent) the group is attached to."""
    attachment_points: Sequence[PolicyGroupAttachmentPointArgs] | None = None
    ruleset_references: Sequence[PolicyGroupReferenceArgs] | None = None
    policy_group_references: Sequence[PolicyGroupReferenceArgs] | None = None


class DcfPolicyGroup(_Binding):
    """``aviatrix_dcf_policy_group``: a node of the controller's policy tree. It must hold at
    least one child (the provider refuses an empty group)."""

    TOKEN = "aviatrix:index/dcfPolicyGroup:DcfPolicyGroup"

    def __init__(
        self,
        resource_name: str,
        args: DcfPolicyGroupArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, args, opts)


@dataclass(frozen=True, kw_only=True)
class DistributedFirewallingProxyCaConfigArgs:
    ca_cert: pulumi.Input[str]
    """The CA certificate, PEM (ForceNew)."""
    ca_key: pulumi.Input[str]
    """Its private key, PEM (Sensitive, ForceNew): pass it as a Pulumi secret."""


class DistributedFirewallingProxyCaConfig(_Binding):
    """``aviatrix_distributed_firewalling_proxy_ca_config``: the CA the gateway signs decrypted
    connections with. A controller-wide singleton (its id is the controller's address), so
    only the stack that owns controller-wide objects declares it; deleting it reinstates
    Aviatrix's default CA."""

    TOKEN = "aviatrix:index/distributedFirewallingProxyCaConfig:DistributedFirewallingProxyCaConfig"
    OUTPUTS = ("common_name", "expiration_time", "issuer_name", "unique_serial", "upload_info")
    common_name: pulumi.Output[str]
    expiration_time: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: DistributedFirewallingProxyCaConfigArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # The key is secret in state whatever the caller passed.
        secret = pulumi.ResourceOptions(additional_secret_outputs=["caKey"])
        super().__init__(
            resource_name,
            dataclasses.replace(args, ca_key=pulumi.Output.secret(args.ca_key)),
            pulumi.ResourceOptions.merge(opts, secret),
        )


# --- Kubernetes onboarding ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class KubernetesClusterArgs:
    cluster_id: pulumi.Input[str]
    """EKS cluster ARN, or AKS resource id lower-cased (as the provider documents)."""
    use_csp_credentials: bool = True


class KubernetesCluster(_Binding):
    """``aviatrix_kubernetes_cluster``: lets the controller resolve pod and label SmartGroups."""

    TOKEN = "aviatrix:index/kubernetesCluster:KubernetesCluster"

    def __init__(
        self,
        resource_name: str,
        args: KubernetesClusterArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, args, opts)


# --- the provider itself ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AviatrixProviderArgs:
    controller_ip: pulumi.Input[str]
    """The controller's address (the provider's ``controller_ip``)."""
    username: pulumi.Input[str]
    password: pulumi.Input[str]
    """Kept a Pulumi secret whatever the caller passes (``pulumi config set --secret``)."""
    skip_version_validation: bool | None = None
    """Skip the provider's check of the controller's release (see ``controller.version``)."""
    verify_ssl_certificate: bool | None = None
    path_to_ca_certificate: pulumi.Input[str] | None = None


class AviatrixProvider(pulumi.ProviderResource):
    """The Aviatrix provider, declared explicitly (``pulumi:providers:aviatrix``): for a
    program that manages several controllers, or takes the credentials from somewhere else
    than ``aviatrix:*`` config. Pass it to the components as ``providers={"aviatrix": p}`` (or
    ``provider=p`` on a single resource); their children inherit it."""

    def __init__(
        self,
        resource_name: str,
        args: AviatrixProviderArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Bridged providers take their config as text: non-string values travel as JSON.
        props: dict[str, Any] = {
            "controllerIp": args.controller_ip,
            "username": args.username,
            "password": pulumi.Output.secret(args.password),
            "pathToCaCertificate": args.path_to_ca_certificate,
        }
        for key, flag in (
            ("skipVersionValidation", args.skip_version_validation),
            ("verifySslCertificate", args.verify_ssl_certificate),
        ):
            props[key] = None if flag is None else json.dumps(flag)
        secret = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(
            PACKAGE,
            resource_name,
            {k: v for k, v in props.items() if v is not None},
            pulumi.ResourceOptions.merge(opts, secret),
            package_ref=package_ref(),
        )


# --- data sources ----------------------------------------------------------------------------

GET_DCF_ATTACHMENT_POINT = "aviatrix:index/getDcfAttachmentPoint:getDcfAttachmentPoint"


def get_dcf_attachment_point(
    name: str, opts: pulumi.InvokeOutputOptions | None = None
) -> pulumi.Output[str]:
    """``data "aviatrix_dcf_attachment_point"``: the id a ruleset's or policy group's
    ``attach_to`` takes. Its ``id`` equals its ``attachment_point_id``."""
    result = pulumi.runtime.invoke_output(
        GET_DCF_ATTACHMENT_POINT, {"name": name}, opts, package_ref=package_ref()
    )

    def point_id(r: Mapping[str, Any]) -> str:
        found = r.get("attachmentPointId") or r.get("id")
        if not found:
            # Generic test mocks answer every call with {}: say what is missing, and how to
            # answer it (mcp_containment.testing.ContainmentMocks does).
            raise ValueError(
                f"aviatrix_dcf_attachment_point {name!r} returned no attachment_point_id; "
                "in unit tests use mcp_containment.testing.ContainmentMocks, or pass the "
                "point's id in DcfRulebaseArgs.attachment_points"
            )
        return str(found)

    return result.apply(point_id)
