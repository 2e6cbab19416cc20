"""Browser tests: the pages in headless Chromium, driven by Playwright, against the app as
pytest-django's ``live_server`` serves it (a real server thread on localhost, with the
static files, on a transactional database).

Chromium is Debian's package (/usr/bin/chromium; ``.ci/run`` installs it when missing);
Playwright's own browser downloads are never used. Every test under tests/e2e is marked
``e2e``: ``pytest -m e2e`` runs them alone, ``pytest -m "not e2e"`` leaves them out.

Fixtures: ``browser`` (one Chromium for the package), ``new_page`` (a fresh browser
context, with its own cookies, and a page in it; any number per test), ``page`` (one
1024×768 page). Pages fail their test on any JavaScript error or console error, which is
where a Content-Security-Policy violation shows. Helpers to log in and take screenshots
are in ``tests/e2e/browser.py``.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machines' network is closed: no background calls home, no updates, no sync.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Milliseconds a step may take before the test fails: the pages answer in tens of them.
TIMEOUT = 5_000


def pytest_collection_modifyitems(items):
    """Mark every test here ``e2e``, on a transactional database (the live server's thread
    must see the test's rows) that is put back as it was after the test, as the suite's
    other transactional tests do: a plain flush would let Django recreate its content
    types, which the next of those tests restores again.

    They run last: after them, the database of the suite's other transactional tests
    has been seen to hold content types again when those restore theirs."""
    here = Path(__file__).parent
    browser_tests = []
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
            browser_tests.append(item)
    items[:] = [item for item in items if item not in browser_tests] + browser_tests


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's package (apt-get install chromium).")
    # Playwright's synchronous API runs an event loop in this thread, under which Django
    # refuses database queries as "async unsafe"; the tests' own queries are synchronous.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            expect.set_options(timeout=TIMEOUT)
            yield chromium
            chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """``new_page(width=1024, height=768, **context_options)``: a page in a new browser
    context (a separate browser profile: its own cookies, so its own log-in), its relative
    URLs on the live server. Closed after the test."""
    contexts, problems = [], []

    def make(*, width: int = 1024, height: int = 768, **options):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            timezone_id="Europe/Kyiv",
            **options,
        )
        context.set_default_timeout(TIMEOUT)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, problems


@pytest.fixture
def page(new_page):
    return new_page()
