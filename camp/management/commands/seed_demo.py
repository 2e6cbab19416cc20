"""Fill the default site with invented data and one account per role, for a demo.

Idempotent: the accounts are created once, and the demo data only while the site
has no prisoners. Each app contributes its demo data as one step of
``Command.steps``; a step is called as ``step(site=..., actor=..., random=...,
progress=...)``. Everything is written in one transaction, so a refused argument
or a failure part-way leaves nothing behind. A progress bar on stderr follows
the whole run.
"""

import functools
import random

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from tqdm import tqdm

from calls import demo as calls_demo
from calls.models import Amendment, Booking, Call, CallSlot
from camp import audit
from camp.models import Site, User
from camp.roles import Role
from letters import demo as letters_demo
from prisoners import demo as prisoners_demo
from prisoners.models import Contact, Prisoner, StatusChange

DEMO_SITE_CODE = "MC"
# (username, role, password, first name, last name). Demo passwords, printed on every run.
DEMO_ACCOUNTS = [
    ("guard", Role.GUARD, "guard-demo-2026", "Demo", "Guard"),
    ("supervisor", Role.SUPERVISOR, "supervisor-demo-2026", "Demo", "Supervisor"),
    ("administrator", Role.ADMINISTRATOR, "admin-demo-2026!", "Demo", "Administrator"),
]
# The same demo every time.
SEED = 2026
# Five digits of ISN, and a history the simulation can hold in memory.
MAX_PRISONERS = 99_999
MAX_WEEKS = 260
# The tables the demo fills by the hundred thousand.
ANALYSED = [Prisoner, Contact, StatusChange, CallSlot, Booking, Call, Amendment]


class Command(BaseCommand):
    help = gettext_lazy(
        "Create demo accounts and a camp of invented prisoners with their call logbook and "
        "register of letters and cards at the default site (once)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--prisoners",
            type=int,
            default=300,
            metavar="N",
            help=_("How many prisoners to invent (default 300)."),
        )
        parser.add_argument(
            "--weeks",
            type=int,
            default=12,
            metavar="N",
            help=_("How many weeks of arrivals, calls and mail to invent (default 12)."),
        )

    def steps(self, options) -> list[tuple[str, object, int]]:
        """The demo data, in order: (what it is, function taking site, actor, random and
        progress, about how many rows it makes)."""
        count, weeks = options["prisoners"], options["weeks"]
        return [
            (
                ngettext("%(count)d prisoner", "%(count)d prisoners", count) % {"count": count},
                functools.partial(prisoners_demo.seed_prisoners, count=count, weeks=weeks),
                prisoners_demo.expected_rows(count),
            ),
            (
                ngettext(
                    "lines, schedule and %(weeks)d week of calls",
                    "lines, schedule and %(weeks)d weeks of calls",
                    weeks,
                )
                % {"weeks": weeks},
                functools.partial(calls_demo.seed_calls, weeks=weeks),
                calls_demo.expected_rows(count, weeks),
            ),
            (
                _("register of letters and cards"),
                letters_demo.seed_letters,
                letters_demo.expected_rows(count, weeks),
            ),
        ]

    def handle(self, *args, **options):
        self._check(options)
        try:
            site = Site.objects.get(code=DEMO_SITE_CODE)
        except Site.DoesNotExist:
            raise CommandError(
                _("The default site “%(code)s” is missing; run “manage.py migrate” first.")
                % {"code": DEMO_SITE_CODE}
            ) from None
        with audit.command_context("seed_demo"), transaction.atomic():
            accounts = self._accounts(site)
            if site.prisoners.exists():
                self.stdout.write(
                    _("Site %(code)s already has prisoners: no demo data is added.")
                    % {"code": site.code}
                )
            else:
                self._seed(site, accounts["supervisor"], options)
        self._print_credentials()

    def _check(self, options) -> None:
        for name, largest in (("prisoners", MAX_PRISONERS), ("weeks", MAX_WEEKS)):
            value = options[name]
            if value < 1:
                raise CommandError(
                    _("--%(name)s must be at least 1, not %(value)d.")
                    % {"name": name, "value": value}
                )
            if value > largest:
                raise CommandError(
                    _("--%(name)s must be at most %(largest)d, not %(value)d.")
                    % {"name": name, "largest": largest, "value": value}
                )

    def _seed(self, site: Site, actor: User, options) -> None:
        steps = self.steps(options)
        rng = random.Random(SEED)
        with connection.cursor() as cursor:
            # Check the foreign keys row by row as the rows go in, rather than millions
            # of them at once at commit, where no progress can be shown.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # The bar is not an error: no red on a terminal.
        self.stderr.style_func = None
        bar = _Bar(self.stdout, self.stderr, [estimate for _label, _step, estimate in steps])
        try:
            for label, step, _estimate in steps:
                bar.say(
                    _("Creating demo %(what)s at site %(code)s …")
                    % {"what": label, "code": site.code}
                )
                counts = step(site=site, actor=actor, random=rng, progress=bar)
                bar.next_step()
                if isinstance(counts, dict) and counts:
                    bar.say(
                        "  " + ", ".join(f"{name}: {number}" for name, number in counts.items())
                    )
            bar.stage(_("analysing the tables"))
            with connection.cursor() as cursor:
                # The pages plan their queries on the real sizes from the first request on,
                # not once autovacuum has come by. A second or so.
                for model in ANALYSED:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        finally:
            bar.close()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        self.stdout.write(self.style.SUCCESS(_("Demo data created.")))

    def _accounts(self, site: Site) -> dict[str, User]:
        accounts = {}
        for username, role, password, first_name, last_name in DEMO_ACCOUNTS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, first_name=first_name, last_name=last_name)
                try:
                    validate_password(password, user)
                except ValidationError as error:
                    raise CommandError(f"{username}: {' '.join(error.messages)}") from None
                user.set_password(password)
                user.save()
                user.groups.add(Group.objects.get(name=role))
                user.sites.add(site)
                self.stdout.write(
                    _("Created the %(role)s account “%(username)s”.")
                    % {"role": Role(role).label, "username": username}
                )
            accounts[username] = user
        return accounts

    def _print_credentials(self) -> None:
        self.stdout.write("")
        self.stdout.write(_("Demo accounts (username / password), as created by seed_demo:"))
        for username, role, password, _first_name, _last_name in DEMO_ACCOUNTS:
            self.stdout.write(f"  {Role(role).label!s:<14} {username} / {password}")


class _Bar(prisoners_demo.Progress):
    """One bar over the whole run, in rows simulated or written.

    Its total starts as the steps' estimates; a step that can count its remaining
    rows better says so with ``expect``, and the total follows.
    """

    def __init__(self, stdout, stderr, estimates: list[int]):
        self.stdout = stdout
        self.estimates = list(estimates)
        self.remaining = self.estimates.pop(0) if self.estimates else 0
        self.bar = tqdm(
            total=self.remaining + sum(self.estimates),
            unit=" rows",
            unit_scale=True,
            file=_Unterminated(stderr),
            dynamic_ncols=True,
            mininterval=0.5,
            # Redraw on every update (at most twice a second): the rows per update vary
            # a thousandfold between the steps, so tqdm must not learn to skip any.
            miniters=1,
        )

    def say(self, message: str) -> None:
        """Write a line to stdout above the bar, which stdout and stderr share on a terminal."""
        self.bar.clear()
        self.stdout.write(message)
        self.bar.refresh()

    def stage(self, label: str) -> None:
        self.bar.set_description(label, refresh=True)

    def advance(self, rows: int) -> None:
        self.remaining = max(0, self.remaining - rows)
        self.bar.update(rows)

    def expect(self, rows: int) -> None:
        self.remaining = rows
        self._retotal()

    def next_step(self) -> None:
        self.remaining = self.estimates.pop(0) if self.estimates else 0
        self._retotal()

    def _retotal(self) -> None:
        self.bar.total = self.bar.n + self.remaining + sum(self.estimates)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


class _Unterminated:
    """The command's stderr without the newline Django adds to every write: tqdm
    redraws its line with carriage returns."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(text, ending="")

    def flush(self) -> None:
        self.stream.flush()
