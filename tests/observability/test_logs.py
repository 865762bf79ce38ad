"""Logs: every line is JSON naming its service, request and trace; no identity number leaves unmasked.

The end-to-end flow runs with all log output captured (the four services in
this process share the root handler), including a request with a bad number,
a partner message that is dead-lettered with the number in its error, and a
library's stdlib log line quoting a number.
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from shared import identity, logs
from tests.support import Stack, eventually, new_id_number, partner_death, produce

# Every 18-character window of digits, wherever it sits (glued to letters, inside a longer run):
# a window that is a valid identity number (birth date and check character right) must never appear.
WINDOWS = re.compile(r"(?=(\d{17}[\dXx]))")


def unmasked_numbers(text: str) -> list[str]:
    return [w for w in WINDOWS.findall(text) if identity.is_valid(w)]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("tests", "INFO", "json", stream=stream)
    try:
        yield stream
    finally:
        logs.configure("tests", "WARNING", "json")


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_death_flow_logs_carry_context_and_never_an_unmasked_identity_number(
    stack: Stack, captured: io.StringIO
) -> None:
    id_number = new_id_number(min_age=60, max_age=75)
    wrong_check = id_number[:17] + ("0" if id_number[17] != "0" else "1")
    trace_id = secrets.token_hex(16)
    registry, assistance, monitoring = (stack[s].client() for s in ("registry", "assistance", "monitoring"))
    async with registry, assistance, monitoring:
        r = await registry.post(
            "/v1/persons",
            json={"id_number": id_number, "name": "张桂兰", "hukou_division": "340207003001"},
            headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01", "x-request-id": "req-log-test-1"},
        )
        assert r.status_code == 201, r.text
        person_id = r.json()["person_id"]
        r = await registry.post(
            "/v1/persons", json={"id_number": wrong_check, "name": "张桂兰", "hukou_division": "340207003001"}
        )
        assert r.status_code == 422
        r = await assistance.post(
            "/v1/cases", json={"id_number": id_number, "program": "dibao", "monthly_amount": "780.00"}
        )
        assert r.status_code == 201, r.text

        died = (date.today() - timedelta(days=3)).isoformat()
        bootstrap = stack.infra.broker.bootstrap
        await produce(bootstrap, "partner.deaths.v1", partner_death(id_number, died, "public_security"), key="ps-1")
        broken = partner_death(id_number, "not-a-date", "public_security")
        await produce(bootstrap, "partner.deaths.v1", broken, key="ps-1")
        logging.getLogger("some.library").warning("lookup failed for %s (%s)", id_number, wrong_check)
        logging.getLogger("some.library").warning("file ID%s.pdf, key person_%s", id_number, id_number)

        async def suspended() -> bool:
            cases = (await assistance.get("/v1/cases", params={"id_number": id_number})).json()["items"]
            return bool(cases) and cases[0]["status"] == "suspended"

        await eventually(suspended, timeout=15)

        async def dead_lettered() -> bool:
            return any(
                line["event"] == "event dead-lettered" and line["service"] == "registry" for line in _lines(captured)
            )

        await eventually(dead_lettered, timeout=15)
        # Read back with the pii:read scope: the caller sees the number, the logs must not.
        person = (await registry.get(f"/v1/persons/{person_id}")).json()
        assert person["id_number"] == id_number and person["status"] == "deceased"
        assert (await registry.get("/v1/persons", params={"id_number": id_number})).json()["items"][0][
            "id_number"
        ] == id_number

        async def monitoring_record() -> list[dict[str, Any]]:
            return (await monitoring.get("/v1/records", params={"id_number": id_number})).json()["items"]

        assert (await eventually(monitoring_record, timeout=15))[0]["id_number"] == id_number

    text = captured.getvalue()
    assert id_number not in text and wrong_check not in text
    assert not unmasked_numbers(text), unmasked_numbers(text)
    masked = id_number[:6] + "*" * 8 + id_number[14:]
    assert masked in text, "the lines that named the person show the masked form"

    lines = _lines(captured)
    for line in lines:
        assert {"service", "request_id", "trace_id", "timestamp", "level", "event"} <= set(line), line
    requests = [line for line in lines if line["event"] == "request"]
    assert {line["service"] for line in requests} >= {"registry", "assistance", "monitoring"}
    for line in requests:
        assert line["request_id"] and re.fullmatch(r"[0-9a-f]{32}", line["trace_id"]), line
    first = next(line for line in requests if line["request_id"] == "req-log-test-1")
    assert first["service"] == "registry" and first["trace_id"] == trace_id and first["status"] == 201
    # Other services' consumers may dead-letter leftovers of other tests on the shared topics: look at the registry's.
    dead = [line for line in lines if line["event"] == "event dead-lettered" and line["service"] == "registry"]
    assert dead and all(line["trace_id"] for line in dead), "consumer lines name the service and the event's trace"
