"""Running a comparison (比对): the list streamed into PostgreSQL and matched there, a batch at a time.

A department's list is large (a city's salaries: a million lines) and only a
small part of it matters, so the lines never become Python objects: the body
streams, a few MiB at a time, through `COPY` into a temporary table of raw
lines (numbered in arrival order), PostgreSQL splits each line into its
fields (CSV under the header line, or NDJSON through `jsonb`) and joins them
with the records by identity number in one statement. Python sees only the
lines of persons a rule could judge (`rules.NEEDS`: someone on dibao for a
salary, say) and puts each through its rule, a pure function.

Each batch costs a fixed number of statements: the COPY, one INSERT of the
parsed lines, one count of lines, rejects and matches, one SELECT of the
candidates, one INSERT of the findings, one SELECT of the open alerts they
would repeat, one INSERT of the new alerts and their events, one UPDATE of
the comparison's counts; then a commit, so `GET /v1/comparisons/{id}` shows
the progress while it runs.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, any_, cast, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monitoring import effects
from services.monitoring.domain import comparisons as rules
from services.monitoring.models import Alert, Comparison
from shared import bulk, clock
from shared import event_types as ev
from shared.db import utcnow
from shared.events import publish_many

WORK_MEM = "64MB"  # a district's records hashed for the join without spilling to disk
BATCH_BYTES = 8 * 2**20  # about 330,000 lines of a salary list between two progress commits
# Well-formed: 17 digits and a digit or X (string functions: a regular expression costs more per line than the match).
WELL_FORMED = (
    "length(f.id_number) = 18 AND translate(left(f.id_number, 17), '0123456789', '') = ''"
    " AND translate(right(f.id_number, 1), '0123456789X', '') = ''"
)
FIELDS = ("id_number", *rules.FIELDS)  # what the rules read of a line; the rest stays in PostgreSQL
# COPY reads each line whole, as one CSV field: delimiter and quote are bytes no list holds (replaced if sent).
UNUSED = {0: " ", 1: " ", 2: " "}
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
_temp = MetaData()
MATCHED = ("person_id", "hukou_division", "status", "programs")  # what a rule and an alert need of a record
PARSED = Table(
    "comparison_parsed",
    _temp,
    Column("line", BigInteger),
    *(Column(f, Text) for f in FIELDS),
    Column("person_id", UUID(as_uuid=True)),
    Column("hukou_division", Text),
    Column("status", Text),
    Column("programs", JSONB),
)
# A CSV line's k-th cell: split on commas, or through a pattern where the line quotes a cell (rare in these lists).
QUOTED_CELLS = r"""ARRAY(SELECT replace(regexp_replace(m[1], '^"(.*)"$', '\1'), '""', '"')
    FROM regexp_matches(raw, '(?:^|,)("(?:[^"]|"")*"|[^,]*)', 'g') AS m)"""


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
            standard = (await effects.thresholds_on(session, clock.today())).dibao_standard
            await _temp_tables(session)
            header: list[str] | None = None if fmt == "csv" else ["ndjson"]
            async for batch in batches(chunks):
                if header is None:
                    first, _, batch = batch.partition(b"\n")
                    header = [c.strip() for c in next(csv.reader([first.decode().strip()]), [])]
                await self._batch(session, batch, header, standard)
            await self._batch(session, b"", header or [], standard, finished=True)

    async def _batch(
        self, session: AsyncSession, raw: bytes, header: list[str], standard: Decimal, finished: bool = False
    ) -> None:
        if raw:
            # Through the session first: it opens the transaction the COPY then runs in.
            await session.execute(text("TRUNCATE comparison_lines, comparison_parsed"))
            await session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))  # the join's hash of records in memory
            await _copy(session, raw)
            await session.execute(text("ANALYZE comparison_lines"))  # so the join below is planned for its size
            await self._judge(session, header, standard)
        done = {"status": "finished", "finished_at": utcnow()} if finished else {}
        values = vars(self.counts) | done
        await session.execute(update(Comparison).where(Comparison.id == self.comparison_id).values(**values))
        await session.commit()

    async def _judge(self, session: AsyncSession, header: list[str], standard: Decimal) -> None:
        rule = rules.RULE_OF_SOURCE[self.source]
        statement, params = _match_statement(header, rules.NEEDS[rule])
        lines, bad, matched = (await session.execute(statement, {"scope": self.scope, **params})).one()
        self.counts.lines += lines
        self.counts.rejected += bad
        self.counts.matched += matched
        findings: list[tuple[Any, ...]] = []
        raised: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
        for row in (await session.execute(select(PARSED).order_by(PARSED.c.line))).mappings():
            finding = rule(row, rules.Known(row["status"], row["programs"]), standard)
            if finding is None:
                continue
            findings.append((self.comparison_id, row["line"], row["person_id"], finding.rule, finding.summary))
            raised.setdefault((row["person_id"], f"comparison_{finding.rule}"), _alert(row, finding, self))
        self.counts.findings += len(findings)
        if findings:
            connection = await (await session.connection()).get_raw_connection()
            await connection.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "comparison_findings", columns=list(FINDING_COLUMNS), records=findings
            )
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


async def _temp_tables(session: AsyncSession) -> None:
    """This connection's own tables of raw and parsed lines (emptied before each batch; lines numbered on)."""
    fields = ", ".join(f"{f} text" for f in FIELDS)
    for sql in (
        "DROP TABLE IF EXISTS pg_temp.comparison_lines, pg_temp.comparison_parsed",
        "CREATE TEMP TABLE comparison_lines (line bigint GENERATED ALWAYS AS IDENTITY, raw text)",
        f"CREATE TEMP TABLE comparison_parsed (line bigint, {fields}, person_id uuid, hukou_division text,"
        " status text, programs jsonb)",
    ):
        await session.execute(text(sql))


async def _copy(session: AsyncSession, raw: bytes) -> None:
    """The batch's lines into `comparison_lines` as they are, one row each, numbered in order."""
    connection = await (await session.connection()).get_raw_connection()
    await connection.driver_connection.copy_to_table(  # type: ignore[union-attr]
        "comparison_lines", source=io.BytesIO(raw), columns=["raw"], format="csv", delimiter="\x01", quote="\x02"
    )


def _match_statement(header: list[str], needs: frozenset[str] | None) -> tuple[Any, dict[str, str]]:  # noqa: ANN401
    """One statement per batch: each non-blank line parsed, matched with its record, counted, candidates kept.

    The lines' fields (CSV cells by the header's positions, or NDJSON keys; parsed once each, behind
    OFFSET 0) are joined with the records of the caller's scope by identity number; the statement answers
    the batch's lines, malformed numbers and matches, and keeps in `comparison_parsed` only the matched
    lines whose person has an active program the rule needs (`rules.NEEDS`). Positions and names come
    from the code's FIELDS and the header's order, never from the list's text.
    """
    if header == ["ndjson"]:
        parsed = "CASE WHEN pg_input_is_valid(raw, 'jsonb') THEN raw::jsonb END"
        cells = [f"CASE WHEN jsonb_typeof(v) = 'object' THEN v ->> '{f}' END" for f in FIELDS]
    else:
        parsed = f"CASE WHEN strpos(raw, '\"') > 0 THEN {QUOTED_CELLS} END"
        cells = [
            f"CASE WHEN v IS NULL THEN split_part(raw, ',', {k}) ELSE v[{k}] END" if k else "NULL"
            for k in (header.index(f) + 1 if f in header else 0 for f in FIELDS)
        ]
    cells[0] = f"upper(btrim({cells[0]}))"
    lines = f"SELECT line, raw, {parsed} AS v FROM (SELECT line, rtrim(raw, E'\\r') AS raw FROM comparison_lines) l"  # noqa: S608
    lines += " WHERE raw <> '' OFFSET 0"  # an empty line arrives as NULL, or as '' once its CR is trimmed
    named = ", ".join(f"{c} AS {f}" for c, f in zip(cells, FIELDS, strict=True))
    fields = f"SELECT line, {named} FROM ({lines}) s OFFSET 0"  # noqa: S608
    params: dict[str, str] = {}
    if needs is None:
        wanted = "r.programs @? '$.* ? (@ == \"active\")'"
    else:
        params = {f"need_{n}": json.dumps({program: "active"}) for n, program in enumerate(sorted(needs))}
        wanted = " OR ".join(f"r.programs @> CAST(:{name} AS jsonb)" for name in params)
    columns = f"line, {', '.join(FIELDS)}, {', '.join(MATCHED)}"
    return text(f"""
        WITH j AS MATERIALIZED (
            SELECT f.*, {WELL_FORMED} AS well_formed, {", ".join(f"r.{c}" for c in MATCHED)}, ({wanted}) AS wanted
            FROM ({fields}) f
            LEFT JOIN records r ON r.id_number = f.id_number AND starts_with(r.hukou_division, :scope)
        ), kept AS (
            INSERT INTO comparison_parsed ({columns}) SELECT {columns} FROM j WHERE wanted RETURNING 1
        )
        SELECT count(*), count(*) FILTER (WHERE well_formed IS NOT TRUE), count(person_id) FROM j
    """), params  # noqa: S608


async def batches(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The body in whole lines, a few MiB at a time, as valid UTF-8 without the bytes COPY reads as separators."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")  # a character may span two chunks
    pending: list[bytes] = []
    size = 0
    async for chunk in chunks:
        pending.append(decoder.decode(chunk).translate(UNUSED).encode())
        size += len(pending[-1])
        if size >= BATCH_BYTES:
            data = b"".join(pending)
            cut = data.rfind(b"\n") + 1
            if cut:
                yield data[:cut]
                data = data[cut:]
            pending, size = [data], len(data)
    rest = b"".join(pending) + decoder.decode(b"", final=True).translate(UNUSED).encode()
    if rest.strip():
        yield rest if rest.endswith(b"\n") else rest + b"\n"
