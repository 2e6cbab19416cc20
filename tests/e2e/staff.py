"""A small camp for the browser tests of the supervisors' and administrators' pages, their
log-in, and the accessibility check every main page must pass.

The camp: North camp (NC) with two lines, a guard, a supervisor and an administrator
(each with an authenticator), prisoners with half a year of calls and mail, one who has
had no news since his arrival, a contact awaiting approval, a flagged call and free
slots tomorrow; South camp (SC) beside it with a prisoner of its own, whom nobody at
North camp may see.
"""

import datetime
import random
from pathlib import Path

from django.templatetags.static import static
from playwright.sync_api import Locator, Page

from calls.models import Call
from camp.roles import Role
from letters.models import Letter
from prisoners.models import Contact
from tests.e2e.browser import SCREENSHOTS, enrol_phone, log_in
from tests.factories import (
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LetterFactory,
    LineFactory,
    PrisonerFactory,
    SiteFactory,
    UserFactory,
)

DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)
AXE = static("vendor/axe-core/axe.min.js")


class Camp:
    """North camp and its people, in ``language`` ("en" or "uk"): the staff's own
    interface language, as on their accounts."""

    def __init__(self, *, language: str = "en"):
        self.site = SiteFactory(name="North camp", code="NC")
        self.other_site = SiteFactory(name="South camp", code="SC")
        staff = {"sites": [self.site], "language": language}
        self.guard = UserFactory(
            username="guard", first_name="Ivan", last_name="Koval", role=Role.GUARD, **staff
        )
        self.supervisor = UserFactory(
            username="supervisor",
            first_name="Olha",
            last_name="Bondar",
            role=Role.SUPERVISOR,
            **staff,
        )
        self.administrator = UserFactory(
            username="administrator",
            first_name="Marko",
            last_name="Lysenko",
            role=Role.ADMINISTRATOR,
            **staff,
        )
        self.devices = {
            user.pk: enrol_phone(user) for user in (self.supervisor, self.administrator)
        }
        self.line = LineFactory(site=self.site, name="Line 1")
        self.spare = LineFactory(site=self.site, name="Line 2")
        today = self.site.today()

        # Half a year of news for three prisoners: a few calls a week, in the daytime,
        # mostly connected, and now and then a card sent or a letter received. The same
        # every run (a seeded generator), uneven enough for the charts to show weeks apart.
        self.regulars = [
            self.prisoner("NC-00101", "Коваленко", "Андрій", arrived_on=today - 200 * DAY),
            self.prisoner("NC-00102", "Бондаренко", "Сергій", arrived_on=today - 200 * DAY),
            self.prisoner("NC-00103", "Ткаченко", "Дмитро", arrived_on=today - 200 * DAY),
        ]
        chance = random.Random(71)
        outcomes = [Call.Outcome.CONNECTED] * 4 + [Call.Outcome.NO_ANSWER, Call.Outcome.BUSY]
        for week in range(1, 26):
            for number, prisoner in enumerate(self.regulars):
                for attempt in range(chance.choice([0, 1, 1, 2])):
                    self.call(
                        prisoner,
                        self.at(today - (7 * week - number - 2 * attempt) * DAY, 9 + number),
                        outcome=chance.choice(outcomes),
                        minutes=chance.randint(4, 15),
                    )
                if chance.random() < 0.2:
                    LetterFactory(
                        prisoner=prisoner,
                        handed_in_on=today - (7 * week + number) * DAY,
                        recorded_by=self.guard,
                    )
                if chance.random() < 0.15:
                    LetterFactory(
                        prisoner=prisoner,
                        kind=Letter.Kind.LETTER,
                        direction=Letter.Direction.RECEIVED,
                        handed_in_on=today - (7 * week - 3) * DAY,
                        recorded_by=self.guard,
                    )

        # The longest without news: arrived a hundred days ago, never reached home.
        self.forgotten = self.prisoner(
            "NC-00042", "Шевченко", "Тарас", arrived_on=today - 100 * DAY
        )
        # A number asked for, waiting for a supervisor.
        self.asking = self.prisoner("NC-00043", "Мельник", "Петро", arrived_on=today - 20 * DAY)
        self.pending = ContactFactory(
            prisoner=self.asking,
            name="Ганна",
            relationship=Contact.Relationship.MOTHER,
            phone_number="+380501234567",
            city="Полтава",
            country="UA",
            status=Contact.Status.PENDING,
            requested_by=self.guard,
            decided_by=None,
            decided_at=None,
        )
        # A call the monitor flagged, and one with a wrong number to correct.
        self.flagged = self.call(
            self.regulars[0],
            self.at(today - 2 * DAY, 11, 20),
            flagged=True,
            flag_reason="Spoke of the positions of a unit.",
        )
        self.to_amend = self.call(self.regulars[1], self.at(today - 3 * DAY, 14, 5))
        # Free slots tomorrow, for booking from the queue.
        self.slots = [
            CallSlotFactory(line=self.line, starts_at=self.at(today + DAY, 10, minute))
            for minute in (0, 15)
        ]

        # Another site's prisoner: never in North camp's lists or files.
        self.stranger = PrisonerFactory(
            site=self.other_site,
            isn="SC-00001",
            surname="Чужий",
            first_names="Олег",
            arrived_on=today - 300 * DAY,
            captured_on=None,
        )

    def prisoner(self, isn, surname, first_names, *, arrived_on):
        prisoner = PrisonerFactory(
            site=self.site,
            isn=isn,
            surname=surname,
            first_names=first_names,
            arrived_on=arrived_on,
            captured_on=None,
        )
        ContactFactory(
            prisoner=prisoner,
            name="Олена",
            city="Суми",
            country="UA",
            requested_by=self.supervisor,
        )
        return prisoner

    def at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        """``hour:minute`` on ``day`` on the site's clock."""
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.site.zone)

    def call(self, prisoner, started_at, *, outcome=Call.Outcome.CONNECTED, minutes=10, **extra):
        """A closed call of ``prisoner`` on Line 1, monitored by the guard."""
        return CallFactory(
            line=self.line,
            prisoner=prisoner,
            contact=prisoner.contacts.get(status=Contact.Status.APPROVED),
            started_at=started_at,
            deadline=started_at + 15 * MINUTE,
            ended_at=started_at + minutes * MINUTE,
            outcome=outcome,
            monitor=self.guard,
            **extra,
        )

    def log_in(self, page: Page, user):
        """Log ``user`` in through the log-in page, with the code of their phone if
        they have one."""
        log_in(page, user, device=self.devices.get(user.pk))


def axe_problems(page: Page) -> list[str]:
    """Run axe-core on ``page`` and describe each serious or critical violation: its rule,
    impact, help text and the elements it found. Empty when there is none.

    axe is loaded from the project's own static files with a ``<script src>``, which the
    Content-Security-Policy (``script-src 'self'``) allows: the page stays as served.
    """
    page.add_script_tag(url=AXE)
    results = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(results => results.violations)"
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results
        if violation["impact"] in ("serious", "critical")
    ]


def element_screenshot(element: Locator, name: str) -> Path:
    """Save one element of a page, such as a chart, as ``tests/e2e/screenshots/<name>.png``
    (beside ``tests.e2e.browser.screenshot``'s pictures) and return its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    element.screenshot(path=path)
    return path
