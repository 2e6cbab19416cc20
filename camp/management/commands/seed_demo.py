"""Fill the default site with invented data and one account per role, for a demo.

Idempotent: the accounts are created once, and the demo data only while the site
has no prisoners. Each app contributes its demo data as one step of
``Command.steps``; a step is called as ``step(site=..., actor=..., random=...)``.
"""

import functools
import random

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from calls.demo import seed_calls
from camp.models import Site, User
from camp.roles import Role
from prisoners.demo import seed_prisoners

DEMO_SITE_CODE = "MC"
# (username, role, password, first name, last name). Demo passwords, printed on every run.
DEMO_ACCOUNTS = [
    ("guard", Role.GUARD, "guard-demo-2026", "Demo", "Guard"),
    ("supervisor", Role.SUPERVISOR, "supervisor-demo-2026", "Demo", "Supervisor"),
    ("administrator", Role.ADMINISTRATOR, "admin-demo-2026!", "Demo", "Administrator"),
]
# The same demo every time.
SEED = 2026


class Command(BaseCommand):
    help = "Create demo accounts and invented prisoners at the default site (once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--prisoners",
            type=int,
            default=300,
            metavar="N",
            help="How many prisoners to invent (default 300).",
        )

    def steps(self, options) -> list[tuple[str, object]]:
        """The demo data, in order: (what it is, function taking site, actor, random)."""
        return [
            (
                "prisoners",
                functools.partial(
                    seed_prisoners, count=options["prisoners"], progress=self._progress
                ),
            ),
            ("lines, schedule and 12 weeks of calls", seed_calls),
        ]

    def handle(self, *args, **options):
        if options["prisoners"] < 1:
            raise CommandError("--prisoners must be at least 1.")
        try:
            site = Site.objects.get(code=DEMO_SITE_CODE)
        except Site.DoesNotExist:
            raise CommandError(
                f"The default site “{DEMO_SITE_CODE}” is missing; run “manage.py migrate” first."
            ) from None
        with transaction.atomic():
            accounts = self._accounts(site)
            if site.prisoners.exists():
                self.stdout.write(f"Site {site.code} already has prisoners: no demo data is added.")
            else:
                rng = random.Random(SEED)
                for label, step in self.steps(options):
                    self.stdout.write(f"Creating demo {label} at site {site.code} …")
                    step(site=site, actor=accounts["supervisor"], random=rng)
                self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._print_credentials()

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
                self.stdout.write(f"Created the {role} account “{username}”.")
            accounts[username] = user
        return accounts

    def _progress(self, done: int, total: int) -> None:
        self.stdout.write(f"  {done}/{total}")

    def _print_credentials(self) -> None:
        self.stdout.write("")
        self.stdout.write("Demo accounts (username / password), as created by seed_demo:")
        for username, role, password, _first_name, _last_name in DEMO_ACCOUNTS:
            self.stdout.write(f"  {role:<14} {username} / {password}")
