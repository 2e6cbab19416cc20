import pytest
from django.test import override_settings
from django.utils import translation

from camp.roles import Role
from tests.factories import SiteFactory, UserFactory, login_verified


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Factories give every staff member a password; a deliberately slow hash only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def english_interface():
    """The suite reads the English texts, also in fixtures shared by a module; the
    factories' staff speak English too (tests/camp/test_language.py and
    test_translations.py cover the Ukrainian default)."""
    with override_settings(LANGUAGE_CODE="en"):
        yield


@pytest.fixture(autouse=True)
def default_language():
    """A request leaves its language active in the thread (streamed files are written
    after the view returns); each test starts from the default again."""
    translation.deactivate()


@pytest.fixture(autouse=True)
def application_history_context(request):
    """Each test's transaction is one history context, as a request or a command is in the
    application (camp.history): rows the factories write are then not taken for changes
    made outside the application, each with an audit entry of its own. A request in the
    test still gets its own context from the middleware. Tests of what happens outside
    the application open their own connections."""
    if "db" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', gen_random_uuid()::text, true),"
            " set_config('pghistory.context_metadata', '{\"test\": true}', true)"
        )
    yield


@pytest.fixture(scope="session", autouse=True)
def flush_past_append_only_triggers():
    """Transactional tests end with Django's flush, one TRUNCATE of every table, which the
    append-only tables refuse (camp.triggers). The test database's superuser flushes with
    ``session_replication_role = replica``, under which ordinary triggers do not fire; a
    role that is not a superuser cannot set it."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    execute_sql_flush = DatabaseOperations.execute_sql_flush

    def flush(self, sql_list):
        execute_sql_flush(self, ["SET LOCAL session_replication_role = replica", *sql_list])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", flush)
        yield


@pytest.fixture
def site(db):
    return SiteFactory(name="North camp", code="NC")


@pytest.fixture
def other_site(db):
    return SiteFactory(name="South camp", code="SC")


@pytest.fixture
def guard(site):
    return UserFactory(username="guard", role=Role.GUARD, sites=[site])


@pytest.fixture
def supervisor(site):
    return UserFactory(username="supervisor", role=Role.SUPERVISOR, sites=[site])


@pytest.fixture
def administrator(site):
    return UserFactory(username="administrator", role=Role.ADMINISTRATOR, sites=[site])


@pytest.fixture
def no_role_user(site):
    return UserFactory(username="norole", sites=[site])


def _client_for(client_class, user):
    client = client_class()
    client.force_login(user)
    return client


def _verified_client_for(client_class, user):
    """Supervisors and administrators work only in sessions that passed two-factor log-in."""
    return login_verified(client_class(), user)


@pytest.fixture
def guard_client(guard, client_class):
    return _client_for(client_class, guard)


@pytest.fixture
def supervisor_client(supervisor, client_class):
    return _verified_client_for(client_class, supervisor)


@pytest.fixture
def administrator_client(administrator, client_class):
    return _verified_client_for(client_class, administrator)


@pytest.fixture
def client_class():
    from django.test import Client

    return Client


@pytest.fixture
def role_clients(guard_client, supervisor_client, administrator_client):
    return {
        Role.GUARD: guard_client,
        Role.SUPERVISOR: supervisor_client,
        Role.ADMINISTRATOR: administrator_client,
    }
