"""Prometheus metrics, on a registry owned by the runtime (no module-level globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_by_status = Gauge(
            "textwire_messages",
            "Messages stored, by status (sampled at scrape time).",
            ["status"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "textwire_queue_depth",
            "Messages waiting for the dispatch worker that are due now.",
            registry=self.registry,
        )
        self.messages_created = Counter(
            "textwire_messages_created_total",
            "Messages accepted by the send pipeline.",
            registry=self.registry,
        )
        self.transitions = Counter(
            "textwire_message_transitions_total",
            "Status changes written by this process.",
            ["status"],
            registry=self.registry,
        )
        self.dispatch_latency = Histogram(
            "textwire_dispatch_latency_seconds",
            "Time from a message's creation (or SendAt) to the provider accepting it.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.alpha_warnings = Counter(
            "textwire_alpha_registration_warnings_total",
            "Messages sent from an alphanumeric ID to a country that requires or recommends "
            "registering it (F-SVC-9); never blocked.",
            ["warning", "country"],
            registry=self.registry,
        )
        self.callbacks_sent = Counter(
            "textwire_webhooks_delivered_total",
            "Outgoing webhooks delivered (2xx).",
            ["kind"],
            registry=self.registry,
        )
        self.callback_failures = Counter(
            "textwire_webhook_failures_total",
            "Outgoing webhook attempts that failed (will retry or gave up).",
            ["kind", "final"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
