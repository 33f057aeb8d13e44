"""What a spoke network needs to know to place its Aviatrix spoke gateway."""

from __future__ import annotations

from dataclasses import dataclass

from ...config.schema import Routing


@dataclass(frozen=True, kw_only=True)
class GatewaySettings:
    account_name: str
    gateway_name: str
    size: str
    ha: bool = False
    transit_gateway: str | None = None
    routing: Routing = Routing.UDR
    """``udr``: workload default routes point at the gateway (lockable). ``controller``: they
    start fail-closed and the controller programs them; drift on them is ignored."""
