"""Prometheus metrics every service exposes on /metrics. Labels never carry personal data."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("http_requests", "HTTP requests served", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter("events_published", "Events published from the outbox", ["service", "topic"])
EVENTS_CONSUMED = Counter(
    "events_consumed",
    "Events taken from Kafka, by result (processed, duplicate, ignored, failed, dead_lettered)",
    ["service", "topic", "result"],
)
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Events written but not yet published", ["service"])
CONSUMER_LAG = Gauge("consumer_lag", "Messages behind the partition's end", ["service", "topic", "partition"])
CONSUMER_WAITING = Gauge(
    "minzheng_consumer_waiting",
    "1 while a consumer holds its place waiting for a dependency (database, broker, http) to answer again",
    ["service", "consumer", "dependency"],
)
