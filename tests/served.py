"""The app served by gunicorn as in production, for the tests and benchmarks that need
a real server (``DEBUG=0`` and the rest come from the environment they pass)."""

import contextlib
import http.cookiejar
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def database_url(database: dict) -> str:
    """DATABASE_URL of a Django database, also when HOST is a socket folder (the
    embedded server), for a server in another process."""

    def part(value) -> str:
        return urllib.parse.quote(str(value), safe="")

    credentials = part(database["USER"])
    if database["PASSWORD"]:
        credentials += f":{part(database['PASSWORD'])}"
    port = f":{database['PORT']}" if database["PORT"] else ""
    return f"postgres://{credentials}@{part(database['HOST'])}{port}/{part(database['NAME'])}"


class ServerFailed(RuntimeError):
    """gunicorn exited, or did not answer /healthz with 200 in time; with its log."""


@contextlib.contextmanager
def served(
    *,
    env: dict[str, str] | None,
    log_path: Path,
    options: Sequence[str] = (),
    wait: float = 30,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """gunicorn with ``options`` on a free loopback port, its output in ``log_path``:
    yields the base URL and the process once /healthz answers 200, and always stops it.

    The port is bound here and handed over, so no other process can take it in between.
    ``env``: the server's environment (None: this process's).
    """
    with socket.create_server(("127.0.0.1", 0)) as listener, log_path.open("w") as log:
        base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "camp.wsgi",
                f"--bind=fd://{listener.fileno()}",
                *options,
            ],
            cwd=ROOT,
            env=env,
            pass_fds=[listener.fileno()],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(base_url, server, log_path, wait)
        yield base_url, server
    finally:
        # Quick shutdown: a graceful one (SIGTERM) waits out the idle worker's poll timeout.
        server.send_signal(signal.SIGQUIT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_healthy(
    base_url: str, server: subprocess.Popen, log_path: Path, wait: float
) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServerFailed(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1):
                return
        except urllib.error.HTTPError as error:
            raise ServerFailed(f"/healthz answered {error.code}:\n{log_path.read_text()}") from None
        except OSError:  # Still starting.
            time.sleep(0.1)
    raise ServerFailed(f"gunicorn did not answer /healthz with 200:\n{log_path.read_text()}")


def behind_the_proxy() -> urllib.request.OpenerDirector:
    """A client as a browser behind the camp's TLS proxy looks to the app: it keeps the
    cookies, which are Secure with ``DEBUG=0``, over the app's plain HTTP; it says, as
    the proxy does, that the browser spoke HTTPS (``SECURE_PROXY_SSL_HEADER``: plain
    HTTP is redirected); and it sends the Origin a browser sends with a form, which the
    CSRF guard checks over HTTPS."""
    policy = http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar(policy)),
        _BehindTheProxy(),
    )


class _BehindTheProxy(urllib.request.BaseHandler):
    def http_request(self, request):
        request.add_unredirected_header("X-Forwarded-Proto", "https")
        if request.data is not None:
            request.add_unredirected_header("Origin", f"https://{request.host}")
        return request
