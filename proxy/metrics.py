"""Prometheus metrics, one registry per application so tests stay independent."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class Metrics:
    """The proxy's metrics. Labels carry route names and status codes, never values."""

    registry: CollectorRegistry
    requests: Counter
    rejections: Counter
    duration: Histogram
    upstream_duration: Histogram
    bytes_in: Counter
    bytes_out: Counter
    in_flight: Gauge
    policy_reloads: Counter
    decoys_issued: Counter
    decoy_contacts: Counter
    echoes: Counter
    decoy_alerts: Counter

    @classmethod
    def create(cls) -> Metrics:
        """A fresh registry with every metric registered."""
        reg = CollectorRegistry()
        return cls(
            registry=reg,
            requests=Counter(
                "civetta_requests",
                "Requests handled",
                ["route", "direction", "status"],
                registry=reg,
            ),
            rejections=Counter(
                "civetta_rejections", "Requests rejected by civetta itself", ["code"], registry=reg
            ),
            duration=Histogram(
                "civetta_request_duration_seconds",
                "Time in civetta, upstream included",
                ["route"],
                buckets=_BUCKETS,
                registry=reg,
            ),
            upstream_duration=Histogram(
                "civetta_upstream_duration_seconds",
                "Time waiting for the upstream",
                ["route"],
                buckets=_BUCKETS,
                registry=reg,
            ),
            bytes_in=Counter(
                "civetta_request_bytes", "Request body bytes received", ["route"], registry=reg
            ),
            bytes_out=Counter(
                "civetta_response_bytes", "Response body bytes relayed", ["route"], registry=reg
            ),
            in_flight=Gauge("civetta_in_flight_requests", "Requests being handled", registry=reg),
            policy_reloads=Counter(
                "civetta_policy_reloads", "Policy reload attempts", ["result"], registry=reg
            ),
            decoys_issued=Counter(
                "civetta_decoys_issued", "Decoys given to orders", ["kind"], registry=reg
            ),
            decoy_contacts=Counter(
                "civetta_decoy_contacts",
                "Calls, SMS and mails recorded on decoys",
                ["classification", "channel"],
                registry=reg,
            ),
            echoes=Counter(
                "civetta_echoes",
                "Values civetta never sent that came back from the incumbent",
                ["route"],
                registry=reg,
            ),
            decoy_alerts=Counter(
                "civetta_decoy_alerts", "Alert webhook deliveries", ["result"], registry=reg
            ),
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
