"""Hostile input to every form and every list filter never answers 5xx, and a refused
submission writes no row.

Hypothesis posts generated data to each form (and sends each list filter as a query
string): NUL bytes, 100,000-character strings, text where numbers, dates or ids are
expected, negative and huge numbers, lone surrogates (sent as their CESU bytes, which
no UTF-8 encoder would produce), invalid UTF-8 bytes, mixed Latin and Cyrillic, and
now and then a value that is right. A submission the page did not accept (no success
message, no file) must leave every record table, the audit log included, as it was.

``TARGETS`` lists each (form, URL, method); ``test_every_form_is_a_target`` fails when
a form class of the project is driven by none of them.
"""

import importlib
import pkgutil
import re
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django import forms
from django.contrib import messages
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camp.models import AuditEntry, ChainLink
from camp.roles import Role
from tests import two_sites
from tests.two_sites import ANONYMOUS

PROJECT_PACKAGES = ("camp", "prisoners", "calls", "letters")
GUARD, SUPERVISOR, ADMINISTRATOR = Role.GUARD, Role.SUPERVISOR, Role.ADMINISTRATOR
# The audit log and the hash chain that links its entries.
AUDIT_TABLES = (AuditEntry._meta.db_table, ChainLink._meta.db_table)


@dataclass(frozen=True)
class Target:
    """A form or a list filter: ``form``, the dotted path of the form class whose fields
    are sent (None: only ``extra``); the URL name and the scene object its id names;
    ``query``, a query string for a POST, its ``{name}`` replaced by that scene object's
    id; ``extra``, fields the form adds at run time or the view reads itself; ``who``,
    a role that may use the page; ``recorded``, the audit actions a refused submission
    writes on purpose (a failed log-in), and nothing else."""

    form: str | None
    url: str
    method: str
    who: str = GUARD
    obj: str | None = None
    query: str = ""
    extra: tuple[str, ...] = ()
    recorded: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        declared = tuple(_form_class(self.form).base_fields) if self.form else ()
        return declared + self.extra

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url} {self.form or ''}".strip()


def _form_class(path: str) -> type[forms.BaseForm]:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def get(form, url, **options) -> Target:
    return Target(form, url, "get", **options)


def post(form, url, **options) -> Target:
    return Target(form, url, "post", **options)


TARGETS = [
    # The camp.
    post(
        "camp.forms.LoginForm",
        "login",
        who=ANONYMOUS,
        recorded=("camp.login.failed", "camp.login.locked_out"),
    ),
    post(
        "camp.forms.AdminLoginForm",
        "admin:login",
        who=ANONYMOUS,
        recorded=("camp.login.failed", "camp.login.locked_out"),
    ),
    post(None, "password_change", extra=("old_password", "new_password1", "new_password2")),
    post("camp.two_factor.TokenForm", "two_factor:setup", extra=("next",)),
    get(None, "two_factor:verify", who=SUPERVISOR, extra=("next",)),
    post("camp.forms.LanguageForm", "language-set", extra=("next",)),
    get("camp.forms.AuditFilterForm", "audit-trail", who=ADMINISTRATOR, extra=("page",)),
    # The registry.
    get("prisoners.forms.PrisonerFilterForm", "prisoners:prisoner-list", extra=("page",)),
    post("prisoners.forms.PrisonerForm", "prisoners:prisoner-create", who=SUPERVISOR),
    post("prisoners.forms.PrisonerForm", "prisoners:prisoner-edit", who=SUPERVISOR, obj="prisoner"),
    post(
        "prisoners.forms.StatusChangeForm",
        "prisoners:prisoner-status",
        who=SUPERVISOR,
        obj="prisoner",
    ),
    post("prisoners.forms.ContactForm", "prisoners:contact-add", obj="prisoner"),
    post(
        "prisoners.forms.RevokeContactForm",
        "prisoners:contact-revoke",
        who=SUPERVISOR,
        obj="contact",
    ),
    # Letters and cards.
    post("letters.forms.BatchForm", "letters:batch-record"),
    post("letters.forms.StepForm", "letters:letter-step", extra=("next",)),
    post("letters.forms.RecordLetterForm", "letters:letter-record", obj="prisoner"),
    post("letters.forms.AmendLetterForm", "letters:letter-amend", who=SUPERVISOR, obj="letter"),
    # The desk.
    get(None, "calls:desk", extra=("day",)),
    get(None, "calls:desk-live", extra=("day",)),
    get("calls.forms.desk.UnscheduledCallForm", "calls:call-start", extra=("booking",)),
    post(
        "calls.forms.desk.CallStartForm",
        "calls:call-start",
        query="line={line}&prisoner={prisoner}",
    ),
    post("calls.forms.desk.CallEndForm", "calls:call-end", obj="call_open"),
    # The logbook.
    get(
        "calls.forms.logbook.LogbookFilterForm",
        "calls:logbook",
        extra=("from", "to", "page", "all"),
    ),
    get(None, "calls:logbook-day-pdf", extra=("site", "day")),
    post("calls.forms.logbook.AmendCallForm", "calls:call-amend", who=SUPERVISOR, obj="call"),
    post("calls.forms.logbook.TranscribeCallForm", "calls:call-transcribe"),
    # Schedule, bookings, suspensions.
    post("calls.forms.schedule.LineForm", "calls:line-add", who=SUPERVISOR),
    post("calls.forms.schedule.LineServiceForm", "calls:line-toggle", who=SUPERVISOR, obj="line"),
    post("calls.forms.schedule.WindowForm", "calls:window-add", who=SUPERVISOR),
    post("calls.forms.schedule.GenerateSlotsForm", "calls:slots-generate", who=SUPERVISOR),
    post("calls.forms.schedule.PolicyForm", "calls:policy-add", who=SUPERVISOR),
    get("calls.forms.schedule.DayForm", "calls:booking-list", who=SUPERVISOR),
    get("calls.forms.schedule.PrisonerSearchForm", "calls:slot-book", who=SUPERVISOR, obj="slot"),
    post(
        "calls.forms.schedule.BookingForm",
        "calls:slot-book",
        who=SUPERVISOR,
        obj="slot",
        extra=("q",),
    ),
    post(
        "calls.forms.schedule.CancelBookingForm",
        "calls:booking-cancel",
        who=SUPERVISOR,
        obj="booking",
    ),
    post(
        "calls.forms.schedule.SuspensionForm",
        "calls:suspension-add",
        who=SUPERVISOR,
        obj="prisoner",
    ),
    # Review.
    get(None, "reports:flagged", who=SUPERVISOR, extra=("page",)),
    post(
        "calls.forms.reports.ResolveFlagForm",
        "reports:flagged-resolve",
        who=SUPERVISOR,
        obj="call",
        extra=("page",),
    ),
    get(None, "reports:contacts", who=SUPERVISOR, extra=("page",)),
    post(
        "prisoners.forms.RevokeContactForm",
        "reports:contact-revoke",
        who=SUPERVISOR,
        obj="contact",
        extra=("page",),
    ),
    get(None, "reports:without-news", who=SUPERVISOR, extra=("page",)),
    get(
        "calls.forms.reports.FrequencyFilterForm",
        "reports:frequency",
        who=SUPERVISOR,
        extra=("page", "format"),
    ),
    get(
        "calls.forms.reports.MonthForm",
        "reports:geneva",
        who=SUPERVISOR,
        extra=("page", "news_page"),
    ),
    # Exports.
    post("calls.forms.exports.ExportForm", "exports:export-create", who=ADMINISTRATOR),
    post("calls.forms.exports.VerifyForm", "exports:export-verify", who=ADMINISTRATOR),
    get(None, "exports:export-list", who=ADMINISTRATOR, extra=("page",)),
]


def _project_form_classes() -> set[str]:
    """Every form class defined in the project's packages (migrations aside)."""
    for package in PROJECT_PACKAGES:
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" not in module.name and module.name != "camp.wsgi":
                importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in subclasses(forms.BaseForm)
        if cls.__module__.split(".")[0] in PROJECT_PACKAGES
    }


def test_every_form_is_a_target():
    targeted = {target.form for target in TARGETS if target.form}
    assert sorted(_project_form_classes() - targeted) == []


# --- What is sent -----------------------------------------------------------------------

LETTERS = ("Lu", "Ll", "Lo", "Nd", "No", "Zs", "Cc", "Cf", "Cs", "Po", "Sm", "So")


def _raw(text: str) -> bytes:
    """UTF-8, except that a lone surrogate keeps its three CESU bytes (ED A0 80 ...)."""
    return text.encode("utf-8", "surrogatepass")


TEXT = st.text(st.characters(categories=LETTERS), max_size=30).map(_raw)
HOSTILE = st.one_of(
    TEXT,
    TEXT.map(lambda value: value + b"\x00" + value),
    st.sampled_from([b"A" * 100_000, "Ж".encode() * 50_000, b"9" * 100_000]),
    st.integers(min_value=-(2**80), max_value=2**80).map(lambda number: str(number).encode()),
    st.sampled_from([b"1e309", b"NaN", b"-0", b"0x1F", b"1.5", "٣".encode(), "²".encode()]),
    st.sampled_from(
        [
            b"2026-02-30",
            b"0001-01-01",
            b"9999-12-31",
            b"10000-01-01",
            b"2026-13-01",
            b"31.12.2026",
            b"24:00",
            b"23:59:60",
            b"2026-03-29T03:30",
            b"2026-03",
        ]
    ),
    st.sampled_from(
        [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xff", b"\xc0\xaf", b"\xe2\x82", b"\xf4\x90\x80\x80"]
    ),
    st.sampled_from(["Пeтренко".encode(), "NC-ООО01".encode(), "Ivan Іванович Petrenko".encode()]),
)
# Right now and then, so that a form gets past its first check.
PLAUSIBLE = st.sampled_from(
    [
        b"",
        b"0",
        b"1",
        b"on",
        b"NC-00001",
        b"NC",
        b"connected",
        b"ru",
        b"UA",
        b"+380501234567",
        b"2026-03-01",
        b"12:00",
        b"2026-03-01T12:00:00",
        b"card",
        b"sent",
        b"post",
        b"log",
        b"csv",
        b"censored",
        b"interned",
        b"medical",
        b"guard",
        b"Needs a second look",
        b"isn",
        b"uk",
    ]
)


def _values(ids: list[bytes]):
    one = st.one_of(HOSTILE, PLAUSIBLE, st.sampled_from(ids))
    return st.one_of(one.map(lambda value: [value]), st.lists(one, max_size=3))


def _url(world, target: Target) -> str:
    kwargs = {"pk": getattr(world.home, target.obj).pk} if target.obj else {}
    url = reverse(target.url, kwargs=kwargs)
    names = re.findall(r"{(\w+)}", target.query)
    if names:
        url += "?" + target.query.format(**{name: getattr(world.home, name).pk for name in names})
    return url


def _body(data: dict[str, list[bytes]]) -> str:
    return urlencode([(name, value) for name, values in data.items() for value in values])


def _accepted(response) -> bool:
    """Whether the page took the submission: it says so, or hands out a file."""
    said = any(
        message.level == messages.SUCCESS
        for message in messages.get_messages(response.wsgi_request)
    )
    return said or "attachment" in response.get("Content-Disposition", "")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with two_sites.scene(django_db_blocker) as built:
        yield built


@pytest.mark.parametrize("target", TARGETS, ids=str)
@settings(
    max_examples=8,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_input_is_refused_without_a_trace(db, world, target, data):
    ids = [
        str(obj.pk).encode()
        for obj in (
            world.home.prisoner,
            world.home.line,
            world.home.letter,
            world.home.contact,
            world.home.call,
            world.home.booking,
            world.other.prisoner,
            world.other.letter,
        )
    ]
    sent = data.draw(st.fixed_dictionaries({name: _values(ids) for name in target.fields}))
    url = _url(world, target)
    client = two_sites.client_as(world, target.who)
    # Each example in a savepoint of its own: what one writes is gone for the next.
    with transaction.atomic():
        before = two_sites.fingerprint()
        last_entry = AuditEntry.objects.order_by("pk").last()
        if target.method == "get":
            response = client.get(f"{url}?{_body(sent)}" if sent else url)
        else:
            response = client.post(
                url, data=_body(sent), content_type="application/x-www-form-urlencoded"
            )
        if response.streaming:
            b"".join(response.streaming_content)
        assert response.status_code < 500
        if target.method == "get" or not _accepted(response):
            changed = two_sites.changed_tables(before, two_sites.fingerprint())
            new_entries = AuditEntry.objects.filter(pk__gt=last_entry.pk)
            if set(new_entries.values_list("action", flat=True)) <= set(target.recorded):
                changed = [table for table in changed if table not in AUDIT_TABLES]
            assert changed == []
        transaction.set_rollback(True)
