"""``ObotCatalog``: the stack's catalog reaches Obot from ``pulumi up``.

A Pulumi dynamic resource (:class:`CatalogSource`) registers the catalog repository with
Obot's admin API, refreshes it when the declared entries change, checks Obot now holds them,
and triggers the update of the servers launched from a changed entry (see
:mod:`.catalog_sync`). Its inputs carry the entries and the two Obot settings the network-policy
controller's translation needs, so the policy pack reads the planned Kubernetes band from them.

The API key is accepted only as a Pulumi secret, and stays one in the state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ResourceProvider,
    UpdateResult,
)

from ...core.obot import DEFAULT_CATALOG
from ...core.obotapi import ObotApi, check_api_url
from . import catalog_sync

COMPONENT = "mcp-containment:kubernetes:ObotCatalog"
INPUTS = (
    "obotUrl",
    "apiKey",
    "catalogId",
    "sourceUrl",
    "entries",
    "mcpNamespace",
    "defaultDenyAllEgress",
    "syncTimeoutSeconds",
)
_REPLACE_ON = ("obotUrl", "catalogId")
_SYNC_ON = ("sourceUrl", "entries")
PLAIN_KEY = (
    "the Obot API key must be a Pulumi secret (pulumi.Config('obot').require_secret('apiKey'), "
    "set with `pulumi config set --secret obot:apiKey`), not a plain value"
)


class CatalogSourceProvider(ResourceProvider):
    """Create, diff, update and delete the registration, through Obot's admin API."""

    poll_seconds: ClassVar[float] = 2.0

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        problem = check_api_url(str(news.get("obotUrl") or ""))
        if problem is not None:
            failures.append(CheckFailure("obotUrl", problem))
        if not str(news.get("sourceUrl") or "").startswith("https://"):
            failures.append(CheckFailure("sourceUrl", "Obot reads catalogs over https only"))
        if not news.get("apiKey"):
            failures.append(CheckFailure("apiKey", "is empty"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in INPUTS if olds.get(k) != news.get(k)]
        return DiffResult(
            changes=bool(changed),
            replaces=[k for k in _REPLACE_ON if k in changed],
            stables=[],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._sync(props, changed=list(props["entries"]))
        return CreateResult(f"{props['catalogId']}/{props['sourceUrl']}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if not any(olds.get(k) != news.get(k) for k in _SYNC_ON):
            return UpdateResult({**_inputs(news), **_synced(olds)})
        old_entries: Mapping[str, Any] = olds.get("entries") or {}
        changed = [k for k, m in news["entries"].items() if old_entries.get(k) != m]
        if olds.get("sourceUrl") != news.get("sourceUrl"):
            changed = list(news["entries"])
        replaces = olds.get("sourceUrl") if olds.get("sourceUrl") != news["sourceUrl"] else None
        return UpdateResult(self._sync(news, changed=changed, replaces=replaces))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        api = ObotApi(str(props["obotUrl"]), str(props["apiKey"]))
        catalog_sync.unregister(api, str(props["catalogId"]), str(props["sourceUrl"]))

    def _sync(
        self, props: dict[str, Any], *, changed: list[str], replaces: str | None = None
    ) -> dict[str, Any]:
        api = ObotApi(str(props["obotUrl"]), str(props["apiKey"]))
        added = catalog_sync.sync(api, props, changed, replaces=replaces, poll=self.poll_seconds)
        return {**_inputs(props), **added}


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in INPUTS if k in props}


def _synced(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in ("lastSynced", "entryIds", "updatedServers") if k in props}


class CatalogSource(pulumi.dynamic.Resource, module="obot", name="CatalogSource"):
    """``pulumi-python:dynamic/obot:CatalogSource``: one catalog repository in one Obot."""

    # Dynamic resources expose their outputs under the property names.
    entryIds: pulumi.Output[dict[str, str]]
    updatedServers: pulumi.Output[list[str]]

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        outputs = {"lastSynced": None, "entryIds": None, "updatedServers": None}
        super().__init__(CatalogSourceProvider(), name, {**props, **outputs}, opts)


@dataclass(frozen=True, kw_only=True)
class ObotCatalogArgs:
    obot_url: str
    """Obot's base URL (https; plain http only to a loopback port-forward)."""
    api_key: pulumi.Output[str]
    """An Obot API key (``ok1-...``) of an admin with API access, as a Pulumi secret; a plain
    value is refused."""
    source_url: str
    """The catalog repository, https (``https://github.com/ORG/REPO[/BRANCH]``)."""
    entries: Mapping[str, Mapping[str, Any]]
    """Entry key -> rendered entry (:func:`mcp_containment.compile.catalog.entries`): what
    Obot must hold once synced."""
    mcp_namespace: str
    """Obot's MCP namespace: where the controller writes each server's FirewallPolicy."""
    default_deny_all_egress: bool
    """Obot's ``OBOT_SERVER_MCPDEFAULT_DENY_ALL_EGRESS``, which decides undeclared egress."""
    catalog_id: str = DEFAULT_CATALOG
    """Obot lets only its default catalog's sources be edited through the API."""
    sync_timeout_seconds: int = 300
    """How long ``pulumi up`` waits for Obot to finish a sync."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The Obot release: its API must be up."""


def require_secret(key: pulumi.Input[str]) -> pulumi.Output[str]:
    """``key``, refused unless it is a Pulumi secret (the failure is the update's error)."""
    if not isinstance(key, pulumi.Output):
        raise TypeError(PLAIN_KEY)

    def ensure(pair: list[Any]) -> str:
        value, secret = pair
        if not secret:
            raise ValueError(PLAIN_KEY)
        return str(value)

    is_secret: pulumi.Output[bool] = pulumi.Output.from_input(_awaited(key.is_secret()))
    return pulumi.Output.secret(pulumi.Output.all(key, is_secret).apply(ensure))


async def _awaited(value: Awaitable[bool]) -> bool:
    return await value


class ObotCatalog(pulumi.ComponentResource):
    source: CatalogSource

    def __init__(
        self, name: str, args: ObotCatalogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        self.source = CatalogSource(
            f"{name}-source",
            {
                "obotUrl": args.obot_url,
                "apiKey": require_secret(args.api_key),
                "catalogId": args.catalog_id,
                "sourceUrl": args.source_url,
                "entries": {k: dict(v) for k, v in args.entries.items()},
                "mcpNamespace": args.mcp_namespace,
                "defaultDenyAllEgress": args.default_deny_all_egress,
                "syncTimeoutSeconds": args.sync_timeout_seconds,
            },
            pulumi.ResourceOptions(
                parent=self,
                depends_on=list(args.depends_on),
                additional_secret_outputs=["apiKey"],
            ),
        )
        self.register_outputs(
            {
                "sourceUrl": args.source_url,
                "entries": sorted(args.entries),
                "updatedServers": self.source.updatedServers,
            }
        )
