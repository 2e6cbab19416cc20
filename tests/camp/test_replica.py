"""Reading reports from a replica: the router, the settings, and a report page whose reads
go to the "replica" alias while writes stay on the primary.

The replica here is the test database itself under a second alias, added for this
module (as ``DATABASE_REPLICA_URL`` would, with ``TEST: {"MIRROR": "default"}``).
"""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from camp import routers
from camp.models import Site
from camp.roles import Role
from camp.routers import (
    REPLICA,
    ReplicaRouter,
    connection_for_reads,
    reading_from_replica,
    streamed_from_replica,
)
from camp.settings import envdatabase
from prisoners.models import Prisoner
from tests.factories import PrisonerFactory, SiteFactory, UserFactory, login_verified

ROOT = Path(__file__).resolve().parents[2]
BOTH = ["default", REPLICA]


@pytest.fixture(scope="module")
def replica(django_db_setup):
    """A "replica" alias on the test database, for this module's tests."""
    primary = connections["default"].settings_dict
    connections.settings[REPLICA] = {
        **primary,
        "TEST": {**primary["TEST"], "MIRROR": "default"},
    }
    yield REPLICA
    connections[REPLICA].close()
    with contextlib.suppress(AttributeError):  # never opened in this thread
        del connections[REPLICA]
    del connections.settings[REPLICA]


def _sql(queries) -> str:
    return "\n".join(query["sql"] for query in queries.captured_queries)


# --- The router -----------------------------------------------------------------------


def test_reads_stay_on_the_primary_outside_the_block(replica):
    assert ReplicaRouter().db_for_read(Site) == DEFAULT_DB_ALIAS


def test_reads_inside_the_block_go_to_the_replica(replica):
    router = ReplicaRouter()
    with reading_from_replica():
        assert router.db_for_read(Site) == REPLICA
        with reading_from_replica():
            assert router.db_for_read(Site) == REPLICA
        assert router.db_for_read(Site) == REPLICA
    assert router.db_for_read(Site) == DEFAULT_DB_ALIAS


def test_reads_stay_on_the_primary_when_no_replica_is_configured(monkeypatch):
    monkeypatch.setattr(routers, "replica_configured", lambda: False)
    with reading_from_replica():
        assert ReplicaRouter().db_for_read(Site) == DEFAULT_DB_ALIAS
        assert connection_for_reads().alias == DEFAULT_DB_ALIAS


def test_writes_always_go_to_the_primary(replica):
    with reading_from_replica():
        assert ReplicaRouter().db_for_write(Site) == DEFAULT_DB_ALIAS


def test_only_the_primary_is_migrated():
    router = ReplicaRouter()
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "calls")
    assert not router.allow_migrate(REPLICA, "calls")


def test_raw_sql_can_ask_for_the_connection_to_read_from(replica):
    assert connection_for_reads().alias == DEFAULT_DB_ALIAS
    with reading_from_replica():
        assert connection_for_reads().alias == REPLICA


def test_a_streamed_body_reads_from_the_replica_only_while_it_steps(replica):
    seen = []

    def body():
        for _ in range(2):
            seen.append(ReplicaRouter().db_for_read(Site))
            yield "chunk"

    for _chunk in streamed_from_replica(body()):
        # Between steps (the server writing the chunk) reads are on the primary.
        seen.append(ReplicaRouter().db_for_read(Site))
    assert seen == [REPLICA, DEFAULT_DB_ALIAS, REPLICA, DEFAULT_DB_ALIAS]


def test_the_block_is_per_thread():
    import threading

    seen = []
    with reading_from_replica():
        thread = threading.Thread(target=lambda: seen.append(routers._reading_from_replica.get()))
        thread.start()
        thread.join()
    assert seen == [False]


# --- Settings -------------------------------------------------------------------------


def test_replica_url_is_optional(monkeypatch):
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    assert envdatabase("DATABASE_REPLICA_URL") is None


@pytest.mark.parametrize("value", ["not a url", "postgres://user@host:port/db"])
def test_a_malformed_replica_url_stops_start_up(monkeypatch, value):
    monkeypatch.setenv("DATABASE_REPLICA_URL", value)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL is malformed"):
        envdatabase("DATABASE_REPLICA_URL")


def test_a_replica_must_be_postgresql(monkeypatch):
    monkeypatch.setenv("DATABASE_REPLICA_URL", "mysql://user@host/camp")
    with pytest.raises(ImproperlyConfigured, match="must point to PostgreSQL"):
        envdatabase("DATABASE_REPLICA_URL")


def test_settings_add_the_replica_with_the_primarys_connection_options():
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://camp@primary:5432/camp",
        "DATABASE_REPLICA_URL": "postgres://camp@standby:5432/camp",
        "CONN_MAX_AGE": "120",
        "DJANGO_SETTINGS_MODULE": "camp.settings",
    }
    script = (
        "from django.conf import settings as s; r = s.DATABASES['replica']; "
        "print(r['HOST'], r['CONN_MAX_AGE'], r['CONN_HEALTH_CHECKS'], r['TEST']['MIRROR'], "
        "s.DATABASE_ROUTERS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=4) == [
        "standby",
        "120",
        "True",
        "default",
        "['camp.routers.ReplicaRouter']\n",
    ]


# --- Reports on the replica -----------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_a_report_page_reads_from_the_replica(replica, client):
    # Committed (a transactional test), so the replica's own connection sees it.
    site = SiteFactory(name="North camp", code="NC")
    supervisor = UserFactory(username="supervisor", role=Role.SUPERVISOR, sites=[site])
    login_verified(client, supervisor)
    # Arrived 2026-01-10, no letters or cards since: below the minimum in February.
    prisoner = PrisonerFactory(site=site, status=Prisoner.Status.INTERNED)
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get(reverse("reports:geneva"), {"month": "2026-02"})
    assert response.status_code == 200
    assert prisoner.isn in response.content.decode()
    assert "prisoners_prisoner" in _sql(on_replica)
    assert "letters_sentmail" in _sql(on_replica)
    # The primary answers only what the middleware and the role check ask (the session,
    # the user, their first site, their roles); the report's own reads are not there.
    assert "prisoners_prisoner" not in _sql(on_primary)
    assert "letters_sentmail" not in _sql(on_primary)


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_writes_inside_the_block_stay_on_the_primary(replica):
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
        reading_from_replica(),
    ):
        site = Site.objects.create(name="East camp", code="EC")
        site.name = "East camp 2"
        site.save()
        assert Site.objects.filter(code="EC").count() == 1
    assert "INSERT" in _sql(on_primary)
    assert "UPDATE" in _sql(on_primary)
    assert "INSERT" not in _sql(on_replica)
    assert "UPDATE" not in _sql(on_replica)
    assert "COUNT" in _sql(on_replica)


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_an_object_read_from_the_replica_does_not_keep_later_reads_there(replica):
    site = SiteFactory(name="West camp", code="WC")
    PrisonerFactory(site=site)
    with reading_from_replica():
        from_replica = Site.objects.get(pk=site.pk)
    assert from_replica._state.db == REPLICA
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert from_replica.prisoners.count() == 1
    assert on_replica.captured_queries == []
