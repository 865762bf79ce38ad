"""Running a comparison (比对): the list streamed in, matched by identity number a batch at a time.

Each batch of lines costs a fixed number of statements: one SELECT of the
records named (within the caller's division), one INSERT of the findings,
one SELECT of the open alerts they would repeat, one INSERT of the new
alerts and their events, one UPDATE of the comparison's counts; then a
commit, so `GET /v1/comparisons/{id}` shows the progress while it runs.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import any_, cast, select, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monitoring import effects
from services.monitoring.domain import comparisons as rules
from services.monitoring.models import Alert, Comparison, Record
from shared import bulk, divisions
from shared import event_types as ev
from shared.db import utcnow
from shared.events import publish_many

BATCH = 5000
WELL_FORMED = re.compile(r"\d{17}[\dX]")
FINDING_COLUMNS = {"comparison_id": "uuid", "line": "integer", "person_id": "uuid", "rule": "text", "summary": "text"}
ALERT_COLUMNS = {
    "id": "uuid",
    "kind": "text",
    "status": "text",
    "severity": "text",
    "person_id": "uuid",
    "id_number": "text",
    "hukou_division": "text",
    "benefits": "jsonb",
    "summary": "text",
    "details": "jsonb",
}
SEVERITY = {"death_not_on_file": "high", "asset_on_guarantee": "medium", "income_above_standard": "medium"}


@dataclass
class Counts:
    lines: int = 0
    matched: int = 0
    rejected: int = 0
    findings: int = 0
    alerts: int = 0


@dataclass
class ComparisonRun:
    """One comparison's run: the caller's scope bounds what it can match."""

    sessionmaker: async_sessionmaker[AsyncSession]
    comparison_id: uuid.UUID
    source: str
    scope: str
    counts: Counts = field(default_factory=Counts)

    async def run(self, chunks: AsyncIterator[bytes], fmt: str) -> None:
        async with self.sessionmaker() as session:
            standard = (await effects.thresholds_on(session, utcnow().date())).dibao_standard
        batch: list[tuple[int, dict[str, Any]]] = []
        async for line in read_lines(chunks, fmt):
            self.counts.lines += 1
            batch.append((self.counts.lines, line))
            if len(batch) == BATCH:
                await self._batch(batch, standard)
                batch = []
        await self._batch(batch, standard, finished=True)

    async def _batch(self, batch: list[tuple[int, dict[str, Any]]], standard: Decimal, finished: bool = False) -> None:
        async with self.sessionmaker() as session, session.begin():
            if batch:
                await self._judge(session, batch, standard)
            done = {"status": "finished", "finished_at": utcnow()} if finished else {}
            values = vars(self.counts) | done
            await session.execute(update(Comparison).where(Comparison.id == self.comparison_id).values(**values))

    async def _judge(self, session: AsyncSession, batch: list[tuple[int, dict[str, Any]]], standard: Decimal) -> None:
        # Well-formed is enough here: a number with a wrong check character matches no record, which holds
        # only numbers checked in full when they were registered (the full check costs more than the match).
        named = [(n, line, str(line.get("id_number") or "").strip().upper()) for n, line in batch]
        valid = [(n, line, number) for n, line, number in named if WELL_FORMED.fullmatch(number)]
        self.counts.rejected += len(named) - len(valid)
        numbers = sorted({number for _, _, number in valid})
        known = await _records(session, numbers, self.scope)
        rule = rules.RULE_OF_SOURCE[self.source]
        findings: list[dict[str, Any]] = []
        raised: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
        for n, line, number in valid:
            record = known.get(number)
            if record is None:
                continue
            self.counts.matched += 1
            finding = rule(line, rules.Known(record["status"], record["programs"]), standard)
            if finding is None:
                continue
            findings.append({"comparison_id": self.comparison_id, "line": n, "person_id": record["person_id"],
                             "rule": finding.rule, "summary": finding.summary})  # fmt: skip
            raised.setdefault((record["person_id"], f"comparison_{finding.rule}"), _alert(record, finding, self))
        self.counts.findings += len(findings)
        await bulk.insert(session, "comparison_findings", FINDING_COLUMNS, findings)
        await self._raise(session, raised)

    async def _raise(self, session: AsyncSession, raised: dict[tuple[uuid.UUID, str], dict[str, Any]]) -> None:
        """One open alert per person and rule: a finding already alerted and still open adds nothing."""
        if not raised:
            return
        t = Alert.__table__
        ids = sorted({pid for pid, _ in raised})
        stmt = select(t.c.person_id, t.c.kind).where(
            t.c.person_id == any_(cast(ids, ARRAY(UUID()))), t.c.status != "resolved", t.c.kind.like("comparison_%")
        )
        for pid, kind in (await session.execute(stmt)).all():
            raised.pop((pid, kind), None)
        rows = list(raised.values())
        await bulk.insert(
            session,
            "alerts",
            ALERT_COLUMNS,
            rows,
            on_conflict="ON CONFLICT (person_id, kind) WHERE status <> 'resolved' DO NOTHING",
        )
        self.counts.alerts += len(rows)
        await publish_many(session, [
            ev.AlertRaised(alert_id=a["id"], kind=a["kind"], status=a["status"], person_id=a["person_id"],
                           hukou_division=a["hukou_division"], summary=a["summary"], benefits=a["benefits"])
            for a in rows
        ])  # fmt: skip


def _alert(record: dict[str, Any], finding: rules.Finding, run: ComparisonRun) -> dict[str, Any]:
    active = sorted(p for p, s in record["programs"].items() if s == "active")
    return {
        "id": uuid.uuid4(), "kind": f"comparison_{finding.rule}", "status": "open",
        "severity": SEVERITY.get(finding.rule, "medium"), "person_id": record["person_id"],
        "id_number": record["id_number"], "hukou_division": record["hukou_division"], "benefits": active,
        "summary": f"{run.source} list: {finding.summary}",
        "details": {"comparison_id": str(run.comparison_id), "source": run.source},
    }  # fmt: skip


async def _records(session: AsyncSession, numbers: list[str], scope: str) -> dict[str, dict[str, Any]]:
    if not numbers:
        return {}
    t = Record.__table__
    stmt = select(t.c.person_id, t.c.id_number, t.c.hukou_division, t.c.status, t.c.programs).where(
        t.c.id_number == any_(cast(numbers, ARRAY(t.c.id_number.type))),
        divisions.covers_clause(t.c.hukou_division, scope),
    )
    return {row["id_number"]: dict(row) for row in (await session.execute(stmt)).mappings()}


async def read_lines(chunks: AsyncIterator[bytes], fmt: str) -> AsyncIterator[dict[str, Any]]:
    """The list's lines as they stream in: CSV under its header line, or one JSON object per line."""
    header: list[str] | None = None
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")  # a character may span two chunks
    rest = ""
    async for chunk in chunks:
        *complete, rest = (rest + decoder.decode(chunk)).split("\n")
        for raw in complete:
            line, header = _parse(raw, fmt, header)
            if line is not None:
                yield line
    line, header = _parse(rest + decoder.decode(b"", final=True), fmt, header)
    if line is not None:
        yield line


def _parse(raw: str, fmt: str, header: list[str] | None) -> tuple[dict[str, Any] | None, list[str] | None]:
    text = raw.strip()
    if not text:
        return None, header
    if fmt == "csv":
        cells = text.split(",") if '"' not in text else next(csv.reader([text]))
        if header is None:
            return None, [c.strip() for c in cells]
        return dict(zip(header, cells, strict=False)), header
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    return (value if isinstance(value, dict) else {"id_number": None}), header
