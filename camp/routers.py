"""Which database a query goes to.

Everything reads from and writes to the primary (``default``), except the reads that
code makes inside ``reading_from_replica()`` while a ``replica`` database is
configured (``DATABASE_REPLICA_URL``): the reports and the large exports, which can
bear a replica's few seconds of lag and would otherwise load the primary the desk
depends on. A replica is read-only, so writes always go to the primary, also inside
the block (an export's audit entry, for one).
"""

import contextlib
import contextvars
import functools
from collections.abc import Iterable, Iterator

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

_reading_from_replica = contextvars.ContextVar("reading_from_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


@contextlib.contextmanager
def reading_from_replica() -> Iterator[None]:
    """Send the ORM's reads in this block (this thread or task only) to the replica,
    when one is configured; without one they stay on the primary.

    Wrap only reads that tolerate lag and do not follow a write of the same request:
    a replica may not yet have the row just written. A streamed response runs its
    generator after the view returns, so wrap the reads inside the generator. Raw SQL
    follows only if its cursor comes from ``connection_for_reads()``.
    """
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


def _read_alias() -> str:
    if _reading_from_replica.get() and replica_configured():
        return REPLICA
    return DEFAULT_DB_ALIAS


def connection_for_reads():
    """The connection the ORM reads from here, for raw SQL: the replica inside
    ``reading_from_replica()`` when one is configured, otherwise the primary.
    (``django.db.connection`` is always the primary.)"""
    return connections[_read_alias()]


def reads_from_replica(view):
    """Run a read-only view inside ``reading_from_replica()``; its template is rendered
    there too. A streamed body runs later: pass it through ``streamed_from_replica``."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with reading_from_replica():
            return view(*args, **kwargs)

    return wrapper


def streamed_from_replica(items: Iterable) -> Iterator:
    """``items`` (a generator of a streamed response, say) with each step's reads on the
    replica. The block is entered around each step, not across the yields, so nothing
    that runs between two steps (the server writing the chunk) reads from the replica."""
    iterator = iter(items)
    while True:
        with reading_from_replica():
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


class ReplicaRouter:
    """Reads inside ``reading_from_replica()`` go to the replica; all else to the primary.

    Outside the block reads name the primary explicitly, so that an object read from the
    replica does not drag its related objects' later reads there too.
    """

    def db_for_read(self, model, **hints):
        return _read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the same rows as the primary.
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA, None}

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A streaming replica follows the primary's schema; it cannot be migrated itself.
        return db == DEFAULT_DB_ALIAS
