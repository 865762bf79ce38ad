"""Running a comparison (比对): the list streamed, each line matched in memory against the scope's records.

A department's list is large (a city's salaries: a million lines) and only a
small part of it matters. The records of the caller's scope are read once,
in two statements: every identity number (one string, split here: the
matched count needs them all) and the few records a rule could judge
(`rules.NEEDS`: someone on dibao for a salary, say). The body then streams,
a few MiB at a time, and each line is split only as far as its identity
number; a line naming a record a rule could judge is parsed whole and put
through its rule, a pure function. Only findings reach PostgreSQL: the
lines themselves never do, which is what made the run cost a million rows
of COPY, parsing and join before.

Each batch costs a fixed number of statements: one COPY of the findings,
one INSERT ... SELECT of the new alerts with their events (written from the
findings just copied, never built as Python objects), one UPDATE of the
comparison's counts; then a commit, so `GET /v1/comparisons/{id}` shows the
progress while it runs.

The meaning of a line is the one the service has always given it: lines
numbered from 1 after the CSV header, a blank line (or one of only a CR)
numbered but not counted, the identity number upper-cased with its spaces
trimmed, well-formed when 17 digits and a digit or X, a CSV cell past the
end of a line empty, NDJSON keys read as text (`->>`).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import json
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress, repeat
from operator import methodcaller
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monitoring import effects
from services.monitoring.domain import comparisons as rules
from services.monitoring.models import Comparison
from shared import clock
from shared.db import utcnow
from shared.events import OutboxInsert, notify_relay

BATCH_BYTES = 2 * 2**20  # about 80,000 lines of a salary list: judged while the batch before is written
WELL_FORMED = re.compile(r"[0-9]{17}[0-9X]").fullmatch  # 17 digits and a digit or X
FIELDS = ("id_number", *rules.FIELDS)  # what the rules read of a line
FINDING_COLUMNS = {"comparison_id": "uuid", "line": "integer", "person_id": "uuid", "rule": "text", "summary": "text"}
# The batch's alerts as the service judged them (the first finding of each person and rule, in line order) raised
# where none is open, each with its monitoring.alert.raised event (data as the AlertRaised model dumps it).
_ALERT_DATA = """jsonb_build_object('alert_id', s.id, 'kind', s.kind, 'status', s.status, 'person_id', s.person_id,
    'hukou_division', s.hukou_division, 'summary', s.summary, 'benefits', s.benefits)"""
_ALERT_EVENTS = OutboxInsert("raised", _ALERT_DATA, key_field="alert_id", key="s.id")
RAISE_ALERTS = text(f"""
    WITH raised AS (
        INSERT INTO alerts (id, kind, status, severity, person_id, id_number, hukou_division, benefits, summary,
            details, raised_on)
        SELECT uuidv7(), 'comparison_' || a.rule, 'open', coalesce(CAST(:severity AS jsonb) ->> a.rule, 'medium'),
            a.person_id, a.id_number, a.hukou_division, CAST(a.benefits AS jsonb),
            CAST(:source AS text) || ' list: ' || a.summary,
            jsonb_build_object('comparison_id', CAST(:cid AS text), 'source', CAST(:source AS text)),
            CAST(:today AS date)
        FROM unnest(CAST(:person_ids AS uuid[]), CAST(:id_numbers AS text[]), CAST(:divisions AS text[]),
            CAST(:benefits AS text[]), CAST(:rules AS text[]), CAST(:summaries AS text[]))
            WITH ORDINALITY AS a(person_id, id_number, hukou_division, benefits, rule, summary, n)
        ORDER BY a.n
        ON CONFLICT (person_id, kind) WHERE status <> 'resolved' DO NOTHING
        RETURNING id, kind, status, person_id, hukou_division, summary, benefits
    ), events AS ({_ALERT_EVENTS.sql()} RETURNING 1)
    SELECT count(*) FROM events
""")  # noqa: S608 - every fragment is a constant of the code
_TRIM = methodcaller("strip", " ")  # PostgreSQL's btrim: spaces only
SEVERITY = {"death_not_on_file": "high", "asset_on_guarantee": "medium", "income_above_standard": "medium"}


@dataclass
class Counts:
    lines: int = 0
    matched: int = 0
    rejected: int = 0
    findings: int = 0
    alerts: int = 0

    def add(self, other: Counts) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True, slots=True)
class Target:
    """A record a rule judges, as the comparison reads it once: what its finding and its alert carry."""

    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    known: rules.Known
    benefits: str  # the active programs as a JSON list, in code-point order (the alert's `benefits`)


@dataclass
class Scope:
    """The records of the caller's scope as a comparison needs them: how many per number, and those a rule judges."""

    per_number: Counter[str]
    judged: dict[str, list[Target]]  # identity number -> the records a rule judges


@dataclass
class Judgement:
    """One batch judged: its counts, its findings (rows of `comparison_findings`) and the alerts they raise."""

    counts: Counts = field(default_factory=Counts)
    findings: list[tuple[uuid.UUID, int, uuid.UUID, str, str]] = field(default_factory=list)
    alerts: dict[tuple[uuid.UUID, str], tuple[Target, rules.Finding]] = field(default_factory=dict)


@dataclass
class ComparisonRun:
    """One comparison's run: the caller's scope bounds what it can match."""

    sessionmaker: async_sessionmaker[AsyncSession]
    comparison_id: uuid.UUID
    source: str
    scope: str
    counts: Counts = field(default_factory=Counts)
    numbered: int = 0  # physical lines after the header, blank ones included

    async def run(self, chunks: AsyncIterator[bytes], fmt: str) -> None:
        """Judge each batch in a worker thread while the batch before is written (the two costs overlap).

        The judging is Python and the writing is PostgreSQL's work: run one after the other they add up,
        run side by side the run takes about the longer of the two. Batches are written in order.
        """
        async with self.sessionmaker() as session:
            standard = (await effects.thresholds_on(session, clock.today())).dibao_standard
            records = await read_scope(session, self.scope, rules.NEEDS[rules.RULE_OF_SOURCE[self.source]])
            await session.commit()  # no transaction held open while the body streams in
            reader: LineReader | None = None if fmt == "csv" else LineReader(None)
            writing: asyncio.Task[None] | None = None
            try:
                async for batch in batches(chunks):
                    if reader is None:
                        first, _, batch = batch.partition("\n")
                        reader = LineReader([c.strip() for c in next(csv.reader([first.strip()]), [])])
                    judged = await asyncio.to_thread(self._judge, batch, reader, records, standard)
                    if writing is not None:
                        await writing
                    writing = asyncio.create_task(self._write(session, judged))
            finally:
                if writing is not None:
                    await writing
            await self._write(session, Judgement(), finished=True)

    def _judge(self, batch: str, reader: LineReader, records: Scope, standard: Decimal) -> Judgement:
        """Count the batch's lines, rejects and matches; each line naming a judged record through the rule.

        The counts are taken over whole lists with C-level calls (a Python statement per line of a million
        lines is what costs); only the lines naming a judged record are looked at one by one.
        """
        lines = batch.split("\n")
        if lines[-1] == "":  # a batch ends with its last line's newline, not with another line
            lines.pop()
        if "\r" in batch:
            lines = [line.rstrip("\r") for line in lines]
        first, self.numbered = self.numbered + 1, self.numbered + len(lines)
        ids = reader.id_numbers(lines, quoted='"' in batch, plain=" " not in batch and "x" not in batch)
        counted = len(lines) - lines.count("")  # a blank line is numbered, not counted (its number: '' or None)
        well_formed = sum(map(bool, map(WELL_FORMED, filter(None, ids))))
        out = Judgement(Counts(counted, sum(map(records.per_number.get, ids, repeat(0))), counted - well_formed))
        rule, wanted, cid = rules.RULE_OF_SOURCE[self.source], records.judged, self.comparison_id
        for i in compress(range(len(ids)), map(wanted.__contains__, ids)):
            cells = reader.cells(lines[i])
            for target in wanted[ids[i]]:  # type: ignore[index] - a number `wanted` holds
                finding = rule(cells, target.known, standard)
                if finding is not None:
                    out.findings.append((cid, first + i, target.person_id, finding.rule, finding.summary))
                    out.alerts.setdefault((target.person_id, finding.rule), (target, finding))
        out.counts.findings = len(out.findings)
        return out

    async def _write(self, session: AsyncSession, judged: Judgement, finished: bool = False) -> None:
        """The batch's findings copied in, its alerts raised, the counts committed (progress while it runs)."""
        if judged.findings:
            connection = await (await session.connection()).get_raw_connection()
            await connection.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "comparison_findings", columns=list(FINDING_COLUMNS), records=judged.findings
            )
            judged.counts.alerts = await self._raise(session, list(judged.alerts.values()))
        self.counts.add(judged.counts)
        done = {"status": "finished", "finished_at": utcnow()} if finished else {}
        values = vars(self.counts) | done
        await session.execute(update(Comparison).where(Comparison.id == self.comparison_id).values(**values))
        await session.commit()

    async def _raise(self, session: AsyncSession, alerts: list[tuple[Target, rules.Finding]]) -> int:
        """One open alert per person and rule, and its event, from the batch's first findings, by one statement.

        A finding already alerted and still open adds nothing (the open alerts' unique index); the alerts and
        their `monitoring.alert.raised` events are written by one statement, never built as Python objects.
        """
        params = {
            "cid": str(self.comparison_id), "source": self.source, "severity": json.dumps(SEVERITY),
            "today": clock.today(),
            "person_ids": [t.person_id for t, _ in alerts], "id_numbers": [t.id_number for t, _ in alerts],
            "divisions": [t.hukou_division for t, _ in alerts], "benefits": [t.benefits for t, _ in alerts],
            "rules": [f.rule for _, f in alerts], "summaries": [f.summary for _, f in alerts],
            **_ALERT_EVENTS.params("monitoring.alert.raised"),
        }  # fmt: skip
        raised = (await session.execute(RAISE_ALERTS, params)).scalar_one()
        if raised:
            await notify_relay(session)
        return int(raised)


async def read_scope(session: AsyncSession, scope: str, needs: frozenset[str] | None) -> Scope:
    """The scope's records in two statements: every identity number, and the records with a program the rule needs.

    The numbers travel as one comma-joined string (a list of 200,000 rows would cost more to decode than
    to split); the judged records as plain tuples with their active programs as an array (decoding each
    record's JSON object cost more than the rest of the row); `needs` None means any active program.
    """
    in_scope = {"scope": scope}
    numbers = await session.scalar(
        text("SELECT string_agg(id_number, ',') FROM records WHERE starts_with(hukou_division, :scope)"), in_scope
    )
    params: dict[str, str] = {}
    if needs is None:
        wanted = "programs @? '$.* ? (@ == \"active\")'"
    else:
        params = {f"need_{n}": json.dumps({program: "active"}) for n, program in enumerate(sorted(needs))}
        wanted = " OR ".join(f"programs @> CAST(:{name} AS jsonb)" for name in params)
    rows = await session.execute(
        text(
            "SELECT id_number, person_id, hukou_division, status,"  # noqa: S608 - from the code
            " ARRAY(SELECT p.key FROM jsonb_each_text(programs) AS p WHERE p.value = 'active'"
            ' ORDER BY p.key COLLATE "C") FROM records'
            f" WHERE starts_with(hukou_division, :scope) AND ({wanted}) ORDER BY person_id"
        ),
        in_scope | params,
    )
    judged: dict[str, list[Target]] = {}
    benefits: dict[tuple[str, ...], str] = {}  # a few combinations of programs among thousands of records
    for number, person_id, division, status, active in rows:
        known = rules.Known(status, dict.fromkeys(active, "active"))
        listed = benefits.setdefault(tuple(active), json.dumps(active))
        judged.setdefault(number, []).append(Target(person_id, number, division, known, listed))
    return Scope(Counter(numbers.split(",")) if numbers else Counter(), judged)


class LineReader:
    """A line's identity number and fields: CSV cells by the header's positions, or an NDJSON object's keys.

    Splitting a CSV line only as far as its identity number is what keeps a million lines cheap; a line
    with a quote goes through the csv module, and the whole line is parsed only for the rule.
    """

    def __init__(self, header: list[str] | None) -> None:
        self.ndjson = header is None
        self.positions = {f: header.index(f) for f in FIELDS if f in header} if header is not None else {}
        self.id_at = self.positions.get("id_number")

    def id_numbers(self, lines: list[str], quoted: bool, plain: bool) -> list[str | None]:
        """Every line's identity number, upper-cased and trimmed of spaces; a batch without quotes split in bulk.

        `plain`: the batch holds no space and no lower-case x, so trimming and upper-casing could change no
        number that matches or is well-formed (both are digits and X only): skipped, a million calls saved.
        """
        if self.ndjson or quoted or self.id_at is None:
            return [self.id_number(line) for line in lines]
        k = self.id_at
        if k == 0:
            cells = [line.partition(",")[0] for line in lines]
        else:
            cells = [c[k] if len(c) > k else "" for c in (line.split(",", k + 1) for line in lines)]
        if not plain:
            return list(map(str.upper, map(_TRIM, cells)))
        return cells  # type: ignore[return-value] - list[str] is a list[str | None]

    def id_number(self, line: str) -> str | None:
        if self.ndjson:
            value = _json_text((self._object(line) or {}).get("id_number"))
        elif self.id_at is None:
            return None
        elif '"' in line:
            cells = next(csv.reader([line]), [])
            value = cells[self.id_at] if self.id_at < len(cells) else None
        else:
            cells = line.split(",", self.id_at + 1)
            value = cells[self.id_at] if self.id_at < len(cells) else ""
        return None if value is None else value.strip(" ").upper()

    def cells(self, line: str) -> dict[str, Any]:
        if self.ndjson:
            found = self._object(line) or {}
            return {f: _json_text(found.get(f)) for f in FIELDS}
        quoted = '"' in line
        cells = next(csv.reader([line]), []) if quoted else line.split(",")
        missing = None if quoted else ""
        return {f: cells[k] if k < len(cells) else missing for f, k in self.positions.items()}

    @staticmethod
    def _object(line: str) -> dict[str, Any] | None:
        try:
            found = json.loads(line, parse_float=str, parse_int=str)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None


def _json_text(value: object) -> str | None:
    """A JSON value as PostgreSQL's `->>` gives it: a string as is, null as NULL, anything else as JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


async def batches(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The body in whole lines, a few MiB at a time, as text (a character may span two chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending: list[str] = []
    size = 0
    async for chunk in chunks:
        pending.append(decoder.decode(chunk))
        size += len(chunk)
        if size >= BATCH_BYTES:
            data = "".join(pending)
            cut = data.rfind("\n") + 1
            if cut:
                yield data[:cut]
                data = data[cut:]
            pending, size = [data], len(data)
    rest = "".join(pending) + decoder.decode(b"", final=True)
    if rest.strip():
        yield rest if rest.endswith("\n") else rest + "\n"
