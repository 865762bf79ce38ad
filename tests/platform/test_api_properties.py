"""Property-based API tests (schemathesis + hypothesis): no input makes a service answer 5xx.

For every `/v1` operation of every service, as described by its OpenAPI
document, requests are generated in two modes:

- positive: schema-valid requests, then mutated so they reach the database
  and its limits: identity-number fields get numbers with a correct check
  digit (persons registered beforehand, or unknown ones) as well as broken
  ones (fullwidth or Arabic-Indic digits, a wrong check digit, NUL); other
  strings get the whole of Unicode (NUL, other scripts' digits, lone
  surrogates in JSON bodies), over-long text and extreme numbers;
- negative: schema-invalid requests, which must be refused with a 4xx.

Each request carries a token drawn from broad (every scope, the district,
`pii:read`) to narrow (one scope, a town, no `pii:read`), so masking and
division paths run too. The assertion: never a server error, every answer
documented, every negative case refused. Derandomized and bounded, so the
same requests are sent on every run (about a minute for the four services).

Each service runs as its own process (a synchronous schemathesis call would
block the event loop of the in-process services), consumers off, the
downstream services looking persons up in a registry process of this module.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from shared import devstack, identity
from tests.support import JWT_SECRET, Infra, new_id_number, token

SERVICES = ("registry", "assistance", "eldercare", "monitoring")
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
TOWN = "340207003"

# An NDJSON body is a text file (its schema is a string): sent as schemathesis sends text/plain.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

# Fields whose value is an identity number (a list of them for `adopters`).
ID_FIELDS = frozenset({"id_number", "party_a", "party_b", "child_id_number", "applicant_id_number"})
ID_LIST_FIELDS = frozenset({"adopters"})
MONEY_FIELDS = frozenset({"monthly_amount", "amount"})


def _serve(infra: Infra, service: str, **extra_env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = devstack.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": infra.pg.url(service),
        "KAFKA_BOOTSTRAP_SERVERS": infra.broker.bootstrap,
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(port),
        "CONSUMERS_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    command = [sys.executable, "-m", "services.cli", "serve", service]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=1) as client:  # one client: each new one builds an SSL context (~50 ms of CPU)
        while time.monotonic() < deadline:
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{service} did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


class Known:
    """Persons registered before the run, so generated writes find someone and go deep."""

    def __init__(self) -> None:
        self.numbers: list[str] = []
        self.person_ids: list[str] = []

    def register(self, url: str) -> None:
        ages = [(20, 40), (60, 75), (81, 95), (82, 99)]
        divisions = ["340207003001", "340207001", "340207104002", "340207"]
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token()}"}, timeout=10) as c:
            for (low, high), division in zip(ages, divisions, strict=True):
                n = new_id_number(min_age=low, max_age=high)
                r = c.post("/v1/persons", json={"id_number": n, "name": "测试人", "hukou_division": division})
                assert r.status_code == 201, r.text
                self.numbers.append(n)
                self.person_ids.append(r.json()["person_id"])


KNOWN = Known()


@pytest.fixture(scope="module")
def registry_url(infra: Infra) -> Iterator[str]:
    proc, url = _serve(infra, "registry")
    try:
        KNOWN.register(url)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module", params=SERVICES)
def api_schema(request: pytest.FixtureRequest, infra: Infra, registry_url: str) -> Iterator[schemathesis.BaseSchema]:
    if request.param == "registry":
        yield schemathesis.openapi.from_url(f"{registry_url}/openapi.json")
        return
    # Monitoring's reconciliation reads assistance and eldercare: serve them too (as processes of their own: the
    # calls here are synchronous, so services inside this test's event loop could not answer).
    names = ("assistance", "eldercare") if request.param == "monitoring" else ()
    sources = {name: _serve(infra, name, REGISTRY_URL=registry_url) for name in names}
    urls = {f"{name.upper()}_URL": url for name, (_, url) in sources.items()}
    proc, url = _serve(infra, request.param, REGISTRY_URL=registry_url, **urls)
    try:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")
    finally:
        for running in (proc, *(source for source, _ in sources.values())):
            _stop(running)


# --- what the mutations draw from -------------------------------------------------------------

DIGITS_ELSEWHERE = ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩")
born = st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31))
valid_unknown_numbers = st.builds(identity.make, st.from_regex(r"\A[1-6][0-9]{5}\Z"), born, st.integers(0, 999))


def _respelled(n: str, digits: str) -> str:
    return n[:17].translate(str.maketrans("0123456789", digits)) + n[17]


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """Mostly valid (known persons, then unknown numbers), sometimes broken in the ways that matter."""
    kind = draw(st.sampled_from(["known", "known", "unknown", "other-script", "wrong-check", "nul", "padded"]))
    n = (
        draw(st.sampled_from(KNOWN.numbers))
        if KNOWN.numbers and kind.startswith("known")
        else draw(valid_unknown_numbers)
    )
    if kind == "other-script":
        return _respelled(n, draw(st.sampled_from(DIGITS_ELSEWHERE)))
    if kind == "wrong-check":
        return n[:17] + identity.check_character(n[:16] + str((int(n[16]) + 1) % 10))
    if kind == "nul":
        return n[:9] + "\x00" + n[9:]
    if kind == "padded":
        return f"  {n.lower()}  " + " " * draw(st.integers(0, 5000))
    return n


def nasty_text(*, surrogates: bool) -> st.SearchStrategy[str]:
    """The whole of Unicode (lone surrogates only where JSON carries them), over-long text, NUL, odd digits."""
    any_char = st.characters(exclude_categories=()) if surrogates else st.characters(codec="utf-8")
    return st.one_of(
        st.text(any_char, max_size=30),
        st.just("\x00"),
        st.text(any_char, max_size=5).map(lambda s: f"a{s}\x00b"),
        st.sampled_from(DIGITS_ELSEWHERE).map(lambda d: d * 2),
        st.integers(101, 20_000).map(lambda n: "长" * n),
        st.integers(13, 400).map(lambda n: "3" * n),
    )


money_text = st.one_of(
    st.sampled_from(
        ["1e309", "-1e309", "NaN", "Infinity", "-0.00", "0", "9999999999.99", "10000000000", "0.001", "1_0"]
    ),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.sampled_from(["７８０.００", "٧٨٠"]),
)
extreme_numbers = st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, 1e308, -0.0, 5e-324])


def _mutate(data: st.DataObject, value: Any, key: str | None, *, in_body: bool) -> Any:
    """Replace some leaves of a generated value with what reaches the database and its limits."""
    if key in ID_FIELDS and (isinstance(value, str) or value is None):
        return data.draw(id_numbers())
    if key in ID_LIST_FIELDS and isinstance(value, list):
        return data.draw(st.lists(id_numbers(), min_size=1, max_size=2))
    if isinstance(value, dict):
        return {k: _mutate(data, v, k, in_body=in_body) for k, v in value.items()}
    if isinstance(value, list):
        return [_mutate(data, v, key, in_body=in_body) for v in value]
    if not data.draw(st.integers(0, 3)) == 0:  # one leaf in four is replaced
        return value
    if key in MONEY_FIELDS:
        return data.draw(money_text)
    if isinstance(value, str):
        return data.draw(nasty_text(surrogates=in_body))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return data.draw(extreme_numbers) if in_body else data.draw(st.sampled_from([0, -1, 2**63, 10**30]))
    return value


def _refused_by_the_http_parser(response: Any) -> bool:
    """The HTTP server's own 400 for a request it cannot parse (a control character in a header, a request line
    beyond its limit): the app never saw it, so there is no problem document to check (RFC 9112 says refuse)."""
    content_type = response.headers.get("content-type", "")
    if isinstance(content_type, list):  # schemathesis keeps every value of a header
        content_type = content_type[0] if content_type else ""
    return (
        response.status_code == 400
        and content_type.startswith("text/plain")
        and response.text == "Invalid HTTP request received."
    )


def _positive_reaching_the_database(case: schemathesis.Case, data: st.DataObject) -> None:
    if isinstance(case.body, dict | list):
        case.body = _mutate(data, case.body, None, in_body=True)
    if case.query:
        case.query = _mutate(data, case.query, None, in_body=False)
        if "id_number" in case.query and data.draw(st.booleans()):
            case.query["id_number"] = data.draw(id_numbers())
    if case.path_parameters and "person_id" in case.path_parameters and KNOWN.person_ids and data.draw(st.booleans()):
        case.path_parameters["person_id"] = data.draw(st.sampled_from(KNOWN.person_ids))


def _tokens(service: str) -> list[str]:
    """Broad to narrow: every scope at the district; the service's scopes at a town; read only; another service's."""
    other = next(s for s in SERVICES if s != service)
    return [
        token(),
        token(scopes=f"{service}:read {service}:write", division=TOWN),
        token(scopes=f"{service}:read", division=f"{TOWN}001"),
        token(scopes=f"{other}:read {other}:write pii:read", division=TOWN),
    ]


def _takes_text(operation: schemathesis.APIOperation) -> bool:
    content = operation.definition.raw.get("requestBody", {}).get("content", {})
    return bool(content) and not any("json" in media_type and "ndjson" not in media_type for media_type in content)


def _run(operation: schemathesis.APIOperation, mode: GenerationMode, tokens: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @hsettings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    def check(case: schemathesis.Case, data: st.DataObject) -> None:
        if mode is GenerationMode.POSITIVE:
            _positive_reaching_the_database(case, data)
        bearer = data.draw(st.sampled_from(tokens))
        # Every check but positive-data acceptance: generated data is often refused by a rule
        # (a check digit, a division, a date in the future), or by a narrow token, and rightly.
        # A text body (an NDJSON or CSV file) has no invalid form: any bytes are a file to report on.
        excluded = [positive_data_acceptance, *([negative_data_rejection] if _takes_text(operation) else [])]
        response = case.call(headers={"Authorization": f"Bearer {bearer}"}, timeout=15)
        if _refused_by_the_http_parser(response):
            return
        case.validate_response(response, excluded_checks=excluded, headers={"Authorization": f"Bearer {bearer}"})

    check()


def test_generated_requests_get_documented_answers_and_never_a_server_error(
    api_schema: schemathesis.BaseSchema,
) -> None:
    operations = [result.ok() for result in api_schema.include(path_regex="^/v1/").get_all_operations()]
    assert operations, "the schema lists no /v1 operation"
    title = api_schema.raw_schema["info"]["title"]
    service = next(s for s in SERVICES if s in title)
    for operation in operations:
        for mode in EXAMPLES:
            t0 = time.monotonic()
            _run(operation, mode, _tokens(service))
            if os.environ.get("H4_TIMING"):
                print(f"TIMING {operation.label} {mode.value} {time.monotonic() - t0:.2f}", file=sys.stderr)
