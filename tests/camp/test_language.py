"""The interface is Ukrainian by default; each staff member may switch to English, and the
choice stays with their account."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse

import camp.settings
from camp.models import User
from camp.roles import Role
from tests.factories import CallFactory, LineFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def ukrainian_default(settings):
    """The project's own default, which the rest of the suite sets to English."""
    settings.LANGUAGE_CODE = camp.settings.LANGUAGE_CODE


@pytest.fixture
def new_guard(site, ukrainian_default):
    """A guard created as an administrator creates one: with the model's default language."""
    user = User.objects.create_user(username="newguard", password=PASSWORD)
    user.groups.add(*UserFactory(username="template", role=Role.GUARD).groups.all())
    user.sites.add(site)
    return user


def log_in(client, username):
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content


def test_the_project_defaults_to_ukrainian():
    assert camp.settings.LANGUAGE_CODE == "uk"
    assert User._meta.get_field("language").default == "uk"


def test_log_in_page_is_ukrainian_for_an_anonymous_visitor(client, ukrainian_default):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert response["Content-Language"] == "uk"
    page = response.content.decode()
    assert '<html lang="uk">' in page
    assert "Журнал табору" in page
    assert "Camp logbook" not in page


def test_new_staff_member_gets_ukrainian_pages(client, new_guard):
    assert new_guard.language == "uk"
    log_in(client, "newguard")
    response = client.get(reverse("prisoners:prisoner-list"))
    assert response["Content-Language"] == "uk"
    assert "Військовополонені" in response.content.decode()


def test_switch_to_english_is_kept_on_the_account(client, new_guard):
    log_in(client, "newguard")
    back = reverse("prisoners:prisoner-list") + "?q=%D0%9F"
    response = client.post(reverse("language-set"), {"language": "en", "next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    new_guard.refresh_from_db()
    assert new_guard.language == "en"
    page = client.get(back).content.decode()
    assert "Interface language: English." in page
    assert "Prisoners" in page

    # Another computer, no cookie: the account still speaks English after logging in again.
    client.post(reverse("logout"))
    client.cookies.clear()
    log_in(client, "newguard")
    response = client.get(reverse("prisoners:prisoner-list"))
    assert response["Content-Language"] == "en"
    assert "Військовополонені" not in response.content.decode()


def test_switch_back_to_ukrainian(client, new_guard):
    new_guard.language = "en"
    new_guard.save()
    log_in(client, "newguard")
    response = client.post(reverse("language-set"), {"language": "uk"}, follow=True)
    new_guard.refresh_from_db()
    assert new_guard.language == "uk"
    assert "Мова інтерфейсу: Українська." in response.content.decode()


def test_anonymous_choice_is_kept_in_the_cookie(client, ukrainian_default):
    response = client.post(
        reverse("language-set"), {"language": "en", "next": reverse("login")}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("login")
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "Camp logbook" in page


def test_stored_language_wins_over_the_cookie(client, new_guard):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    log_in(client, "newguard")
    assert client.get(reverse("prisoners:prisoner-list"))["Content-Language"] == "uk"


@pytest.mark.parametrize("language", ["de", "", "uk\x00", "x" * 300])
def test_unknown_language_is_refused_and_nothing_changes(client, new_guard, language):
    log_in(client, "newguard")
    response = client.post(reverse("language-set"), {"language": language}, follow=True)
    assert response.status_code == 200
    new_guard.refresh_from_db()
    assert new_guard.language == "uk"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert "Ця мова недоступна: мову інтерфейсу не змінено." in response.content.decode()


def test_missing_language_is_refused(guard_client, guard):
    response = guard_client.post(reverse("language-set"), follow=True)
    assert response.status_code == 200
    guard.refresh_from_db()
    assert guard.language == "en"
    assert "That language is not available" in response.content.decode()


def test_next_outside_the_site_is_not_followed(guard_client):
    response = guard_client.post(
        reverse("language-set"), {"language": "uk", "next": "https://elsewhere.example/"}
    )
    assert response["Location"] == reverse("home")


def test_get_is_not_allowed(guard_client):
    assert guard_client.get(reverse("language-set")).status_code == 405


def test_switch_is_offered_in_the_navigation_and_on_the_log_in_page(client, guard_client):
    for page in (
        guard_client.get(reverse("prisoners:prisoner-list")),
        client.get(reverse("login")),
    ):
        html = page.content.decode()
        assert f'action="{reverse("language-set")}"' in html
        assert 'name="language" value="uk"' in html
        assert 'name="language" value="en"' in html


@pytest.mark.parametrize("language", ["uk", "en"])
def test_dates_and_times_have_one_format_in_both_languages(client, guard, site, language):
    """30.11.2026 14:05 on the site's clock (Kyiv, UTC+2 in winter), on a 24-hour clock."""
    guard.language = language
    guard.save()
    client.force_login(guard)
    started = datetime.datetime(2026, 11, 30, 12, 5, tzinfo=datetime.UTC)
    call = CallFactory(
        line=LineFactory(site=site),
        started_at=started,
        deadline=started + datetime.timedelta(minutes=15),
        ended_at=started + datetime.timedelta(minutes=10),
        monitor=guard,
    )
    pages = [
        client.get(reverse("calls:call-detail", args=[call.pk])).content.decode(),
        client.get(reverse("prisoners:prisoner-detail", args=[call.prisoner.pk])).content.decode(),
        client.get(reverse("calls:logbook"), {"date_from": "2026-11-30"}).content.decode(),
    ]
    assert "30.11.2026 14:05:00" in pages[0]  # started, to the second
    assert "30.11.2026 14:20" in pages[0]  # time limit
    assert "30.11.2026 14:05" in pages[1]  # recent calls
    assert "17.05.1990" in pages[1]  # date of birth
    assert "30.11.2026" in pages[2] and "14:05" in pages[2]
    for page in pages:
        for other in ("Nov. 30", "November 30", "2026-11-30 ", "p.m.", "a.m.", "листопада"):
            assert other not in page
