"""The pages of the register: who may reach them, another site's objects, and the flows."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse

from camp.models import AuditEntry
from letters import services
from letters.models import Letter, LetterAmendment
from prisoners.models import Prisoner
from tests.factories import ContactFactory, LetterFactory, PrisonerFactory, login_verified

DAY = datetime.timedelta(days=1)
STAFF = {"guard", "supervisor", "administrator"}

# (URL name, object it is about, method, roles allowed)
ROUTES = [
    ("letters:desk", None, "get", STAFF),
    ("letters:batch-record", None, "post", STAFF),
    ("letters:letter-step", None, "post", STAFF),
    ("letters:capture-card-overdue", None, "get", STAFF),
    ("letters:prisoner-register", "prisoner", "get", STAFF),
    ("letters:letter-record", "prisoner", "post", STAFF),
    ("letters:letter-detail", "letter", "get", STAFF),
    ("letters:letter-amend", "letter", "get", {"supervisor", "administrator"}),
    ("letters:letter-amend", "letter", "post", {"supervisor", "administrator"}),
]
ROUTE_IDS = [f"{method.upper()} {name.split(':')[1]}" for name, _, method, _ in ROUTES]
PEOPLE = ["anonymous", "no_role_user", "guard", "supervisor", "administrator"]


def client_for(request, who):
    client = request.getfixturevalue("client")
    if who in {"supervisor", "administrator"}:
        login_verified(client, request.getfixturevalue(who))
    elif who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    return client


def url_for(name, target, objects):
    return reverse(name) if target is None else reverse(name, args=[objects[target].pk])


@pytest.mark.parametrize(("name", "target", "method", "allowed"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("who", PEOPLE)
def test_permission_matrix(request, prisoner, other_letter, who, name, target, method, allowed):
    # The item was recorded by someone else yesterday: a guard may not amend it.
    letter = LetterFactory(prisoner=prisoner)
    client = client_for(request, who)
    response = getattr(client, method)(
        url_for(name, target, {"prisoner": prisoner, "letter": letter})
    )
    if who == "anonymous":
        assert response.status_code == 302
        assert response.url.startswith(reverse(settings.LOGIN_URL))
    elif who in allowed:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 403


INVISIBLE = [
    pytest.param(who, name, target, method, id=f"{who} {route_id}")
    for (name, target, method, allowed), route_id in zip(ROUTES, ROUTE_IDS, strict=True)
    if target is not None
    for who in sorted(allowed)
]


@pytest.mark.parametrize(("who", "name", "target", "method"), INVISIBLE)
def test_another_sites_objects_are_not_found(
    request, other_prisoner, other_letter, snapshot, who, name, target, method
):
    client = client_for(request, who)
    url = url_for(name, target, {"prisoner": other_prisoner, "letter": other_letter})
    before = snapshot()
    response = getattr(client, method)(
        url, {"kind": "card", "direction": "sent", "channel": "post", "reason": "x"}
    )
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "target"),
    [("letters:batch-record", None), ("letters:letter-step", None), ("letters:letter-record", "p")],
)
def test_mutations_are_post_only(guard_client, prisoner, name, target):
    url = reverse(name, args=[prisoner.pk]) if target else reverse(name)
    assert guard_client.get(url).status_code == 405


# --- A prisoner's register ------------------------------------------------------------


def test_guard_records_an_item_on_the_register(guard_client, guard, prisoner, contact, today):
    url = reverse("letters:letter-record", args=[prisoner.pk])
    response = guard_client.post(
        url,
        {
            "kind": "letter",
            "direction": "sent",
            "channel": "post",
            "contact": contact.pk,
            "handed_in_on": today.isoformat(),
            "written_on": (today - DAY).isoformat(),
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("letters:prisoner-register", args=[prisoner.pk])
    letter = Letter.objects.get()
    assert (letter.contact, letter.recorded_by, letter.written_on) == (contact, guard, today - DAY)
    page = guard_client.get(response.url)
    assert "Letter recorded." in page.content.decode()
    assert page.context["summary"]["letters_sent"] == 1


def test_register_form_offers_only_approved_contacts(guard_client, prisoner, contact, supervisor):
    pending = ContactFactory(
        prisoner=prisoner, status="pending", decided_by=None, decided_at=None, name="Pending one"
    )
    form = guard_client.get(reverse("letters:prisoner-register", args=[prisoner.pk])).context[
        "form"
    ]
    offered = [value for value, _label in form.fields["contact"].choices if value]
    assert offered == [contact.pk]
    response = guard_client.post(
        reverse("letters:letter-record", args=[prisoner.pk]),
        {
            "kind": "card",
            "direction": "sent",
            "channel": "post",
            "contact": pending.pk,
            "handed_in_on": prisoner.site.today().isoformat(),
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["contact"]
    assert not Letter.objects.exists()


def test_refused_item_shows_the_services_message(guard_client, prisoner, today):
    response = guard_client.post(
        reverse("letters:letter-record", args=[prisoner.pk]),
        {
            "kind": "capture_card",
            "direction": "received",
            "channel": "post",
            "handed_in_on": today.isoformat(),
        },
    )
    assert response.status_code == 200
    assert "always sent" in " ".join(response.context["form"].errors["direction"])
    assert not Letter.objects.exists()


def test_register_lists_only_the_prisoners_items(guard_client, prisoner, other_letter, site):
    mine = LetterFactory(prisoner=prisoner)
    LetterFactory(prisoner=PrisonerFactory(site=site))
    response = guard_client.get(reverse("letters:prisoner-register", args=[prisoner.pk]))
    assert [row["letter"] for row in response.context["rows"]] == [mine]


def test_guard_sees_no_name_of_a_withheld_prisoners_correspondent(
    guard_client, supervisor_client, site
):
    withheld = PrisonerFactory(
        site=site, identity=Prisoner.Identity.WITHHELD, surname="Засекреченко", first_names="Тарас"
    )
    LetterFactory(prisoner=withheld, correspondent_name="Мирослава Засекреченко")
    url = reverse("letters:prisoner-register", args=[withheld.pk])
    assert "Засекреченко" not in guard_client.get(url).content.decode()
    assert "Засекреченко" in supervisor_client.get(url).content.decode()


# --- The mail desk --------------------------------------------------------------------


def test_desk_records_a_pile_in_one_go(guard_client, site, today):
    prisoners = PrisonerFactory.create_batch(3, site=site)
    response = guard_client.post(
        reverse("letters:batch-record"),
        {
            "kind": "card",
            "direction": "sent",
            "channel": "post",
            "handed_in_on": today.isoformat(),
            "isns": "\r\n".join(p.isn.lower() for p in prisoners) + "\r\n\r\n",
        },
        follow=True,
    )
    assert "3 items recorded." in response.content.decode()
    assert Letter.objects.filter(kind="card", handed_in_on=today).count() == 3


def test_desk_batch_with_a_bad_line_writes_nothing(
    guard_client, prisoner, other_prisoner, snapshot, today
):
    before = snapshot()
    response = guard_client.post(
        reverse("letters:batch-record"),
        {
            "kind": "card",
            "direction": "sent",
            "channel": "post",
            "handed_in_on": today.isoformat(),
            # Another site's prisoner is no prisoner of this guard's.
            "isns": f"{prisoner.isn}\n{other_prisoner.isn}",
        },
    )
    assert response.status_code == 200
    errors = " ".join(response.context["batch_form"].errors["isns"])
    assert other_prisoner.isn in errors
    assert snapshot() == before


def test_desk_lists_items_in_the_camps_hands_of_own_sites_only(
    guard_client, prisoner, other_letter, today
):
    waiting = LetterFactory(prisoner=prisoner)
    LetterFactory(prisoner=prisoner, dispatched_on=today)
    LetterFactory(prisoner=prisoner, in_error=True)
    response = guard_client.get(reverse("letters:desk"))
    assert [row["letter"] for row in response.context["rows"]] == [waiting]


def test_desk_marks_ticked_items_dispatched(guard_client, prisoner, today):
    letters = LetterFactory.create_batch(3, prisoner=prisoner)
    response = guard_client.post(
        reverse("letters:letter-step"),
        {"step": "dispatched_on", "on": today.isoformat(), "letters": [x.pk for x in letters[:2]]},
        follow=True,
    )
    assert "Dispatched: 2 items recorded." in response.content.decode()
    assert sorted(Letter.objects.values_list("status", flat=True)) == [
        "dispatched",
        "dispatched",
        "handed_in",
    ]
    assert AuditEntry.objects.filter(action="letters.letter.status_changed").count() == 2


def test_step_on_another_sites_item_changes_nothing(guard_client, letter, other_letter, today):
    response = guard_client.post(
        reverse("letters:letter-step"),
        {"step": "dispatched_on", "on": today.isoformat(), "letters": [letter.pk, other_letter.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert not LetterAmendment.objects.exists()


def test_step_refused_for_one_item_records_none(guard_client, prisoner, today):
    fine = LetterFactory(prisoner=prisoner)
    received = LetterFactory(prisoner=prisoner, direction="received")
    response = guard_client.post(
        reverse("letters:letter-step"),
        {"step": "dispatched_on", "on": today.isoformat(), "letters": [fine.pk, received.pk]},
        follow=True,
    )
    assert "Nothing was recorded" in response.content.decode()
    assert not LetterAmendment.objects.exists()


def test_every_page_of_the_register_names_the_status(guard_client, prisoner, today):
    """The status is the database's, from the dates: each page shows its label."""
    letter = LetterFactory(prisoner=prisoner, handed_in_on=today, censored_on=today)
    detail = guard_client.get(reverse("letters:letter-detail", args=[letter.pk]))
    assert '<span class="badge text-bg-secondary">Examined by the censor</span>' in (
        detail.content.decode()
    )
    for url in (
        reverse("letters:prisoner-register", args=[prisoner.pk]),
        reverse("prisoners:prisoner-detail", args=[prisoner.pk]),
    ):
        assert "<td>Examined by the censor" in guard_client.get(url).content.decode(), url


def test_step_from_the_detail_page_returns_there(guard_client, letter, today):
    detail = reverse("letters:letter-detail", args=[letter.pk])
    response = guard_client.post(
        reverse("letters:letter-step"),
        {"step": "censored_on", "on": today.isoformat(), "letters": [letter.pk], "next": detail},
    )
    assert response.url == detail
    history = guard_client.get(detail).context["history"]
    assert history[0]["changes"] == [
        {"label": "Examined by the censor", "from": "—", "to": f"{today:%d.%m.%Y}"}
    ]


def test_step_never_redirects_off_site(guard_client, letter, today):
    response = guard_client.post(
        reverse("letters:letter-step"),
        {
            "step": "censored_on",
            "on": today.isoformat(),
            "letters": [letter.pk],
            "next": "https://evil.example/",
        },
    )
    assert response.url == reverse("letters:desk")


# --- Corrections ----------------------------------------------------------------------


def _amend_data(client, letter, **changes):
    form = client.get(reverse("letters:letter-amend", args=[letter.pk])).context["form"]
    data = {}
    for field in form:
        value = field.value()
        if field.name == "in_error":
            if value:
                data["in_error"] = "on"
            continue
        data[field.name] = field.field.widget.format_value(value) or ""
    data.update(changes)
    return data


def test_supervisor_amends_an_item_and_the_history_shows_it(supervisor_client, supervisor, letter):
    url = reverse("letters:letter-amend", args=[letter.pk])
    data = _amend_data(supervisor_client, letter, kind="letter", reason="It was a letter.")
    response = supervisor_client.post(url, data)
    assert response.status_code == 302
    amendment = LetterAmendment.objects.get()
    assert amendment.changes == {"kind": {"from": "card", "to": "letter"}}
    detail = supervisor_client.get(response.url)
    assert detail.context["history"][0]["changes"] == [
        {"label": "Kind", "from": "Card", "to": "Letter"}
    ]
    assert "Item of mail corrected" in detail.content.decode()


def test_untouched_amend_form_changes_nothing(supervisor_client, letter):
    data = _amend_data(supervisor_client, letter, reason="Just looking.")
    response = supervisor_client.post(reverse("letters:letter-amend", args=[letter.pk]), data)
    assert response.status_code == 200
    assert "Nothing would change" in " ".join(response.context["form"].non_field_errors())
    assert not LetterAmendment.objects.exists()


def test_amend_requires_a_reason(supervisor_client, letter):
    data = _amend_data(supervisor_client, letter, notes="Torn.", reason="")
    response = supervisor_client.post(reverse("letters:letter-amend", args=[letter.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not LetterAmendment.objects.exists()


def test_guard_amends_own_item_recorded_today(guard_client, guard, prisoner):
    letter = services.record_letter(
        prisoner=prisoner,
        kind="card",
        direction="sent",
        handed_in_on=prisoner.site.today(),
        actor=guard,
    )
    data = _amend_data(guard_client, letter, prisoner="NC-00001", notes="Torn.", reason="Noted.")
    response = guard_client.post(reverse("letters:letter-amend", args=[letter.pk]), data)
    assert response.status_code == 302
    assert guard_client.get(response.url).context["may_amend"]


def test_amending_to_a_typo_isn_is_refused(supervisor_client, letter):
    data = _amend_data(supervisor_client, letter, prisoner="NC-77777", reason="Typo.")
    response = supervisor_client.post(reverse("letters:letter-amend", args=[letter.pk]), data)
    assert response.status_code == 200
    assert "NC-77777" in " ".join(response.context["form"].errors["prisoner"])
