"""``manage.py restore FILE --database-url URL``: a backup restored into a fresh database,
then its hash chain verified there."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from camp import backups


class Command(BaseCommand):
    help = gettext_lazy(
        "Restore a backup written by “manage.py backup” into a new, empty database (created "
        "when missing), in one transaction, then run verify_logbook against it. Exits 1 when "
        "the restored chain is broken. Run grant_app_role there before the application uses it."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help=_("The backup file (.dump)."))
        parser.add_argument(
            "--database-url",
            required=True,
            metavar="URL",
            help=_("The database to restore into, e.g. postgres://camp@db.internal/camp_restored."),
        )

    def handle(self, *args, file: Path, database_url: str, **options):
        try:
            database = backups.parse_url(database_url)
            backups.restore(file, database)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _("Restored %(file)s into “%(name)s”.") % {"file": file, "name": database["NAME"]}
        )
        # The chain is verified by the command an operator runs, in the restored database:
        # this process stays connected to its own.
        env = {key: value for key, value in os.environ.items() if key != "DATABASE_REPLICA_URL"}
        verified = subprocess.run(
            [sys.executable, settings.BASE_DIR / "manage.py", "verify_logbook"],
            env=env | {"DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            check=False,
        )
        self.stderr.write(verified.stderr, ending="")
        self.stdout.write(verified.stdout, ending="")
        if verified.returncode != 0:
            raise CommandError(_("The restored logbook does not verify (above)."), returncode=1)
