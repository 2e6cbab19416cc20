"""Tamper evidence: one hash chain over the logbook, its amendments, the register of
letters, their amendments and the audit log.

Every final row gets one ``ChainLink``, appended by a statement trigger in the same
transaction as the row:

- an audit entry, a call amendment, a letter amendment: when inserted;
- an item of mail: when inserted, over its values as recorded;
- a call: when it closes (an UPDATE that sets ``ended_at``, or an INSERT of a row
  already closed: transcribed from the paper book, seeded), over its values at
  closing. An open call is not final and is not chained.

A link holds its position (1, 2, ...), the table and row, ``content_hash`` =
SHA-256 of the row's canonical content, ``previous_hash`` (the hash of the link
before, 64 zeros for the first) and ``hash`` = SHA-256 of ``previous_hash ||
content_hash`` (both as hex text). The canonical content is the text of a record of
the row's chained columns, given for one row by the SQL function
``camp_chain_content(table, id)`` from the LIVE row, so ``verify`` recomputes it: a
row changed behind the triggers' back no longer matches its link. The triggers build
the same text set-based, for all the rows of a statement at once, through the same
per-table SQL functions (``camp_chain_text_<table>``), and fold the hashes in one
loop: a bulk COPY pays some 20 µs per link, most of it the link's own INSERT.

Calls and letters change after they are chained, but only through amendments (a
trigger applies each one); the content function undoes them, newest first, from the
current values (each "to" must equal the value it replaces, each "from" becomes the
value before), giving back the values at closing (at insert for letters). A current
value that disagrees with its last amendment's "to" marks the content as such, so a
corrected column overwritten directly is found too.

Appends are serialised by one transaction-level advisory lock, taken by the trigger
before it reads the last link: concurrent writers chain in commit order, and the
primary key on ``position`` and the unique ``previous_hash`` refuse a fork whatever
happens. The lock is held until commit, so every writing transaction of the camp
queues there for the moment between its first chained row and its commit.

What the chain does not show on its own: someone able to rewrite the rows AND
recompute every link after them. That is what the head is for: exports and the
printed daily page carry it (``head()``), so the ICRC holds a value the camp cannot
change; ``verify`` on a later day must reach a chain in which that head still is.
"""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the chain's tail: "chain" in ASCII.
LOCK_KEY = 0x636861696E

# Amendable columns with their SQL types: calls.models.AMENDABLE_FIELD_TYPES and
# letters.models.AMENDABLE_FIELD_TYPES as they were when the chain was installed.
# Changing either needs a new migration of the content function (see
# tests/camp/test_chain.py::test_installed_chain_sql_is_current).
CALL_AMENDABLE = {
    "number_dialled": "text",
    "locality": "text",
    "started_at": "timestamptz",
    "ended_at": "timestamptz",
    "outcome": "text",
    "language": "text",
    "notes": "text",
    "flagged": "boolean",
    "flag_reason": "text",
}
CALL_FIXED = [
    "id",
    "site_id",
    "prisoner_id",
    "contact_id",
    "line_id",
    "booking_id",
    "policy_id",
    "deadline",
    "monitor_id",
    "over_limit",
    "is_makeup",
    "transcribed_by_id",
    "created_at",
]
LETTER_AMENDABLE = {
    "prisoner_id": "bigint",
    "kind": "text",
    "direction": "text",
    "channel": "text",
    "contact_id": "bigint",
    "correspondent_name": "text",
    "correspondent_locality": "text",
    "reference": "text",
    "written_on": "date",
    "handed_in_on": "date",
    "censored_on": "date",
    "dispatched_on": "date",
    "delivered_on": "date",
    "returned_on": "date",
    "notes": "text",
    "in_error": "boolean",
}
LETTER_FIXED = ["id", "site_id", "recorded_by_id", "created_at"]
# Tables whose rows are final when inserted, with every column chained.
APPEND_ONLY = {
    "camp_auditentry": [
        "id",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "site_id",
        "data",
        "created_at",
    ],
    "calls_amendment": ["id", "call_id", "changes", "reason", "author_id", "created_at"],
    "letters_letteramendment": [
        "id",
        "letter_id",
        "changes",
        "reason",
        "is_correction",
        "author_id",
        "created_at",
    ],
}
CHAINED_TABLES = [*APPEND_ONLY, "calls_call", "letters_letter"]


def _object(columns, prefix: str) -> str:
    return "jsonb_build_object(" + ", ".join(f"'{c}', {prefix}.{c}" for c in columns) + ")"


# The canonical text of a row is defined once, by SQL functions over the table's row
# type: ``camp_chain_text_<table>(entry)``, and for calls and letters
# ``camp_chain_text_<table>(entry, agrees)``: the text of a record of the chained
# columns, in the order listed above (record text quotes and escapes every value, so
# it is unambiguous; NULL prints as nothing, '' as ""). Verify (through
# ``camp_chain_content``) and the triggers (set-based, over the transition table) both
# call them. They are plain SQL without a SET clause so that the planner inlines them;
# their callers fix how dates and timestamps print (``OUTPUT_SETTINGS``). A record's
# text costs a fraction of a jsonb object's, which was most of a link's cost.
OUTPUT_SETTINGS = "SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD'"


def _record(columns, prefix: str, *extra: str) -> str:
    return "ROW(" + ", ".join([*(f"{prefix}.{c}" for c in columns), *extra]) + ")::text"


def _text_function_sql(table: str, columns) -> str:
    return f"""
CREATE OR REPLACE FUNCTION camp_chain_text_{table}(entry {table}) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT {_record(columns, "entry")}
$$;"""


def _amended_text_function_sql(*, table: str, amendable, fixed) -> str:
    return f"""
CREATE OR REPLACE FUNCTION camp_chain_text_{table}(entry {table}, agrees boolean)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT {_record([*fixed, *amendable], "entry", "agrees")}
$$;"""


def _undo_amendments_sql(*, table, amendments, entry_column, amendable) -> str:
    """A plpgsql function ``camp_chain_content_<table>(bigint)``: the canonical text of
    the row with its amendments undone, newest first (``original``: the amendable
    values, put back into the row at the end). Two queries per call."""
    steps = "\n".join(
        f"""        IF change ? '{field}' THEN
            agrees := agrees AND (change -> '{field}' ->> 'to')::{kind}
                IS NOT DISTINCT FROM (original ->> '{field}')::{kind};
            original := jsonb_set(original, '{{{field}}}',
                COALESCE(to_jsonb((change -> '{field}' ->> 'from')::{kind}), 'null'));
        END IF;"""
        for field, kind in amendable.items()
    )
    return f"""
CREATE OR REPLACE FUNCTION camp_chain_content_{table}(row_id bigint) RETURNS text
LANGUAGE plpgsql STABLE {OUTPUT_SETTINGS} AS $$
DECLARE
    entry {table}%ROWTYPE;
    original jsonb;
    change jsonb;
    agrees boolean := true;
BEGIN
    SELECT * INTO entry FROM {table} WHERE id = row_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    original := {_object(amendable, "entry")};
    FOR change IN
        SELECT changes FROM {amendments} WHERE {entry_column} = row_id ORDER BY id DESC
    LOOP
{steps}
    END LOOP;
    RETURN camp_chain_text_{table}(jsonb_populate_record(entry, original), agrees);
END;
$$;"""


# Amendments of the rows with amendments: (amendment table, its column naming the row).
AMENDMENTS = {
    "calls_call": ("calls_amendment", "call_id"),
    "letters_letter": ("letters_letteramendment", "letter_id"),
}


def _content_sql() -> str:
    """``camp_chain_content(table, id)``: the canonical text a link's content hash
    covers, or NULL when the row is gone. Timestamps print in UTC whatever the
    session's time zone; jsonb orders keys, so the text is canonical."""
    texts = "".join(_text_function_sql(table, columns) for table, columns in APPEND_ONLY.items())
    append_only = "\n".join(
        f"""    IF table_name = '{table}' THEN
        RETURN (SELECT camp_chain_text_{table}(t) FROM {table} AS t WHERE t.id = row_id);
    END IF;"""
        for table in APPEND_ONLY
    )
    amended = "\n".join(
        _amended_text_function_sql(table=table, amendable=amendable, fixed=fixed)
        + "\n"
        + _undo_amendments_sql(
            table=table,
            amendments=AMENDMENTS[table][0],
            entry_column=AMENDMENTS[table][1],
            amendable=amendable,
        )
        for table, amendable, fixed in (
            ("calls_call", CALL_AMENDABLE, CALL_FIXED),
            ("letters_letter", LETTER_AMENDABLE, LETTER_FIXED),
        )
    )
    return f"""{texts}
{amended}

CREATE OR REPLACE FUNCTION camp_chain_content(table_name text, row_id bigint) RETURNS text
LANGUAGE plpgsql STABLE {OUTPUT_SETTINGS} AS $$
BEGIN
{append_only}
    IF table_name = 'calls_call' THEN
        RETURN camp_chain_content_calls_call(row_id);
    END IF;
    IF table_name = 'letters_letter' THEN
        RETURN camp_chain_content_letters_letter(row_id);
    END IF;
    RAISE EXCEPTION 'camp_chain_content: % is not chained', table_name;
END;
$$;"""


# ``camp_chain_append(table, ids, content hashes)``: the links of one statement's rows,
# in the order given (the triggers give them by id). Only the fold is row by row: one
# concatenation and one SHA-256 per link, then one INSERT of them all.
APPEND_SQL = f"""
CREATE OR REPLACE FUNCTION camp_chain_append(chained_table text, row_ids bigint[],
                                             content_hashes text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    last_position bigint;
    last_hash text;
    content_hash text;
    previous_hashes text[] := '{{}}';
    hashes text[] := '{{}}';
BEGIN
    IF cardinality(row_ids) IS DISTINCT FROM cardinality(content_hashes) THEN
        RAISE EXCEPTION 'camp_chain_append: % rows but % content hashes',
            cardinality(row_ids), cardinality(content_hashes);
    END IF;
    IF cardinality(row_ids) = 0 THEN
        RETURN;
    END IF;
    -- Commit order: the tail read next is the one every other writer left.
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    SELECT position, hash INTO last_position, last_hash
    FROM camp_chainlink ORDER BY position DESC LIMIT 1;
    IF NOT FOUND THEN
        last_position := 0;
        last_hash := '{GENESIS}';
    END IF;
    FOREACH content_hash IN ARRAY content_hashes LOOP
        previous_hashes := previous_hashes || last_hash;
        last_hash := encode(sha256(convert_to(last_hash || content_hash, 'UTF8')), 'hex');
        hashes := hashes || last_hash;
    END LOOP;
    INSERT INTO camp_chainlink
        (position, table_name, row_id, content_hash, previous_hash, hash, created_at)
    SELECT last_position + link.number, chained_table, link.row_id, link.content_hash,
           link.previous_hash, link.hash, now()
    FROM unnest(row_ids, content_hashes, previous_hashes, hashes)
        WITH ORDINALITY AS link(row_id, content_hash, previous_hash, hash, number);
END;
$$;"""


def _statement_content_sql(table: str) -> str:
    """The canonical text of a row of ``written`` (the statement's transition table:
    the rows as they are now, since nothing else writes them in the statement), as
    ``camp_chain_content`` gives it. A new row has no amendments: its values are its
    original ones, and they agree; a row that does have amendments (a call amended
    before it closed) takes the row-by-row path through them."""
    if table not in AMENDMENTS:
        return f"camp_chain_text_{table}(written)"
    amendments, entry_column = AMENDMENTS[table]
    return f"""CASE WHEN EXISTS (SELECT FROM {amendments}
                         WHERE {amendments}.{entry_column} = written.id)
             THEN camp_chain_content_{table}(written.id)
             ELSE camp_chain_text_{table}(written, true)
             END"""


def _trigger_sql(table: str, operation: str, where: str, referencing: str) -> str:
    # Named after pgtrigger's "pgtrigger_*": AFTER triggers fire in name order, so the
    # chain's lock is taken after the table's own triggers have taken theirs.
    name = f"tamper_chain_{table}_{operation.lower()}"
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql {OUTPUT_SETTINGS} AS $$
DECLARE
    row_ids bigint[];
    content_hashes text[];
BEGIN
    -- One set-based pass over the statement's rows for their content hashes.
    SELECT coalesce(array_agg(written.id ORDER BY written.id), '{{}}'),
           coalesce(array_agg(encode(sha256(convert_to(
               {_statement_content_sql(table)}, 'UTF8')), 'hex') ORDER BY written.id), '{{}}')
    INTO row_ids, content_hashes
    FROM written{where};
    PERFORM camp_chain_append('{table}', row_ids, content_hashes);
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS {name} ON {table};
CREATE TRIGGER {name} AFTER {operation} ON {table}
    REFERENCING {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();"""


def _triggers_sql() -> str:
    parts = [
        _trigger_sql(table, "INSERT", "", "NEW TABLE AS written")
        for table in [*APPEND_ONLY, "letters_letter"]
    ]
    parts.append(
        _trigger_sql(
            "calls_call",
            "INSERT",
            "\n    WHERE written.ended_at IS NOT NULL",
            "NEW TABLE AS written",
        )
    )
    parts.append(
        _trigger_sql(
            "calls_call",
            "UPDATE",
            "\n    JOIN before ON before.id = written.id"
            "\n    WHERE before.ended_at IS NULL AND written.ended_at IS NOT NULL",
            "OLD TABLE AS before NEW TABLE AS written",
        )
    )
    return "\n".join(parts)


def install_sql() -> str:
    """The SQL the chain's migration installs (functions and triggers)."""
    return "\n".join([_content_sql(), APPEND_SQL, _triggers_sql()])


UNINSTALL_SQL = "\n".join(
    [
        *(
            f"DROP TRIGGER IF EXISTS tamper_chain_{table}_insert ON {table};"
            f" DROP FUNCTION IF EXISTS tamper_chain_{table}_insert();"
            for table in CHAINED_TABLES
        ),
        "DROP TRIGGER IF EXISTS tamper_chain_calls_call_update ON calls_call;",
        "DROP FUNCTION IF EXISTS tamper_chain_calls_call_update();",
        "DROP FUNCTION IF EXISTS camp_chain_append(text, bigint[], text[]);",
        "DROP FUNCTION IF EXISTS camp_chain_content(text, bigint);",
        *(
            f"DROP FUNCTION IF EXISTS camp_chain_content_{table}(bigint);"
            f" DROP FUNCTION IF EXISTS camp_chain_text_{table}({table}, boolean);"
            for table in AMENDMENTS
        ),
        *(f"DROP FUNCTION IF EXISTS camp_chain_text_{table}({table});" for table in APPEND_ONLY),
    ]
)


# --- Reading and verifying ------------------------------------------------------------


def link_hash(previous_hash: str, content_hash: str) -> str:
    return hashlib.sha256((previous_hash + content_hash).encode()).hexdigest()


def head() -> tuple[int, str]:
    """(number of links, hash of the last) — (0, 64 zeros) for an empty chain.
    One index lookup."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT position, hash FROM camp_chainlink ORDER BY position DESC LIMIT 1")
        row = cursor.fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def head_text() -> str:
    """The head as exports and printed pages show it."""
    count, digest = head()
    return f"{count}:{digest}"


@dataclass(frozen=True)
class Break:
    position: int | None  # None: a row with no link at all
    table: str
    row_id: int
    reason: str  # "content changed", "row missing", "link missing", "link changed"

    def __str__(self):
        where = f"link {self.position}" if self.position is not None else "unchained row"
        return f"broken at {where}: {self.table} row {self.row_id} ({self.reason})"


@dataclass(frozen=True)
class Result:
    count: int
    head: str
    broken: Break | None


FETCH_LINKS = 5000
PROGRESS_LINKS = 100_000


def _links() -> Iterator[tuple]:
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(
            """SELECT position, table_name, row_id, content_hash, previous_hash, hash,
                      encode(sha256(convert_to(camp_chain_content(table_name, row_id),
                                               'UTF8')), 'hex')
               FROM camp_chainlink ORDER BY position"""
        )
        while batch := cursor.fetchmany(FETCH_LINKS):
            yield from batch


def _unchained() -> Break | None:
    """The first row, table by table, that should have a link and has none."""
    with connection.cursor() as cursor:
        for table in CHAINED_TABLES:
            closed = " AND t.ended_at IS NOT NULL" if table == "calls_call" else ""
            cursor.execute(
                f"""SELECT min(t.id) FROM {table} AS t
                    WHERE NOT EXISTS (SELECT 1 FROM camp_chainlink AS l
                                      WHERE l.table_name = %s AND l.row_id = t.id){closed}""",
                [table],
            )
            (row_id,) = cursor.fetchone()
            if row_id is not None:
                return Break(None, table, row_id, "link missing")
    return None


def verify(*, progress: Callable[[int], None] | None = None) -> Result:
    """Recompute the chain from the live rows, in order; stop at the first break.

    One content-function call (an index lookup or two) per link, streamed from a
    server-side cursor; then one anti-join per chained table for rows with no link.
    ``progress(links)`` is called every ``PROGRESS_LINKS`` links."""
    previous, expected = GENESIS, 1
    for position, table, row_id, content_hash, previous_hash, digest, live_hash in _links():
        if position != expected or previous_hash != previous:
            return Result(expected - 1, previous, Break(position, table, row_id, "link missing"))
        if live_hash is None:
            return Result(expected - 1, previous, Break(position, table, row_id, "row missing"))
        if live_hash != content_hash:
            return Result(expected - 1, previous, Break(position, table, row_id, "content changed"))
        if link_hash(previous_hash, content_hash) != digest:
            return Result(expected - 1, previous, Break(position, table, row_id, "link changed"))
        previous, expected = digest, expected + 1
        if progress and position % PROGRESS_LINKS == 0:
            progress(position)
    return Result(expected - 1, previous, _unchained())
