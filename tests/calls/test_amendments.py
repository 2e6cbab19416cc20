import datetime

import pytest
from django.db import ProgrammingError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from calls import services
from calls.models import Amendment, Call
from camp.models import AuditEntry
from camp.roles import Role
from tests.factories import CallFactory, LineFactory, UserFactory


@pytest.fixture
def line(site):
    return LineFactory(site=site)


def _today_call(site, **kwargs) -> Call:
    """A closed call that started and ended earlier today at the site."""
    now = timezone.now()
    started_at = max(site.day_start(site.today()), now - datetime.timedelta(minutes=20))
    ended_at = min(started_at + datetime.timedelta(minutes=10), now)
    return CallFactory(started_at=started_at, ended_at=ended_at, **kwargs)


def _prefilled(client, call: Call) -> dict:
    """The amend form's fields as a browser would send them back untouched."""
    response = client.get(reverse("calls:call-amend", args=[call.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    data = {}
    with timezone.override(call.site.zone):
        for field in form:
            value = field.value()
            if field.name == "flagged":
                if value:
                    data["flagged"] = "on"
                continue
            data[field.name] = field.field.widget.format_value(value) or ""
    return data


def _amend_url(call: Call) -> str:
    return reverse("calls:call-amend", args=[call.pk])


# --- The flow -------------------------------------------------------------------------


def test_supervisor_amends_any_entry(supervisor_client, supervisor, guard, line):
    call = CallFactory(line=line, monitor=guard, locality="Kursk")
    data = _prefilled(supervisor_client, call)
    data.update(locality="Kurchatov, Kursk region", reason="The prisoner corrected the town.")
    response = supervisor_client.post(_amend_url(call), data)
    assert response.status_code == 302
    assert response.url == reverse("calls:call-detail", args=[call.pk])
    amendment = Amendment.objects.get()
    assert amendment.changes == {"locality": {"from": "Kursk", "to": "Kurchatov, Kursk region"}}
    assert amendment.author == supervisor
    assert amendment.reason == "The prisoner corrected the town."
    call.refresh_from_db()
    assert call.locality == "Kurchatov, Kursk region"
    assert call.amendment_count == 1
    page = supervisor_client.get(response.url).content.decode()
    assert "The entry was amended." in page


def test_monitor_cannot_clear_a_review_flag_but_a_supervisor_can(guard, supervisor, line):
    call = _today_call(line.site, line=line, monitor=guard, flagged=True, flag_reason="Code words.")
    with pytest.raises(services.CallError) as refused:
        services.amend_call(
            call=call, changes={"flagged": False}, reason="Misunderstood.", actor=guard
        )
    assert "Only a supervisor can clear a review flag." in refused.value.message_dict["flagged"]
    assert not Amendment.objects.exists()
    services.amend_call(call=call, changes={"flagged": False}, reason="Reviewed.", actor=supervisor)
    call.refresh_from_db()
    assert call.flagged is False


def test_amend_form_is_prefilled_with_current_values(supervisor_client, supervisor, line):
    call = CallFactory(line=line)
    services.amend_call(call=call, changes={"language": "uk"}, reason="Misheard.", actor=supervisor)
    data = _prefilled(supervisor_client, call)
    assert data["language"] == "uk"
    assert data["started_at"] == call.started_at.astimezone(call.site.zone).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )


def test_only_changed_fields_are_recorded(supervisor_client, line):
    call = CallFactory(line=line, notes="Line one.\nLine two.")
    data = _prefilled(supervisor_client, call)
    # Browsers send textarea line ends as CRLF; that alone is not a change.
    data["notes"] = data["notes"].replace("\n", "\r\n")
    data.update(outcome="ended_by_monitor", reason="Monitor ended the call.")
    assert supervisor_client.post(_amend_url(call), data).status_code == 302
    assert Amendment.objects.get().changes == {
        "outcome": {"from": "connected", "to": "ended_by_monitor"}
    }


def test_amending_start_and_end_uses_the_site_clock(supervisor_client, site, line):
    call = CallFactory(line=line)
    day = call.started_at.astimezone(site.zone).date()
    data = _prefilled(supervisor_client, call)
    data.update(started_at=f"{day}T09:00:00", ended_at=f"{day}T09:14:30", reason="Clock was wrong.")
    assert supervisor_client.post(_amend_url(call), data).status_code == 302
    call.refresh_from_db()
    assert call.started_at == site.day_start(day) + datetime.timedelta(hours=9)
    assert call.elapsed == datetime.timedelta(minutes=14, seconds=30)


def test_guard_amends_own_entry_on_the_day(guard_client, guard, site, line):
    call = _today_call(site, line=line, monitor=guard)
    data = _prefilled(guard_client, call)
    data.update(language="uk", reason="Wrong language noted.")
    assert guard_client.post(_amend_url(call), data).status_code == 302
    assert Amendment.objects.get().author == guard


def test_detail_offers_amend_only_when_allowed(guard_client, supervisor_client, guard, line):
    own = _today_call(line.site, line=line, monitor=guard)
    old = CallFactory(line=line, monitor=guard)
    detail = reverse("calls:call-detail", args=[own.pk])
    assert guard_client.get(detail).context["may_amend"]
    assert _amend_url(own).encode() in guard_client.get(detail).content
    old_detail = guard_client.get(reverse("calls:call-detail", args=[old.pk]))
    assert not old_detail.context["may_amend"]
    assert _amend_url(old).encode() not in old_detail.content
    assert supervisor_client.get(reverse("calls:call-detail", args=[old.pk])).context["may_amend"]


# --- Refusals write nothing -----------------------------------------------------------


def _post_amendment(client, call: Call, **changes):
    data = {
        "number_dialled": call.number_dialled,
        "locality": "Changed",
        "started_at": call.started_at.astimezone(call.site.zone).strftime("%Y-%m-%dT%H:%M:%S"),
        "ended_at": call.ended_at.astimezone(call.site.zone).strftime("%Y-%m-%dT%H:%M:%S"),
        "outcome": call.outcome,
        "language": call.language,
        "notes": call.notes,
        "flag_reason": call.flag_reason,
        "reason": "A reason.",
    }
    data.update(changes)
    return client.post(_amend_url(call), data)


def test_guard_cannot_amend_another_guards_entry(guard_client, site, line):
    other = UserFactory(role=Role.GUARD, sites=[site])
    call = _today_call(site, line=line, monitor=other)
    assert guard_client.get(_amend_url(call)).status_code == 403
    assert _post_amendment(guard_client, call).status_code == 403
    assert Amendment.objects.count() == 0


def test_guard_cannot_amend_own_entry_the_next_day(guard_client, guard, site, line):
    yesterday = site.day_start(site.today()) - datetime.timedelta(hours=2)
    call = CallFactory(line=line, monitor=guard, started_at=yesterday)
    assert guard_client.get(_amend_url(call)).status_code == 403
    assert _post_amendment(guard_client, call).status_code == 403
    assert Amendment.objects.count() == 0


def test_entry_in_progress_cannot_be_amended(supervisor_client, line):
    call = CallFactory(line=line, ended_at=None, outcome="")
    for response in (
        supervisor_client.get(_amend_url(call), follow=True),
        supervisor_client.post(_amend_url(call), {"reason": "x"}, follow=True),
    ):
        assert response.redirect_chain == [(reverse("calls:call-detail", args=[call.pk]), 302)]
        assert b"can be amended once it has ended" in response.content
    assert Amendment.objects.count() == 0
    detail = supervisor_client.get(reverse("calls:call-detail", args=[call.pk]))
    assert detail.status_code == 200
    assert not detail.context["may_amend"]


def test_entry_of_another_site_cannot_be_amended(supervisor_client, other_site):
    call = CallFactory(line=LineFactory(site=other_site))
    assert _post_amendment(supervisor_client, call).status_code == 404
    assert Amendment.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"reason": ""}, "reason", "This field is required"),
        ({"reason": "   "}, "reason", "This field is required"),
        ({"locality": None}, None, "Nothing would change"),
        ({"flagged": "on", "flag_reason": ""}, "flag_reason", "reason for flagging"),
        ({"outcome": "exploded"}, "outcome", "Select a valid choice"),
        ({"ended_at": "not a time"}, "ended_at", "Enter a valid date/time"),
        ({"ended_at": "2000-01-01T00:00:00"}, "ended_at", "cannot end before it started"),
        ({"ended_at": "2999-01-01T00:00:00"}, "ended_at", "cannot end in the future"),
        ({"started_at": "0001-01-01T00:00:00"}, "started_at", "Enter a date between"),
        ({"number_dialled": "not a number"}, "number_dialled", "is not a phone number"),
    ],
)
def test_refused_amendment_writes_nothing(supervisor_client, line, changes, field, message):
    call = CallFactory(line=line, locality="Kursk")
    if changes.get("locality", "") is None:
        changes = {"locality": call.locality}
    audit_before = AuditEntry.objects.count()
    response = _post_amendment(supervisor_client, call, **changes)
    assert response.status_code == 200
    errors = response.context["form"].errors.get(field or "__all__")
    assert errors
    assert message in " ".join(errors)
    assert Amendment.objects.count() == 0
    assert AuditEntry.objects.count() == audit_before


def test_amendment_history_shows_from_to_reason_and_author(supervisor_client, supervisor, line):
    call = CallFactory(line=line, outcome=Call.Outcome.CONNECTED, language="ru")
    services.amend_call(
        call=call,
        changes={"outcome": Call.Outcome.WRONG_NUMBER},
        reason="A stranger answered.",
        actor=supervisor,
    )
    services.amend_call(
        call=call, changes={"language": "uk"}, reason="Spoke Ukrainian.", actor=supervisor
    )
    response = supervisor_client.get(reverse("calls:call-detail", args=[call.pk]))
    history = response.context["amendments"]
    assert [item["amendment"].reason for item in history] == [
        "A stranger answered.",
        "Spoke Ukrainian.",
    ]
    assert history[0]["changes"] == [
        {"label": "Outcome", "from": "Connected", "to": "Wrong number"}
    ]
    assert history[1]["changes"] == [{"label": "Language spoken", "from": "ru", "to": "uk"}]
    content = response.content.decode()
    assert "A stranger answered." in content
    assert str(supervisor) in content
    assert content.count("Logbook entry amended") == 2


# --- The database refuses changes to the record ---------------------------------------


def _refused(sql: str, params: list, match: str = "is append-only") -> None:
    with (
        pytest.raises(ProgrammingError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def test_database_refuses_to_update_a_closed_entry(line):
    call = CallFactory(line=line)
    _refused(
        "UPDATE calls_call SET notes = 'x' WHERE id = %s",
        [call.pk],
        match="changes only through an amendment",
    )
    call.refresh_from_db()
    assert call.notes == ""


@pytest.mark.parametrize("open_entry", [True, False])
def test_database_refuses_to_delete_an_entry(line, open_entry):
    call = CallFactory(line=line, **({"ended_at": None, "outcome": ""} if open_entry else {}))
    _refused("DELETE FROM calls_call WHERE id = %s", [call.pk])
    assert Call.objects.filter(pk=call.pk).exists()


def test_database_refuses_to_change_or_delete_an_amendment(supervisor, line):
    call = CallFactory(line=line)
    amendment = services.amend_call(
        call=call, changes={"language": "uk"}, reason="Misheard.", actor=supervisor
    )
    _refused("UPDATE calls_amendment SET reason = 'x' WHERE id = %s", [amendment.pk])
    _refused("DELETE FROM calls_amendment WHERE id = %s", [amendment.pk])
    amendment.refresh_from_db()
    assert amendment.reason == "Misheard."


def test_database_allows_ending_an_open_entry(line):
    call = CallFactory(line=line, ended_at=None, outcome="")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE calls_call SET ended_at = now(), outcome = 'connected' WHERE id = %s",
            [call.pk],
        )
    call.refresh_from_db()
    assert not call.is_open


def test_amend_and_transcribe_forms_carry_one_csrf_token(supervisor_client, line):
    call = CallFactory(line=line)
    for url in (_amend_url(call), reverse("calls:call-transcribe")):
        main = supervisor_client.get(url).content.decode().split("<main", 1)[1]
        assert main.count('name="csrfmiddlewaretoken"') == 1, url
