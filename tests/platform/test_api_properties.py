"""Property-based API tests (schemathesis): generated requests never make a service fail.

Each service runs as its own process here (the in-process ones share the
test's event loop, which a synchronous schemathesis test would block), with
consumers off, against the test run's PostgreSQL and broker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from shared import devstack
from tests.support import JWT_SECRET, Infra, token


def _serve(infra: Infra, service: str) -> tuple[subprocess.Popen[bytes], str]:
    port = devstack.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": infra.pg.url(service),
        "KAFKA_BOOTSTRAP_SERVERS": infra.broker.bootstrap,
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(port),
        "CONSUMERS_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", service], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{service} did not start")


@pytest.fixture(scope="module", params=["registry", "assistance", "eldercare", "monitoring"])
def api_schema(request: pytest.FixtureRequest, infra: Infra) -> Iterator[schemathesis.BaseSchema]:
    proc, url = _serve(infra, request.param)
    try:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")
    finally:
        proc.terminate()
        proc.wait(30)


AUTH = {"Authorization": f"Bearer {token()}"}
POSITIVE_DATA_ACCEPTANCE = positive_data_acceptance


def test_generated_requests_get_documented_answers_and_never_a_server_error(api_schema: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in api_schema.include(path_regex="^/v1/").get_all_operations()]
    assert operations, "the schema lists no /v1 operation"
    for operation in operations:

        @given(case=operation.as_strategy())
        @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
        def check(case: schemathesis.Case) -> None:
            # Every check but positive-data acceptance: a schema cannot say which
            # numbers pass the GB 11643 check digit, so schema-valid data may be refused.
            case.call_and_validate(headers=AUTH, timeout=10, excluded_checks=[POSITIVE_DATA_ACCEPTANCE])

        check()
