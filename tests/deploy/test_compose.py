"""docker-compose.yml: valid against the Compose Specification schema, and wired as documented.

No Docker engine is needed: the file is interpolated the way `docker compose` does it, with the
variables of deploy/compose/env.example, then validated with the vendored JSON schema.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "compose" / "env.example"
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"
SERVICES = {"registry": 8001, "assistance": 8002, "eldercare": 8003, "monitoring": 8004}

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR; $$ is a literal $.
_VAR = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def env_example() -> dict[str, str]:
    env = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def interpolate(value: object, env: dict[str, str]) -> object:
    """Compose's variable substitution (enough of it for this file), applied to every string."""
    if isinstance(value, dict):
        return {interpolate(k, env): interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("braced") or m.group("plain")
        op, arg = m.group("op") or "", m.group("arg") or ""
        val = env.get(name)
        unset = val is None or (op.startswith(":") and val == "")
        if op.endswith("?") and unset:
            raise KeyError(f"required variable {name} is not set: {arg}")
        if op.endswith("-") and unset:
            return arg
        return val or ""

    return _VAR.sub(sub, value)


def load(env: dict[str, str] | None = None) -> dict:
    raw = yaml.safe_load(COMPOSE.read_text())  # also resolves the x-* anchors and << merges
    return interpolate(raw, env_example() if env is None else env)


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_vendored_schema_is_the_documented_one():
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_validates_against_compose_spec():
    errors = sorted(validator().iter_errors(load()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_validation_catches_a_broken_file():
    doc = load()
    doc["services"]["registry"]["depends_on"]["postgres"]["condition"] = "service_ready"
    doc["services"]["kafka"]["healthcheck"]["intervall"] = "5s"
    assert len(list(validator().iter_errors(doc))) >= 2


def test_every_required_variable_is_in_env_example_and_secrets_are_not_in_the_file():
    load()  # raises KeyError for a ${VAR:?} missing from env.example
    with pytest.raises(KeyError, match="JWT_SECRET"):
        load({k: v for k, v in env_example().items() if k != "JWT_SECRET"})
    raw = COMPOSE.read_text()
    for name, value in env_example().items():
        if value and ("PASSWORD" in name or "SECRET" in name):
            assert value not in raw, f"{name}'s value is written in docker-compose.yml"


def test_services_are_wired_in_order():
    services = load()["services"]
    assert services["topics"]["command"] == ["topics", "create"]
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert {"TOPIC_PARTITIONS", "TOPIC_REPLICATION"} <= set(services["topics"]["environment"])
    for name in ("postgres", "kafka"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    for svc, port in SERVICES.items():
        app, migrate = services[svc], services[f"migrate-{svc}"]
        assert app["command"] == ["serve", svc]
        assert migrate["command"] == ["migrate", svc]
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert app["environment"]["DATABASE_URL"].endswith(f"@postgres:5432/{svc}")
        assert migrate["environment"]["DATABASE_URL"] == app["environment"]["DATABASE_URL"]
        assert app["environment"]["PORT"] == str(port)
        assert app["environment"]["HOST"] == "0.0.0.0"
        assert "/readyz" in app["healthcheck"]["test"]
        deps = app["depends_on"]
        assert deps[f"migrate-{svc}"]["condition"] == "service_completed_successfully"
        assert deps["topics"]["condition"] == "service_completed_successfully"
        assert deps["postgres"]["condition"] == deps["kafka"]["condition"] == "service_healthy"
        if svc != "registry":
            assert deps["registry"]["condition"] == "service_healthy"
            assert app["environment"]["REGISTRY_URL"] == "http://registry:8001"
        # The orchestrator must wait longer than the service's own drain.
        grace = float(app["environment"]["SHUTDOWN_GRACE_SECONDS"])
        assert int(app["stop_grace_period"].removesuffix("s")) > grace


def test_postgres_init_creates_the_four_databases():
    postgres = load()["services"]["postgres"]
    mount = next(v for v in postgres["volumes"] if v.endswith(":/docker-entrypoint-initdb.d:ro"))
    init_dir = ROOT / mount.split(":")[0]
    sql = " ".join(p.read_text() for p in sorted(init_dir.glob("*.sql")))
    created = set(re.findall(r"CREATE DATABASE (\w+);", sql))
    assert created == set(SERVICES)
