"""Tamper evidence: one hash chain over the logbook, its amendments, the register of
letters, their amendments and the audit trail (its entries and the row history).

Every final row gets one ``ChainLink``, appended by a statement trigger in the same
transaction as the row:

- an audit entry, a call amendment, a letter amendment, an event of the row
  history (``camp.history``): when inserted;
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
queues there for the moment between its first chained row and its commit. Events of
the row history are chained as their transaction commits (``PENDING_SQL``), so they
do not bring that moment forward to the first row a transaction writes.

What the chain does not show on its own: someone able to rewrite the rows AND
recompute every link after them. That is what the head is for: exports and the
printed daily page carry it (``head()``), so the ICRC holds a value the camp cannot
change; ``verify`` on a later day must reach a chain in which that head still is.
"""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
# The row history (camp.history): every event table, final when inserted. Its rows are
# the envelope, then the tracked row's columns as the chain first took them in; a column
# added to an event table later joins CHAINED_WHEN_SET, never these lists.
EVENT_ENVELOPE = [
    "pgh_id",
    "pgh_created_at",
    "pgh_label",
    "pgh_obj_id",
    "pgh_context",
    "pgh_context_id",
]
EVENT_COLUMNS = {
    "calls_airraidalertevent": ["id", "site_id", "started_at", "ended_at", "started_by_id",
                                "ended_by_id"],
    "calls_amendmentevent": ["id", "changes", "reason", "author_id", "created_at", "call_id"],
    "calls_bookingevent": ["id", "slot_id", "prisoner_id", "starts_at", "ends_at", "status",
                           "is_makeup", "override_reason", "booked_by_id", "booked_at",
                           "cancel_reason"],
    "calls_callevent": ["id", "site_id", "prisoner_id", "contact_id", "number_dialled",
                        "locality", "line_id", "booking_id", "policy_id", "started_at",
                        "deadline", "ended_at", "outcome", "language", "monitor_id", "notes",
                        "flagged", "flag_reason", "over_limit", "is_makeup",
                        "transcribed_by_id", "created_at"],
    "calls_callpolicyevent": ["id", "site_id", "effective_from", "calls_open", "max_minutes",
                              "min_days_between", "max_calls_per_month", "guards_may_book",
                              "min_letters_per_month", "min_cards_per_month", "no_news_days",
                              "note", "created_by_id", "created_at"],
    "calls_callslotevent": ["id", "line_id", "starts_at", "ends_at", "suspended_by_id"],
    "calls_lineevent": ["id", "site_id", "name", "active"],
    "calls_schedulewindowevent": ["id", "line_id", "weekday", "starts_at", "ends_at",
                                  "slot_minutes"],
    "calls_suspensionevent": ["id", "prisoner_id", "reason", "authority", "document_reference",
                              "starts_on", "ends_on", "created_by_id", "created_at"],
    "camp_exportrecordevent": ["id", "user_id", "created_at", "dataset", "format", "filters",
                               "site_codes", "reveal_reason", "row_count", "sha256",
                               "filename", "chain_head"],
    "camp_siteevent": ["id", "name", "code", "address", "time_zone"],
    "camp_userevent": ["id", "is_superuser", "username", "first_name", "last_name", "email",
                       "is_staff", "is_active", "date_joined", "language"],
    "camp_usergroupsevent": ["id", "user_id", "group_id"],
    "camp_usersitesevent": ["id", "user_id", "site_id"],
    "letters_letteramendmentevent": ["id", "changes", "reason", "author_id", "created_at",
                                     "letter_id", "is_correction"],
    "letters_letterevent": ["id", "site_id", "prisoner_id", "kind", "direction", "channel",
                            "contact_id", "correspondent_name", "correspondent_locality",
                            "reference", "written_on", "handed_in_on", "censored_on",
                            "dispatched_on", "delivered_on", "returned_on", "notes",
                            "in_error", "recorded_by_id", "created_at"],
    "prisoners_contactevent": ["id", "prisoner_id", "name", "relationship", "phone_number",
                               "city", "region", "country", "language", "status",
                               "requested_by_id", "requested_at", "decided_by_id",
                               "decided_at", "revoke_reason"],
    "prisoners_prisonerevent": ["id", "isn", "site_id", "identity", "surname", "first_names",
                                "patronymic", "alias", "surname_latin", "first_names_latin",
                                "patronymic_latin", "rank", "service_number", "date_of_birth",
                                "place_of_birth", "power_depends_on", "father_first_name",
                                "mother_maiden_name", "person_to_inform",
                                "person_to_inform_address", "captured_on", "place_of_capture",
                                "arrived_on", "housing_unit", "languages", "status",
                                "created_at"],
    "prisoners_statuschangeevent": ["id", "prisoner_id", "status", "effective_on", "note",
                                    "recorded_by_id", "recorded_at"],
}  # fmt: skip
APPEND_ONLY.update({table: [*EVENT_ENVELOPE, *columns] for table, columns in EVENT_COLUMNS.items()})
# Columns chained only when set, after the others: added to a chained table after its
# first links were made, so the rows written before (NULL there) keep their content.
CHAINED_WHEN_SET = {"camp_auditentry": ["context_id"]}
CHAINED_TABLES = [*APPEND_ONLY, "calls_call", "letters_letter"]


def key_column(table: str) -> str:
    """The column a link's ``row_id`` names: an event table's own id is ``pgh_id``
    (its ``id`` is the tracked row's)."""
    return "pgh_id" if table in EVENT_COLUMNS else "id"


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


def _when_set(table: str) -> str:
    return "".join(
        f"\n        || CASE WHEN entry.{column} IS NULL THEN ''"
        f" ELSE ',' || quote_literal(entry.{column}) END"
        for column in CHAINED_WHEN_SET.get(table, [])
    )


def _text_function_sql(table: str, columns) -> str:
    return f"""
CREATE OR REPLACE FUNCTION camp_chain_text_{table}(entry {table}) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT {_record(columns, "entry")}{_when_set(table)}
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
        RETURN (SELECT camp_chain_text_{table}(t) FROM {table} AS t
                WHERE t.{key_column(table)} = row_id);
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
    key = f"written.{key_column(table)}"
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql {OUTPUT_SETTINGS} AS $$
DECLARE
    row_ids bigint[];
    content_hashes text[];
BEGIN
    -- One set-based pass over the statement's rows for their content hashes.
    SELECT coalesce(array_agg({key} ORDER BY {key}), '{{}}'),
           coalesce(array_agg(encode(sha256(convert_to(
               {_statement_content_sql(table)}, 'UTF8')), 'hex') ORDER BY {key}), '{{}}')
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


# The row history is chained at commit: its events are written by the first statement
# of nearly every transaction, and the chain's lock, once taken, is held until commit,
# so chaining them at once would make every writer wait for the one before it from its
# first row on. Each statement's events are queued (``camp_chainpending``), and a
# deferred trigger chains each queued statement, in order, as the transaction commits.
PENDING_SQL = f"""
CREATE TABLE IF NOT EXISTS camp_chainpending (
    id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    row_ids bigint[] NOT NULL
);
CREATE OR REPLACE FUNCTION camp_chain_drain() RETURNS trigger
LANGUAGE plpgsql {OUTPUT_SETTINGS} AS $$
DECLARE
    content_hashes text[];
BEGIN
    EXECUTE format('SELECT coalesce(array_agg(encode(sha256(convert_to('
                   'camp_chain_text_%s(t), ''UTF8'')), ''hex'') ORDER BY t.pgh_id), ''{{}}'')'
                   ' FROM %I AS t WHERE t.pgh_id = ANY($1)', NEW.table_name, NEW.table_name)
    INTO content_hashes USING NEW.row_ids;
    PERFORM camp_chain_append(NEW.table_name, NEW.row_ids, content_hashes);
    DELETE FROM camp_chainpending WHERE id = NEW.id;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_camp_chainpending_insert ON camp_chainpending;
CREATE CONSTRAINT TRIGGER tamper_chain_camp_chainpending_insert
    AFTER INSERT ON camp_chainpending DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION camp_chain_drain();"""


def _queue_trigger_sql(table: str) -> str:
    name = f"tamper_chain_{table}_insert"
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT '{table}', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS {name} ON {table};
CREATE TRIGGER {name} AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();"""


def _triggers_sql() -> str:
    parts = [
        _trigger_sql(table, "INSERT", "", "NEW TABLE AS written")
        for table in [*APPEND_ONLY, "letters_letter"]
        if table not in EVENT_COLUMNS
    ]
    parts.append(PENDING_SQL)
    parts.extend(_queue_trigger_sql(table) for table in EVENT_COLUMNS)
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
        "DROP TABLE IF EXISTS camp_chainpending;",
        "DROP FUNCTION IF EXISTS camp_chain_drain();",
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


def _chain_pending() -> None:
    """Chain the row history this transaction has written so far, as its commit would:
    the chain then ends where this transaction will leave it."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS tamper_chain_camp_chainpending_insert IMMEDIATE")


def head() -> tuple[int, str]:
    """(number of links, hash of the last) — (0, 64 zeros) for an empty chain.
    One index lookup, after chaining this transaction's row history."""
    _chain_pending()
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
        values = {
            "position": self.position,
            "table": self.table,
            "row": self.row_id,
            "reason": BREAK_REASONS.get(self.reason, self.reason),
        }
        if self.position is None:
            return _("broken at unchained row: %(table)s row %(row)d (%(reason)s)") % values
        return _("broken at link %(position)d: %(table)s row %(row)d (%(reason)s)") % values


BREAK_REASONS = {
    "content changed": gettext_lazy("content changed"),
    "row missing": gettext_lazy("row missing"),
    "link missing": gettext_lazy("link missing"),
    "link changed": gettext_lazy("link changed"),
}


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
            key = key_column(table)
            cursor.execute(
                f"""SELECT min(t.{key}) FROM {table} AS t
                    WHERE NOT EXISTS (SELECT 1 FROM camp_chainlink AS l
                                      WHERE l.table_name = %s AND l.row_id = t.{key}){closed}""",
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
    _chain_pending()
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
