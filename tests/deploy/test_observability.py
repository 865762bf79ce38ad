"""Prometheus scrape config and the Grafana dashboard name the services and metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "minzheng-dashboard.json"
SERVICES = {"registry": 8001, "assistance": 8002, "eldercare": 8003, "monitoring": 8004}
METRICS = (
    "http_requests_total",
    "http_request_duration_seconds",
    "events_published_total",
    "events_consumed_total",
    "outbox_backlog",
    "consumer_lag",
)
RESULTS = ("failed", "dead_lettered")


def test_prometheus_scrapes_the_four_services():
    config = yaml.safe_load(PROMETHEUS.read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    for svc, port in SERVICES.items():
        assert f"{svc}:{port}" in targets
        job = next(j for j in config["scrape_configs"] if j["job_name"] == svc)
        assert job.get("metrics_path", "/metrics") == "/metrics"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(SERVICES) <= set(compose), "scrape targets are compose service names"


def _panels(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows keep their panels inside
    return out


def _balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    pairs = {")": "(", "}": "{", "]": "["}
    for ch in expr:
        if ch in depth:
            depth[ch] += 1
        elif ch in pairs:
            depth[pairs[ch]] -= 1
            if depth[pairs[ch]] < 0:
                return False
    return not any(depth.values())


def test_grafana_dashboard_parses_and_charts_every_metric():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["uid"]
    panels = _panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    exprs = []
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["type"] == "prometheus", panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert _balanced(target["expr"]), f"unbalanced brackets in {target['expr']}"
            exprs.append(target["expr"])
    text = "\n".join(exprs)
    for metric in METRICS:
        assert re.search(rf"\b{metric}(_bucket)?\b", text), f"no panel charts {metric}"
    assert "http_request_duration_seconds_bucket" in text  # latency quantiles need the buckets
    for result in RESULTS:
        assert result in text
    for label in ("topic", "partition"):
        assert any("consumer_lag" in e and label in e for e in exprs), f"lag is not split by {label}"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for used in set(re.findall(r"\$(\w+)", text)) - {"__rate_interval", "__range", "__interval"}:
        assert used in variables, f"${used} is used but not defined"


def test_grafana_provisioning_points_at_the_dashboard():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    mounted = {v.split(":")[0].removeprefix("./"): v.split(":")[1] for v in compose["volumes"] if v.startswith("./")}
    assert "deploy/grafana/minzheng-dashboard.json" in mounted
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/minzheng.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert mounted["deploy/grafana/minzheng-dashboard.json"].startswith(path + "/")
