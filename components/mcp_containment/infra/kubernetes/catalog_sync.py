"""What ``pulumi up`` asks of Obot for the stack's catalog, step by step.

The dynamic provider of :class:`~mcp_containment.infra.kubernetes.catalog.ObotCatalog` runs
these in order: register the catalog repository in Obot's default catalog (the ``PUT``
replaces the whole list, so it is read first and edited), ask for a refresh (Obot otherwise
syncs hourly), wait until the sync is done, check that Obot now holds the entries the stack
declares (the rendered catalog must have been committed and pushed), then trigger the update
of every server launched from an entry that changed: Obot flags such a server ``needsUpdate``
and leaves it on the old entry until asked.

Each failure raises :class:`SyncError` with what to do, which Pulumi reports as the update's
failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ...core.obot import egress_of, runtime_of
from ...core.obotapi import ObotApi


class SyncError(RuntimeError):
    """Obot did not end up with the declared catalog."""


def same_url(a: object, b: object) -> bool:
    return str(a or "").rstrip("/") == str(b or "").rstrip("/")


def register(api: ObotApi, catalog_id: str, source_url: str, replaces: str | None = None) -> bool:
    """Put ``source_url`` in the catalog's sources (dropping ``replaces``); True if it
    changed anything. Other teams' sources are kept as they are."""
    catalog = api.catalog(catalog_id)
    current = [str(u) for u in catalog.get("sourceURLs") or []]
    wanted = [u for u in current if replaces is None or not same_url(u, replaces)]
    if not any(same_url(u, source_url) for u in wanted):
        wanted.append(source_url)
    if wanted == current:
        return False
    api.set_source_urls(catalog, wanted)
    return True


def unregister(api: ObotApi, catalog_id: str, source_url: str) -> bool:
    catalog = api.catalog(catalog_id)
    current = [str(u) for u in catalog.get("sourceURLs") or []]
    wanted = [u for u in current if not same_url(u, source_url)]
    if wanted == current:
        return False
    api.set_source_urls(catalog, wanted)
    return True


def wait_for_sync(
    api: ObotApi,
    catalog_id: str,
    before: object,
    *,
    timeout: float,
    poll: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The catalog once a sync newer than ``before`` (its ``lastSynced`` when we asked) has
    finished."""
    deadline = clock() + timeout
    while True:
        catalog = api.catalog(catalog_id)
        synced = catalog.get("lastSynced")
        if synced and synced != before and not catalog.get("isSyncing"):
            return catalog
        if clock() >= deadline:
            raise SyncError(
                f"Obot did not finish syncing catalog {catalog_id!r} within {timeout:g}s "
                f"(lastSynced {synced or 'never'}); check Obot's logs, then run `pulumi up` again"
            )
        sleep(poll)


def check_sync_errors(catalog: Mapping[str, Any], source_url: str) -> None:
    for url, message in (catalog.get("syncErrors") or {}).items():
        if same_url(url, source_url):
            raise SyncError(f"Obot could not sync {source_url}: {message}")


def _egress(manifest: Mapping[str, Any]) -> tuple[str, tuple[str, ...], bool | None]:
    domains, deny = egress_of(manifest)
    return runtime_of(manifest), domains, deny


def check_entries(
    api: ObotApi, catalog_id: str, source_url: str, declared: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Entry key -> Obot's entry id, once every declared entry is in Obot with the declared
    runtime and egress (domains in order: Obot compares them in order)."""
    live: dict[str, Mapping[str, Any]] = {}
    for item in api.entries(catalog_id):
        found = item.get("manifest") or {}
        if same_url(item.get("sourceURL"), source_url) and found.get("entryKey"):
            live[str(found["entryKey"])] = item
    problems = []
    for key, manifest in declared.items():
        held = live.get(key)
        if held is None:
            problems.append(f"{key}: missing")
            continue
        have, want = _egress(held.get("manifest") or {}), _egress(manifest)
        if have != want:
            problems.append(
                f"{key}: Obot has {_describe(have)}, the stack declares {_describe(want)}"
            )
    if problems:
        raise SyncError(
            f"Obot's catalog from {source_url} is not what this stack declares "
            f"({'; '.join(problems)}): commit and push the output of `containment catalog`, "
            "then run `pulumi up` again"
        )
    return {key: str(live[key]["id"]) for key in declared}


def _describe(egress: tuple[str, tuple[str, ...], bool | None]) -> str:
    runtime, domains, deny = egress
    deny_text = "unset" if deny is None else str(deny).lower()
    return f"{runtime} egressDomains {list(domains)} denyAllEgress {deny_text}"


def update_servers(api: ObotApi, catalog_id: str, entry_ids: Iterable[str]) -> list[str]:
    """Trigger the update of each server of these entries that waits for one; their ids.
    Component servers of a composite are updated through their parent (Obot's rule)."""
    updated: list[str] = []
    for entry_id in entry_ids:
        for server in api.entry_servers(catalog_id, entry_id):
            if server.get("needsUpdate") and not server.get("compositeName"):
                api.trigger_update(catalog_id, server)
                updated.append(str(server["id"]))
    return sorted(updated)


def sync(
    api: ObotApi,
    props: Mapping[str, Any],
    changed: Iterable[str],
    *,
    replaces: str | None = None,
    poll: float = 2.0,
) -> dict[str, Any]:
    """The whole sequence for one resource state; the outputs it adds."""
    catalog_id, source_url = str(props["catalogId"]), str(props["sourceUrl"])
    before = api.catalog(catalog_id).get("lastSynced")
    register(api, catalog_id, source_url, replaces)
    api.refresh(catalog_id)
    catalog = wait_for_sync(
        api, catalog_id, before, timeout=float(props["syncTimeoutSeconds"]), poll=poll
    )
    check_sync_errors(catalog, source_url)
    ids = check_entries(api, catalog_id, source_url, props["entries"])
    updated = update_servers(api, catalog_id, [ids[k] for k in sorted(changed) if k in ids])
    return {"lastSynced": catalog.get("lastSynced"), "entryIds": ids, "updatedServers": updated}
