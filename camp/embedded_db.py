"""The embedded PostgreSQL server used when ``DATABASE_URL`` is not set.

The server comes from the ``pgserver`` wheel and keeps its data in ``var/pgdata``
inside the checkout. It outlives the process that started it, so ``make run``,
``manage.py`` and the test suite all share one server; ``make db-stop`` stops it.

``python -m camp.embedded_db stop`` stops the server; ``status`` prints whether it runs.
"""

import contextlib
import os
import sys
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = ROOT / "var"
DATA_DIR = VAR_DIR / "pgdata"
# pgserver serialises start-up with a lock file in $XDG_RUNTIME_DIR; every process
# of the project must see the same folder or two of them may start two servers.
RUNTIME_DIR = VAR_DIR / "run"
DATABASE_NAME = "camp"


def _pgserver():
    RUNTIME_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(RUNTIME_DIR)
    # Imported late: pgserver reads XDG_RUNTIME_DIR when its module is loaded.
    import pgserver

    return pgserver


def database_settings() -> dict:
    """Start (or reuse) the embedded server and return Django ``DATABASES['default']``.

    A server left running by a killed process is reused; a stale ``postmaster.pid``
    from a crashed one is replaced by a fresh start.
    """
    pgserver = _pgserver()
    # Created here, not by pgserver: two processes creating it at once race otherwise.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with pgserver.PostgresServer._lock:
        remove_stale_pid_file(DATA_DIR)
    server = pgserver.get_server(DATA_DIR, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    _ensure_database(str(socket_dir))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": str(socket_dir),
    }


def remove_stale_pid_file(data_dir: Path) -> None:
    """Delete a postmaster.pid whose process is gone, a zombie, or not PostgreSQL any more.

    pgserver trusts any live process with the recorded pid, so a server killed a
    moment ago (still a zombie) or a pid reused by another program would be
    taken for a running server and never restarted.
    """
    import psutil

    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return
    try:
        process = psutil.Process(pid)
        alive = process.status() != psutil.STATUS_ZOMBIE and process.name() == "postgres"
    except psutil.Error:
        alive = False
    if not alive:
        # The socket lock names the same dead pid and would block the new server.
        for lock in data_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)
        pid_file.unlink(missing_ok=True)


def _ensure_database(host: str) -> None:
    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if exists:
            return
        # Another process may create it a moment before us.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))


def stop() -> bool:
    """Stop the embedded server; return False when it was not running."""
    pgserver = _pgserver()
    from pgserver._commands import pg_ctl
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(DATA_DIR) if DATA_DIR.exists() else None
    if info is None or not info.is_running():
        return False
    user = "pgserver" if os.geteuid() == 0 else None
    with pgserver.PostgresServer._lock:
        pg_ctl(["-w", "stop"], pgdata=DATA_DIR, user=user)
    return True


def main(argv: list[str]) -> int:
    if argv[1:] == ["stop"]:
        print("Embedded PostgreSQL stopped." if stop() else "Embedded PostgreSQL was not running.")
        return 0
    if argv[1:] == ["status"]:
        settings = database_settings()
        print(f"Embedded PostgreSQL running, socket in {settings['HOST']}.")
        return 0
    print("usage: python -m camp.embedded_db {stop|status}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
