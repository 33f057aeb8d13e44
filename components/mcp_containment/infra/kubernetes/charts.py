"""Where the charts come from, and the Obot settings that install its network-policy provider."""

from __future__ import annotations

from typing import Final

K8S_FIREWALL_REPO: Final = "https://aviatrixsystems.github.io/k8s-firewall-charts"
K8S_FIREWALL_CHART: Final = "k8s-firewall"
OBOT_REPO: Final = "https://charts.obot.ai"
OBOT_CHART: Final = "obot"
NETWORK_POLICY_PROVIDER_CHART: Final = "aviatrix-network-policy-controller"

PROVIDER_CHART_REPO: Final = "OBOT_SERVER_MCPNETWORK_POLICY_PROVIDER_CHART_REPO"
PROVIDER_CHART_NAME: Final = "OBOT_SERVER_MCPNETWORK_POLICY_PROVIDER_CHART_NAME"
PROVIDER_CHART_VERSION: Final = "OBOT_SERVER_MCPNETWORK_POLICY_PROVIDER_CHART_VERSION"
