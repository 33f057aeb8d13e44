"""Version strings the library reads: Aviatrix controller versions and pinned chart versions."""

from __future__ import annotations

import re

MIN_DECRYPT_CONTROLLER = (8, 2)
"""The first controller release that enforces a per-rule decryption setting."""

_CONTROLLER = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:[.-](\d+))?$")
_PINNED_CHART = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


def parse_controller_version(value: str) -> tuple[int, ...]:
    """``8.2``, ``8.2.1``, ``7.1.4105`` -> integer tuple; anything else is refused."""
    m = _CONTROLLER.match(value.strip())
    if not m:
        raise ValueError(
            f"{value!r} is not a controller version; expected MAJOR.MINOR[.PATCH] (e.g. 8.2.1)"
        )
    return tuple(int(g) for g in m.groups() if g is not None)


def is_pinned_chart_version(value: str) -> bool:
    """An exact (semver) chart version: ranges and ``latest`` make previews differ."""
    return _PINNED_CHART.match(value) is not None


AVIATRIX_PROVIDER = "8.2.20"
"""The pinned AviatrixSystems/aviatrix Terraform provider (``Pulumi.yaml`` declares the same;
a test keeps them in step). 8.2.0 is the first release with ``aviatrix_dcf_ruleset``,
``aviatrix_dcf_policy_group`` and the ``aviatrix_dcf_attachment_point`` data source."""


def controller_release(version: tuple[int, ...]) -> tuple[int, int]:
    """The major.minor the provider compares: at setup it refuses a controller whose
    major.minor differs from its own release's (``goaviatrix/check.go``, ``isVersionSupported``)."""
    return (version[0], version[1] if len(version) > 1 else 0)


def provider_controller_release(provider: str = AVIATRIX_PROVIDER) -> tuple[int, int]:
    """The controller release a provider release accepts: provider 8.2.x runs against
    controller 8.2 (v8.2.0 hard-codes ``supportedVersions = ["8.2"]``; later 8.2 tags embed the
    build's version, and their release notes name the matching controller)."""
    return controller_release(parse_controller_version(provider))


K8S_FIREWALL_CHART = "10.0.0"
"""The k8s-firewall chart the library installs by default: the newest version the chart
repository's ``index.yaml`` publishes (8.2.0, 9.0.0, 10.0.0). 10.1.0 exists only in git."""
