"""Durations read as durations, "13 min 18 s", on every page and document that shows one."""

import datetime

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from calls import exports
from camp.templatetags.durations import format_duration
from tests.factories import CallFactory, LineFactory

SECOND = datetime.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 min 00 s"),
        (3, "0 min 03 s"),
        (13 * 60 + 18, "13 min 18 s"),
        (59 * 60 + 59.9, "59 min 59 s"),
        (3600 + 5, "1 h 00 min 05 s"),
        (-4, "0 min 00 s"),
    ],
)
def test_a_duration_reads_in_minutes_and_seconds(seconds, text):
    with translation.override("en"):
        assert format_duration(seconds * SECOND) == text


@pytest.mark.parametrize("value", [None, "", "13:18", 798])
def test_anything_but_a_duration_shows_nothing(value):
    assert format_duration(value) == ""


def test_the_template_filter_is_the_same_function():
    template = Template("{% load durations %}{{ elapsed|duration }}")
    with translation.override("en"):
        assert template.render(Context({"elapsed": 798 * SECOND})) == "13 min 18 s"


def test_the_exports_pdf_shows_durations_the_same_way():
    with translation.override("en"):
        assert exports._pdf_text(exports.DURATION, 798 * SECOND) == "13 min 18 s"


@pytest.fixture
def call(site):
    started = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=site.zone)
    return CallFactory(
        line=LineFactory(site=site),
        started_at=started,
        ended_at=started + 798 * SECOND,
    )


def test_the_logbook_shows_the_time_elapsed_as_a_duration(guard_client, call):
    content = guard_client.get(reverse("calls:logbook")).content.decode()
    assert "13 min 18 s" in content
    assert ">13:18<" not in content


def test_the_entry_page_shows_the_time_elapsed_as_a_duration(guard_client, call):
    content = guard_client.get(reverse("calls:call-detail", args=[call.pk])).content.decode()
    assert "13 min 18 s" in content
