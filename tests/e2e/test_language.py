"""The interface language in a real browser: Ukrainian by default, whatever the browser
prefers; switched to English from the navigation, it stays English from page to page,
after a reload and at another computer, because the choice is kept on the account; the
log-in page has the switch too and remembers it in the browser."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from camp.roles import Role
from tests.e2e.browser import log_in
from tests.factories import SiteFactory, UserFactory


@pytest.fixture(autouse=True)
def ukrainian_default(settings):
    """The project's own default, which the rest of the suite sets to English."""
    settings.LANGUAGE_CODE = "uk"


@pytest.fixture
def guard(live_server):
    site = SiteFactory(name="North camp", code="NC")
    return UserFactory(username="guard", role=Role.GUARD, sites=[site], language="uk")


def switch(page, language_name: str):
    """The button of the language switch (a form named "Interface language", in either
    language) that asks for ``language_name``, as the language calls itself."""
    form = page.get_by_role("form", name=re.compile("^(Interface language|Мова інтерфейсу)$"))
    return form.get_by_role("button", name=language_name, exact=True)


def speaks(page, language: str):
    expect(page.locator("html")).to_have_attribute("lang", language)


def test_ukrainian_by_default_english_on_request_and_it_stays(new_page, guard):
    # A browser that prefers English still gets the Ukrainian log-in page.
    page = new_page(locale="en-GB", extra_http_headers={"Accept-Language": "en-GB,en;q=0.9"})
    page.goto("/")
    speaks(page, "uk")
    expect(page.get_by_role("heading", name="Журнал табору")).to_be_visible()
    expect(page.get_by_role("button", name="Увійти")).to_be_visible()
    log_in(page, guard)
    expect(page).to_have_url(re.compile(r"/desk/$"))
    speaks(page, "uk")
    navigation = page.get_by_role("navigation", name="Головна навігація")
    expect(navigation.get_by_role("link", name="Пульт", exact=True)).to_be_visible()
    expect(navigation.get_by_role("button", name="Вийти")).to_be_visible()
    ukrainian = switch(navigation, "Українська")
    expect(ukrainian).to_be_disabled()
    expect(ukrainian).to_have_attribute("aria-pressed", "true")

    switch(navigation, "English").click()

    expect(page).to_have_url(re.compile(r"/desk/$"))  # Back on the page it was switched on.
    speaks(page, "en")
    expect(page.get_by_role("status").first).to_have_text("Interface language: English.")
    navigation = page.get_by_role("navigation", name="Main navigation")
    expect(navigation.get_by_role("link", name="Desk", exact=True)).to_be_visible()
    navigation.get_by_role("link", name="Prisoners", exact=True).click()
    expect(page.get_by_role("heading", name="Prisoners", exact=True)).to_be_visible()
    speaks(page, "en")
    page.reload()
    speaks(page, "en")
    guard.refresh_from_db()
    assert guard.language == "en"

    # Another computer, without the first one's cookie: English follows the account.
    elsewhere = new_page()
    elsewhere.goto(reverse("login"))
    speaks(elsewhere, "uk")
    log_in(elsewhere, guard)
    speaks(elsewhere, "en")
    expect(elsewhere.get_by_role("link", name="Logbook", exact=True)).to_be_visible()

    # And back to Ukrainian from any page.
    switch(page, "Українська").click()
    speaks(page, "uk")
    expect(page.get_by_role("heading", name="Військовополонені", exact=True)).to_be_visible()
    guard.refresh_from_db()
    assert guard.language == "uk"


def test_the_log_in_page_switches_and_remembers_it_in_the_browser(page, live_server):
    page.goto(reverse("login"))
    speaks(page, "uk")

    switch(page, "English").click()

    speaks(page, "en")
    expect(page.get_by_role("heading", name="Camp logbook")).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(switch(page, "English")).to_be_disabled()
    page.goto("/")  # To the log-in page again, by way of the start page.
    speaks(page, "en")
    expect(page.get_by_label("Username")).to_be_visible()
