"""The outbox row kept small: what each service's migration "slim outbox" does to its `outbox` table.

Measured with bench/outbox_rows.py (100,000 rows, one INSERT ... SELECT, then
the relay's marking in batches of 500): a row cost ~1,080 B of WAL to write and
~1,090 B more to mark published, and 990 B on disk. Most of it was the stored
CloudEvent envelope, whose attributes other columns already hold or every row
shares, and the UNIQUE(id) index, which nothing needs (an event id is the
row's, a resend keeps it, and consumers drop duplicates by it in their own
`processed_events`). So:

- the row keeps the event's `data` and the attributes that vary (`subject`,
  `time`); `envelope` becomes a VIRTUAL generated column (PostgreSQL 18):
  computed when read, the same JSON as before, so every reader of
  `envelope` (the relay, reports, tests) reads it unchanged; `source` is
  `/minzheng/<service>`, the first word of the type (tests/platform checks
  this for every type of the catalogue);
- UNIQUE(id) goes, and with it a random B-tree insert per event (the
  identifiers of shared.events are uuid4) and one more on every mark;
- `attempts` and `last_error`, never written, go.

Kept: `seq` (the relay's order), the partial index of unpublished rows (the
relay's scan and the operator's backlog), `published_at` (rows stay the
retention period after they are sent, for replay and for readers counting
events). Writing a row now costs ~760 B of WAL and marking it ~790 B; on disk
680 B. The functions below are the migration's body, the same in every service.
"""

from __future__ import annotations

# The envelope as shared.events.envelope() builds it, from the row's columns (immutable built-ins only, as a
# generated column requires). Also the expression of `outbox.envelope` in shared/db.py.
ENVELOPE = (
    "jsonb_set(jsonb_object("
    "ARRAY['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype'], "
    "ARRAY['1.0', id::text, '/minzheng/' || split_part(type, '.', 1), type, coalesce(subject, key), time,"
    " 'application/json']"
    "), '{data}', data)"
)


def upgrade() -> None:
    """Split each stored envelope into its varying parts, then compute the envelope instead of storing it."""
    from alembic import op  # a migration's import: the services' runtime only needs ENVELOPE

    op.execute("ALTER TABLE outbox DROP CONSTRAINT uq_outbox_id")
    op.execute("ALTER TABLE outbox ADD COLUMN subject text, ADD COLUMN time text, ADD COLUMN data jsonb")
    op.execute("UPDATE outbox SET subject = envelope->>'subject', time = envelope->>'time', data = envelope->'data'")
    op.execute(
        "ALTER TABLE outbox ALTER COLUMN subject SET NOT NULL, ALTER COLUMN time SET NOT NULL,"
        " ALTER COLUMN data SET NOT NULL, DROP COLUMN envelope, DROP COLUMN attempts, DROP COLUMN last_error"
    )
    op.execute(f"ALTER TABLE outbox ADD COLUMN envelope jsonb GENERATED ALWAYS AS ({ENVELOPE}) VIRTUAL")


def downgrade() -> None:
    """Store the envelope again (as computed), with the UNIQUE(id) index and the unused columns."""
    from alembic import op

    op.execute("ALTER TABLE outbox ADD COLUMN stored jsonb")
    op.execute("UPDATE outbox SET stored = envelope")
    op.execute(
        "ALTER TABLE outbox DROP COLUMN envelope, DROP COLUMN subject, DROP COLUMN time, DROP COLUMN data,"
        " ADD COLUMN attempts integer NOT NULL DEFAULT 0, ADD COLUMN last_error text"
    )
    op.execute("ALTER TABLE outbox RENAME COLUMN stored TO envelope")
    op.execute("ALTER TABLE outbox ALTER COLUMN envelope SET NOT NULL, ADD CONSTRAINT uq_outbox_id UNIQUE (id)")


def leaner_upgrade() -> None:
    """No subject stored when it is the key, no `created_at`, no primary key on `seq` (see the module's docstring)."""
    from alembic import op

    op.execute("ALTER TABLE outbox DROP COLUMN envelope")
    # Rows written before keep their subject (the envelope reads either form): nothing is rewritten.
    op.execute(
        "ALTER TABLE outbox ALTER COLUMN subject DROP NOT NULL, DROP COLUMN created_at, DROP CONSTRAINT pk_outbox"
    )
    op.execute(f"ALTER TABLE outbox ADD COLUMN envelope jsonb GENERATED ALWAYS AS ({ENVELOPE}) VIRTUAL")


def leaner_downgrade() -> None:
    """The subject stored on every row again, `created_at` (now, for rows written before) and the primary key."""
    from alembic import op

    op.execute("UPDATE outbox SET subject = key WHERE subject IS NULL")
    op.execute(
        "ALTER TABLE outbox ALTER COLUMN subject SET NOT NULL, ADD CONSTRAINT pk_outbox PRIMARY KEY (seq),"
        " ADD COLUMN created_at timestamptz NOT NULL DEFAULT now()"
    )


# Half of each page left free when rows are written: see room_upgrade.
FILLFACTOR = 50


def room_upgrade() -> None:
    """Outbox pages filled to half, so marking a row published writes its new version on the same page.

    Every row is updated exactly once, milliseconds after it is written, by the
    relay's `published_at = now()`. That column is in the predicate of the
    partial index of unpublished rows, so the update is never HOT, but on the
    same page PostgreSQL logs only the bytes that changed (the row's prefix and
    suffix are shared with the old version) and the partial index takes no entry
    either way. On full pages (fillfactor 100) each new version went to another
    page, whole: 674 B of WAL a row marked; with half the page free, 120 B,
    and the marking backend's CPU 4.6-4.9 -> 2.9-3.4 us a row (100,000 rows
    marked in batches of 1,000, no checkpoint between, three runs each). The
    table holds the same pages right after marking (the versions sit beside
    the rows instead of on new pages); rows kept the retention period after
    vacuum take up to twice the space they did. Pages written from now on
    keep the room.
    """
    from alembic import op

    op.execute(f"ALTER TABLE outbox SET (fillfactor = {FILLFACTOR})")


def room_downgrade() -> None:
    """Outbox pages filled whole again (from the next page written)."""
    from alembic import op

    op.execute("ALTER TABLE outbox RESET (fillfactor)")
