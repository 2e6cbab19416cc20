"""Production start-up: DEBUG=0, static files collected by `make bootstrap`, check --deploy."""

import logging
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.conf import global_settings
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.utils import get_random_secret_key
from django.db import connection
from django.urls import reverse

from camp.roles import Role
from tests.factories import SiteFactory, UserFactory
from tests.served import behind_the_proxy, database_url, served

ROOT = django_settings.BASE_DIR
PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
PASSWORD = "correct horse battery staple"


def test_healthz_fails_until_static_files_are_collected_for_production(
    client, db, settings, tmp_path, caplog
):
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    settings.STATIC_ROOT = tmp_path

    with caplog.at_level(logging.ERROR, logger="camp.views"):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.content == b"unavailable"
    assert "manifest" in caplog.text

    call_command("collectstatic", "--noinput", verbosity=0)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"


def _run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


@pytest.fixture
def production_server(django_db_serialized_rollback, transactional_db, tmp_path):
    """Bootstrap as `make bootstrap` does, check --deploy, then serve with gunicorn and DEBUG=0.

    Yields the base URL. The server uses the test database, so it sees what the test
    commits; it is always terminated.
    """
    inherited = {"SECRET_KEY_FILE", "GUNICORN_CMD_ARGS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    env = {key: value for key, value in os.environ.items() if key not in inherited}
    env |= {
        "DATABASE_URL": database_url(connection.settings_dict),
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
        "SECRET_KEY": get_random_secret_key(),
        "ALLOWED_HOSTS": "127.0.0.1",
        # Nothing keeps a connection to the test database open once a request is done.
        "CONN_MAX_AGE": "0",
    }
    # The bootstrap of `make run`, with DEBUG on, in the interpreter running these tests;
    # `-o` keeps make from reinstalling the venv.
    bootstrap = ["make", "--no-print-directory", "-o", ".venv/.installed", "bootstrap"]
    _run([*bootstrap, f"MANAGE={sys.executable} manage.py"], env | {"DEBUG": "1"})
    env["DEBUG"] = "0"
    output = _run([sys.executable, "manage.py", "check", "--deploy"], env)
    assert re.findall(r"\((\w+\.[A-Z]\d+)\)", output) == [], output

    with served(env=env, log_path=tmp_path / "gunicorn.log") as (base_url, _server):
        yield base_url


def test_production_start_up_serves_a_logged_in_page(production_server, settings):
    # The server checks passwords with Django's default hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    site = SiteFactory(name="North camp", code="NC")
    UserFactory(username="supervisor", role=Role.SUPERVISOR, sites=[site], password=PASSWORD)
    browser = behind_the_proxy()

    with browser.open(f"{production_server}{reverse('login')}", timeout=10) as response:
        login_page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page)
    assert token, login_page
    form = {"csrfmiddlewaretoken": token[1], "username": "supervisor", "password": PASSWORD}
    with browser.open(
        f"{production_server}{reverse('login')}",
        data=urllib.parse.urlencode(form).encode(),
        timeout=10,
    ) as response:
        assert response.status == 200
        # Supervisors set up two-factor log-in before anything else (camp.two_factor).
        assert response.url == f"{production_server}{reverse('two_factor:setup')}?next=%2F"
        page = response.read().decode()
        assert "<svg" in page

    favicon = re.search(r'href="(/static/img/favicon\.[0-9a-f]{12}\.svg)"', page)
    assert favicon, page
    with browser.open(f"{production_server}{favicon[1]}", timeout=10) as response:
        assert response.status == 200
        assert "immutable" in response.headers["Cache-Control"]
