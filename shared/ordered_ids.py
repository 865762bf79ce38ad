"""Time-ordered ids for rows written by one `INSERT ... SELECT`, without a random draw per row.

`uuidv7()` per row costs ~5 us of PostgreSQL CPU on the embedded server: it is
built without OpenSSL, so each call reads /dev/urandom (half a CPU-second per
100,000 rows). A statement writing many rows instead takes one UUIDv7 prefix
drawn here (48 bits of milliseconds, the version, 42 random bits) and numbers
its rows in the last 32 bits (`ROW_ID`: up to 4 billion rows a statement): the ids stay unique (a new prefix per
statement) and in insertion order, so they land at the end of a primary key's
index like uuidv7's.
"""

from __future__ import annotations

import secrets
import time
import uuid

# The SQL of a row's id: the statement's `:id_prefix` and the row's number (a window over the rows written).
ROW_ID = "CAST(:id_prefix || lpad(to_hex(row_number() OVER ()), 8, '0') AS uuid)"

# The same without a parameter: the prefix drawn by PostgreSQL once per execution (an uncorrelated scalar
# subquery is an InitPlan, evaluated once however many rows follow), for SQL helpers whose statements may be
# executed several times with the same parameters (an `:id_prefix` reused would repeat the ids).
STATEMENT_ROW_ID = "CAST(left((SELECT uuidv7()::text), 28) || lpad(to_hex(row_number() OVER ()), 8, '0') AS uuid)"


def statement_row_id(order_by: str = "") -> str:
    """`STATEMENT_ROW_ID` with the rows numbered in the order `order_by` (SQL), so ids follow a statement's order."""
    return STATEMENT_ROW_ID.replace("OVER ()", f"OVER (ORDER BY {order_by})") if order_by else STATEMENT_ROW_ID


def prefix() -> str:
    """The first 28 characters of a fresh UUIDv7 whose last 32 bits are left for a row's number."""
    millis = time.time_ns() // 1_000_000
    rand_a, rand_b = secrets.randbits(12), secrets.randbits(30)
    value = (millis & (2**48 - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b << 32
    return str(uuid.UUID(int=value))[:28]
