"""``manage.py backup [--output PATH]``: the database in use, dumped by pg_dump."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from camp import backups


class Command(BaseCommand):
    help = gettext_lazy(
        "Write a pg_dump (custom format) of the database in use — DATABASE_URL or the "
        "embedded server — to var/backups/camp-<UTC time>.dump, or to --output. "
        "Restore it with “manage.py restore”."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, metavar="PATH", help=_("Where to write the backup file.")
        )

    def handle(self, *args, **options):
        path = (options["output"] or backups.default_path()).absolute()
        try:
            connection.ensure_connection()
        except DatabaseError as error:
            raise CommandError(
                _("Cannot reach the database: %(error)s") % {"error": error}
            ) from None
        if backups.CHAIN_TABLE not in connection.introspection.table_names():
            raise CommandError(
                _("The database holds no logbook yet: run “manage.py migrate” first.")
            )
        try:
            backups.dump(
                connection.settings_dict,
                server_major=connection.pg_version // 10000,
                path=path,
            )
        except (backups.BackupError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _("Backup written to %(path)s (%(size)s bytes).")
            % {"path": path, "size": f"{path.stat().st_size:,}"}
        )
