"""The rules of recording, moving along and correcting items, and their audit entries."""

import datetime

import pytest
from django.utils import timezone

from camp.models import AuditEntry
from camp.roles import Role
from letters import services
from letters.models import Letter, LetterAmendment
from prisoners.models import Contact
from tests.factories import ContactFactory, LetterFactory, PrisonerFactory, UserFactory

DAY = datetime.timedelta(days=1)


def _record(prisoner, actor, **fields):
    values = {
        "kind": Letter.Kind.LETTER,
        "direction": Letter.Direction.SENT,
        "handed_in_on": prisoner.site.today(),
        **fields,
    }
    return services.record_letter(prisoner=prisoner, actor=actor, **values)


def _audit(action):
    return list(AuditEntry.objects.filter(action=action).values_list("target_id", "actor_id"))


# --- Recording ------------------------------------------------------------------------


def test_recording_an_item_writes_it_and_its_audit_entry(prisoner, contact, guard):
    letter = _record(prisoner, guard, contact=contact, written_on=prisoner.site.today() - DAY)
    assert (letter.site, letter.recorded_by, letter.contact) == (prisoner.site, guard, contact)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.HANDED_IN
    assert _audit("letters.letter.recorded") == [(str(letter.pk), guard.pk)]


def test_typed_correspondent_is_kept(prisoner, guard):
    letter = _record(
        prisoner,
        guard,
        correspondent_name=" Central Tracing Agency ",
        correspondent_locality="Geneva",
    )
    assert (letter.correspondent, letter.locality) == ("Central Tracing Agency", "Geneva")


@pytest.mark.parametrize(
    ("status", "other_prisoner_s"),
    [(Contact.Status.PENDING, False), (Contact.Status.REVOKED, False), (None, True)],
)
def test_contact_must_be_the_prisoners_and_approved(prisoner, guard, status, other_prisoner_s):
    if other_prisoner_s:
        contact = ContactFactory(prisoner=PrisonerFactory(site=prisoner.site))
    else:
        contact = ContactFactory(
            prisoner=prisoner, status=status, revoke_reason="x" if status == "revoked" else ""
        )
    with pytest.raises(services.LetterError) as refused:
        _record(prisoner, guard, contact=contact)
    assert "approved contacts" in str(refused.value.message_dict["contact"])
    assert not Letter.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "capture_card", "direction": "received"}, "direction", "always sent"),
        ({"kind": "red_cross_message", "channel": "post"}, "channel", "through the ICRC"),
        ({"handed_in_on_offset": 1}, "handed_in_on", "not come yet"),
        ({"written_on_offset": 1}, "written_on", "not come yet"),
        ({"written_after": True}, "written_on", "written after it was handed in"),
        ({"kind": "parcel"}, "kind", "Choose a kind"),
    ],
)
def test_refused_item_writes_nothing(prisoner, guard, contact, snapshot, fields, field, message):
    today = prisoner.site.today()
    fields = dict(fields)
    if fields.pop("handed_in_on_offset", None):
        fields["handed_in_on"] = today + DAY
    if fields.pop("written_on_offset", None):
        fields["written_on"] = today + DAY
    if fields.pop("written_after", None):
        fields.update(handed_in_on=today - 2 * DAY, written_on=today - DAY)
    before = snapshot()
    with pytest.raises(services.LetterError) as refused:
        _record(prisoner, guard, **fields)
    assert message in " ".join(refused.value.message_dict[field])
    assert snapshot() == before


def test_contact_and_typed_name_together_are_refused(prisoner, contact, guard):
    with pytest.raises(services.LetterError) as refused:
        _record(prisoner, guard, contact=contact, correspondent_name="Someone else")
    assert "not both" in str(refused.value.message_dict["correspondent_name"])


# --- A batch --------------------------------------------------------------------------


def _batch(prisoners, isns, actor, **fields):
    values = {
        "kind": Letter.Kind.CARD,
        "direction": Letter.Direction.SENT,
        "channel": Letter.Channel.POST,
        "handed_in_on": timezone.localdate(),
        **fields,
    }
    return services.record_batch(
        prisoners_by_isn={p.isn: p for p in prisoners}, isns=isns, actor=actor, **values
    )


def test_batch_records_one_item_per_prisoner(site, guard, today):
    prisoners = PrisonerFactory.create_batch(40, site=site)
    letters = _batch(prisoners, [p.isn for p in prisoners], guard, handed_in_on=today)
    assert len(letters) == 40
    assert set(Letter.objects.values_list("prisoner_id", flat=True)) == {p.pk for p in prisoners}
    assert len(_audit("letters.letter.recorded")) == 40


@pytest.mark.parametrize(
    ("isns", "message"),
    [
        (["NC-00001", "NC-99999"], "No prisoner at your sites has the ISN NC-99999"),
        (["NC-00001", "NC-00001"], "Listed twice: NC-00001"),
        ([], "at least one ISN"),
    ],
)
def test_bad_line_in_a_batch_writes_nothing(prisoner, guard, snapshot, today, isns, message):
    before = snapshot()
    with pytest.raises(services.LetterError) as refused:
        _batch([prisoner], isns, guard, handed_in_on=today)
    assert message in " ".join(refused.value.message_dict["isns"])
    assert snapshot() == before


def test_batch_breaking_a_rule_at_any_item_writes_nothing(prisoner, guard, snapshot, today):
    second = PrisonerFactory(site=prisoner.site)
    before = snapshot()
    with pytest.raises(services.LetterError):
        _batch(
            [prisoner, second],
            [prisoner.isn, second.isn],
            guard,
            kind=Letter.Kind.CAPTURE_CARD,
            direction=Letter.Direction.RECEIVED,
            handed_in_on=today,
        )
    assert snapshot() == before


# --- Status steps ---------------------------------------------------------------------


def test_step_fills_the_date_as_an_amendment_with_a_reason(letter, guard, today):
    assert services.record_step(letters=[letter], step="dispatched_on", on=today, actor=guard) == 1
    letter.refresh_from_db()
    assert (letter.dispatched_on, letter.status, letter.amendment_count) == (
        today,
        Letter.Status.DISPATCHED,
        0,
    )
    amendment = LetterAmendment.objects.get()
    assert (amendment.reason, amendment.is_correction, amendment.author) == (
        "Dispatched",
        False,
        guard,
    )
    assert amendment.changes == {"dispatched_on": {"from": None, "to": today.isoformat()}}
    assert _audit("letters.letter.status_changed") == [(str(letter.pk), guard.pk)]


def test_steps_follow_one_another(letter, guard, today):
    for step in ("censored_on", "dispatched_on", "delivered_on"):
        services.record_step(letters=[letter], step=step, on=today, actor=guard)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.DELIVERED
    assert LetterAmendment.objects.count() == 3


@pytest.mark.parametrize(
    ("fields", "step", "reason"),
    [
        ({"direction": "received"}, "dispatched_on", "received mail is not dispatched"),
        ({}, "delivered_on", "not dispatched yet"),
        ({"dispatched_on_yesterday": True}, "dispatched_on", "already has this date"),
        ({"in_error": True}, "censored_on", "recorded in error"),
        ({"handed_in_today": True, "on_yesterday": True}, "censored_on", "dates out of order"),
        ({"on_tomorrow": True}, "censored_on", "not come yet"),
    ],
)
def test_one_item_that_cannot_take_a_step_refuses_the_batch(
    prisoner, guard, snapshot, today, fields, step, reason
):
    fine = LetterFactory(prisoner=prisoner)
    on = today
    fields = dict(fields)
    if fields.pop("dispatched_on_yesterday", None):
        fields["dispatched_on"] = today - DAY
    if fields.pop("handed_in_today", None):
        fields["handed_in_on"] = today
    if fields.pop("on_yesterday", None):
        on = today - DAY
    if fields.pop("on_tomorrow", None):
        on = today + DAY
    bad = LetterFactory(prisoner=prisoner, **fields)
    before = snapshot()
    with pytest.raises(services.LetterError) as refused:
        services.record_step(letters=[fine, bad], step=step, on=on, actor=guard)
    assert reason in refused.value.messages[0]
    assert prisoner.isn in refused.value.messages[0]
    assert snapshot() == before


# --- Corrections ----------------------------------------------------------------------


def test_supervisor_corrects_any_item(letter, supervisor):
    amendment = services.amend_letter(
        letter=letter, changes={"kind": "letter"}, reason="It was a letter.", actor=supervisor
    )
    letter.refresh_from_db()
    assert (letter.kind, letter.amendment_count) == ("letter", 1)
    assert amendment.changes == {"kind": {"from": "card", "to": "letter"}}
    assert _audit("letters.letter.amended") == [(str(letter.pk), supervisor.pk)]


def test_guard_corrects_own_item_on_the_day_only(prisoner, guard, site):
    own_today = LetterFactory(prisoner=prisoner, recorded_by=guard)
    assert services.may_amend(own_today, guard)
    yesterday = LetterFactory(
        prisoner=prisoner, recorded_by=guard, created_at=site.day_start(site.today()) - DAY
    )
    someone_elses = LetterFactory(
        prisoner=prisoner, recorded_by=UserFactory(role=Role.GUARD, sites=[site])
    )
    for letter in (yesterday, someone_elses):
        assert not services.may_amend(letter, guard)
        with pytest.raises(services.LetterError, match="may not amend"):
            services.amend_letter(letter=letter, changes={"notes": "x"}, reason="x", actor=guard)
    assert not LetterAmendment.objects.exists()


@pytest.mark.parametrize(
    ("changes", "reason", "message"),
    [
        ({"notes": "x"}, "  ", "Give the reason"),
        ({"notes": ""}, "Nothing.", "Nothing would change"),
        ({"site_id": 3}, "Moving.", "cannot be amended"),
        ({"direction": "received", "dispatched_on": None}, "x", None),
    ],
)
def test_refused_correction_writes_nothing(letter, supervisor, snapshot, changes, reason, message):
    if message is None:
        # A capture card cannot become received mail.
        letter = LetterFactory(prisoner=letter.prisoner, kind="capture_card")
        message = "always sent"
    before = snapshot()
    with pytest.raises(services.LetterError) as refused:
        services.amend_letter(letter=letter, changes=changes, reason=reason, actor=supervisor)
    assert message in " ".join(refused.value.messages)
    assert snapshot() == before


def test_correction_moves_an_item_to_another_prisoner_of_the_site(letter, supervisor, site):
    right = PrisonerFactory(site=site)
    services.amend_letter(
        letter=letter,
        changes={"prisoner_id": right.pk},
        reason="Wrong ISN typed.",
        actor=supervisor,
    )
    letter.refresh_from_db()
    assert letter.prisoner == right


def test_correction_cannot_move_an_item_to_another_site(letter, supervisor, other_prisoner):
    with pytest.raises(services.LetterError) as refused:
        services.amend_letter(
            letter=letter, changes={"prisoner_id": other_prisoner.pk}, reason="x", actor=supervisor
        )
    assert "same site" in str(refused.value.message_dict["prisoner_id"])


def test_contact_of_another_prisoner_is_refused_in_a_correction(letter, supervisor):
    stranger = ContactFactory(prisoner=PrisonerFactory(site=letter.site))
    with pytest.raises(services.LetterError, match="approved contacts"):
        services.amend_letter(
            letter=letter, changes={"contact_id": stranger.pk}, reason="x", actor=supervisor
        )


def test_item_recorded_in_error_stays_marked_and_out_of_counts(letter, guard, supervisor):
    services.amend_letter(
        letter=letter, changes={"in_error": True}, reason="Wrong prisoner's pile.", actor=guard
    )
    letter.refresh_from_db()
    assert letter.status == Letter.Status.VOID
    assert not Letter.objects.counted().exists()
    with pytest.raises(services.LetterError, match="Only a supervisor"):
        services.amend_letter(letter=letter, changes={"in_error": False}, reason="x", actor=guard)
    services.amend_letter(
        letter=letter, changes={"in_error": False}, reason="It was right.", actor=supervisor
    )
