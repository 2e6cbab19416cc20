"""Backups of the camp's database with PostgreSQL's own tools, and their restore.

A backup is ``pg_dump --format=custom`` of the database the application uses: the
whole logbook, the register of letters, their amendments, the audit log and the hash
chain over them, as of one snapshot. It is restored with ``pg_restore`` into a fresh
database only, in one transaction, and the chain is then verified there
(``manage.py verify_logbook``), so a restore either reproduces the record as it was
or says where it differs.

``pg_dump`` must be at least as new as the server it dumps, and ``pg_restore`` must
read what that ``pg_dump`` wrote. Both come from the newest PostgreSQL found: the
binaries shipped in the ``pgserver`` wheel (always installed) or the system's
(``postgresql-client``).
"""

import datetime
import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import dj_database_url
import psycopg
from django.conf import settings
from django.utils.translation import gettext as _
from psycopg import sql
from psycopg.conninfo import make_conninfo

BACKUP_DIR = settings.BASE_DIR / "var" / "backups"
# A database of the camp has this table, the hash chain that verify_logbook checks.
CHAIN_TABLE = "camp_chainlink"
# Seconds a tool may take to print its version.
VERSION_TIMEOUT = 10
VERSION = re.compile(r"\(PostgreSQL\) (\d+)")
# Django's connection OPTIONS that are not libpq keywords are the driver's own.
LIBPQ_KEYWORDS = frozenset(
    default.keyword.decode() for default in psycopg.pq.Conninfo.get_defaults()
)


class BackupError(Exception):
    """A backup or restore could not be made; the message says why, for the operator."""


@dataclass(frozen=True)
class Program:
    path: Path
    major: int


def _bin_dirs() -> list[Path]:
    """Folders that may hold PostgreSQL's programs: the pgserver wheel's and the system's
    (Debian's /usr/lib/postgresql/<version>/bin)."""
    dirs = []
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        dirs.append(Path(spec.submodule_search_locations[0]) / "pginstall" / "bin")
    dirs.extend(Path("/usr/lib/postgresql").glob("*/bin"))
    return dirs


def _major_version(path: Path) -> int | None:
    try:
        result = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = VERSION.search(result.stdout)
    return int(found[1]) if result.returncode == 0 and found else None


def newest_program(name: str) -> Program:
    """The newest working ``name`` (``pg_dump``, ``pg_restore``, ``postgres``) among the
    pgserver wheel's binaries, the system's versions in /usr/lib/postgresql and the one on PATH.
    Runs each candidate once to read its version."""
    paths = [folder / name for folder in _bin_dirs()]
    if on_path := shutil.which(name):
        paths.append(Path(on_path))
    found = []
    for path in dict.fromkeys(path.resolve() for path in paths if path.exists()):
        major = _major_version(path)
        if major is not None:
            found.append(Program(path, major))
    if not found:
        raise BackupError(
            _(
                "No working %(program)s was found: install the PostgreSQL client tools "
                "(postgresql-client) or reinstall the project (its pgserver wheel ships them)."
            )
            % {"program": name}
        )
    return max(found, key=lambda program: program.major)


def program_for(name: str, *, server_major: int) -> Program:
    """``newest_program(name)``, refused when older than the server it is to work with."""
    program = newest_program(name)
    if program.major < server_major:
        raise BackupError(
            _(
                "%(program)s is PostgreSQL %(version)d, older than the server (%(server)d): "
                "install postgresql-client-%(server)d."
            )
            % {"program": program.path, "version": program.major, "server": server_major}
        )
    return program


def _conninfo(database: dict) -> tuple[str, dict[str, str]]:
    """libpq connection string of a Django database, and the environment carrying its
    password (kept off the command line, where other users could read it)."""
    options = {
        key: value
        for key, value in database.get("OPTIONS", {}).items()
        if key in LIBPQ_KEYWORDS and key != "password"
    }
    conninfo = make_conninfo(
        host=database.get("HOST") or None,
        port=str(database["PORT"]) if database.get("PORT") else None,
        user=database.get("USER") or None,
        dbname=database["NAME"],
        **options,
    )
    env = dict(os.environ)
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    return conninfo, env


def _run(command: list, env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(
            _("%(program)s failed:\n%(error)s")
            % {"program": Path(command[0]).name, "error": result.stderr.strip()}
        )


def default_path(now: datetime.datetime | None = None) -> Path:
    """var/backups/camp-<UTC time>.dump"""
    now = now or datetime.datetime.now(datetime.UTC)
    return BACKUP_DIR / f"camp-{now:%Y%m%dT%H%M%SZ}.dump"


def dump(database: dict, *, server_major: int, path: Path) -> None:
    """Write a custom-format dump of ``database`` (a Django database) to ``path``.

    The file appears under its name only once complete: a failed dump leaves none.
    """
    program = program_for("pg_dump", server_major=server_major)
    conninfo, env = _conninfo(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial")
    try:
        _run(
            [
                program.path,
                "--format=custom",
                "--no-password",
                f"--file={partial}",
                f"--dbname={conninfo}",
            ],
            env,
        )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def parse_url(url: str) -> dict:
    """The Django database of a ``postgres://`` URL."""
    try:
        database = dj_database_url.parse(url)
    except ValueError as error:
        raise BackupError(
            _("The database URL is malformed: %(error)s") % {"error": error}
        ) from None
    if database["ENGINE"] != "django.db.backends.postgresql" or not database["NAME"]:
        raise BackupError(_("The database URL must name a PostgreSQL database."))
    return database


def _connect(database: dict) -> psycopg.Connection:
    conninfo, env = _conninfo(database)
    return psycopg.connect(
        conninfo, password=env.get("PGPASSWORD"), autocommit=True, connect_timeout=10
    )


def _where(database: dict) -> dict[str, str]:
    """The name and the server of ``database``, for messages."""
    host = database.get("HOST") or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return {"name": database["NAME"], "host": f"{host}{port}"}


def prepare_fresh_database(database: dict) -> int:
    """Create ``database`` on its server if it does not exist; refuse one that holds
    tables. Returns the server's major version. Creating it needs the right to connect
    to the server's ``postgres`` database and to create databases."""
    try:
        with _connect(database) as conn:
            tables = conn.execute(
                """SELECT count(*) FROM pg_class AS c
                   JOIN pg_namespace AS n ON n.oid = c.relnamespace
                   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
                     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                     AND n.nspname NOT LIKE 'pg\\_toast%'"""
            ).fetchone()[0]
            if tables:
                raise BackupError(
                    _(
                        "The database “%(name)s” at %(host)s already holds %(count)d tables "
                        "or sequences: restore only into a new, empty database."
                    )
                    % {**_where(database), "count": tables}
                )
            return conn.info.server_version // 10000
    except psycopg.OperationalError as error:
        # libpq gives no SQLSTATE for a refused connection: a missing database is told
        # apart by asking the server's own database.
        refused = error
    cannot_connect = BackupError(
        _("Cannot connect to the database “%(name)s” at %(host)s: %(error)s")
        % {**_where(database), "error": refused}
    )
    try:
        maintenance = _connect({**database, "NAME": "postgres"})
    except psycopg.Error:
        raise cannot_connect from None
    with maintenance:
        exists = maintenance.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]]
        ).fetchone()
        if exists:
            raise cannot_connect
        try:
            # template0: a database with nothing added to it, as pg_restore expects.
            maintenance.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
                    sql.Identifier(database["NAME"])
                )
            )
        except psycopg.Error as error:
            raise BackupError(
                _("Cannot create the database “%(name)s” at %(host)s: %(error)s")
                % {**_where(database), "error": error}
            ) from None
        return maintenance.info.server_version // 10000


def restore(path: Path, database: dict) -> None:
    """Restore the dump at ``path`` into ``database``, which must be new or empty.

    One transaction: a restore that fails part-way leaves the database empty. Objects are
    owned by the role restoring them and carry no grants: run ``grant_app_role`` again.
    """
    if not path.is_file():
        raise BackupError(_("No backup file at %(path)s.") % {"path": path})
    program = program_for("pg_restore", server_major=prepare_fresh_database(database))
    conninfo, env = _conninfo(database)
    _run(
        [
            program.path,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={conninfo}",
            path,
        ],
        env,
    )
    with _connect(database) as conn:
        (chained,) = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [CHAIN_TABLE]).fetchone()
    if not chained:
        raise BackupError(
            _("%(path)s holds no logbook (no table %(table)s): it is not a backup of the camp.")
            % {"path": path, "table": CHAIN_TABLE}
        )
