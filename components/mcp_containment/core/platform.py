"""The platform destinations the rulebase permits, as versioned, packaged data.

``mcp_containment/data/platform.yaml`` lists what Azure Container Apps, cluster nodes and Obot's
own control plane must reach; the compiled rulebase records the list's version, so a plan
shows which list a stack was built from. Entries are validated on load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml

from . import fqdn


@dataclass(frozen=True, slots=True)
class PlatformData:
    version: str
    aca_web_group: str
    aca_fqdns: tuple[str, ...]
    aca_service_tags: tuple[str, ...]
    cluster_infra_web_group: str
    cluster_infra: dict[str, tuple[str, ...]]
    obot_system_web_group: str
    obot_system_fqdns: tuple[str, ...]
    storage_like: tuple[str, ...]

    def extended(
        self,
        *,
        aca: Iterable[str] = (),
        cluster_infra: Iterable[str] = (),
        obot_system: Iterable[str] = (),
    ) -> PlatformData:
        """These lists with a stack's own entries added (a mirror, a private registry)."""
        cluster = {k: (*v, *cluster_infra) for k, v in self.cluster_infra.items()}
        return replace(
            self,
            aca_fqdns=_patterns([*self.aca_fqdns, *aca]),
            cluster_infra=cluster,
            obot_system_fqdns=_patterns([*self.obot_system_fqdns, *obot_system]),
        )

    def cluster_infra_fqdns(self, cloud: str, region: str) -> tuple[str, ...]:
        return tuple(
            sorted(
                {
                    fqdn.check_platform_pattern(d.format(region=region))
                    for d in self.cluster_infra[cloud]
                }
            )
        )


def _patterns(raw: list[Any]) -> tuple[str, ...]:
    return tuple(sorted({fqdn.check_platform_pattern(str(d)) for d in raw}))


@cache
def platform() -> PlatformData:
    """The packaged platform lists, validated on load (a bad entry fails loudly, once)."""
    text = resources.files("mcp_containment").joinpath("data/platform.yaml").read_text()
    raw = yaml.safe_load(text)
    return PlatformData(
        version=str(raw["version"]),
        aca_web_group=raw["aca"]["webGroup"],
        aca_fqdns=_patterns(raw["aca"]["fqdns"]),
        aca_service_tags=tuple(raw["aca"]["serviceTags"]),
        cluster_infra_web_group=raw["clusterInfra"]["webGroup"],
        # Region placeholders are validated after substitution, in cluster_infra_fqdns().
        cluster_infra={k: tuple(raw["clusterInfra"][k]) for k in ("aws", "azure")},
        obot_system_web_group=raw["obotSystem"]["webGroup"],
        obot_system_fqdns=_patterns(raw["obotSystem"]["fqdns"]),
        storage_like=_patterns(raw["storageLike"]),
    )
