"""``manage.py export --dataset pack --from 2026-03-01 --to 2026-03-31 --site NC
--format xlsx --output pack.xlsx --user admin [--status interned ...]
[--reveal-withheld --reason TEXT]``"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from calls import exports
from calls.services import CallError
from camp import audit
from camp.models import ExportRecord, User
from camp.roles import Role, has_role
from camp.routers import reading_from_replica


def _date(value: str | None, option: str) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("%(option)s “%(value)s” is not a date; write it as YYYY-MM-DD.")
            % {"option": option, "value": value}
        ) from None


class _ProgressStream:
    """tqdm writes carriage returns; Django's wrapper would add a newline to each."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text):
        self.wrapper.write(text, style_func=str, ending="")

    def flush(self):
        self.wrapper.flush()


class Command(BaseCommand):
    help = gettext_lazy(
        "Write the registry, the communications log or the visit pack of some sites to a "
        "file, as the export page does: recorded with its SHA-256 and audited in the "
        "name of --user, an administrator of those sites. A progress bar goes to "
        "standard error."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dataset", required=True, choices=ExportRecord.Dataset.values, help=_("What.")
        )
        parser.add_argument("--from", dest="date_from", help=_("First day (not for registry)."))
        parser.add_argument("--to", dest="date_to", help=_("Last day, included."))
        parser.add_argument(
            "--site",
            dest="sites",
            action="append",
            required=True,
            help=_("Code of a site; repeat for several."),
        )
        parser.add_argument(
            "--status",
            dest="statuses",
            action="append",
            default=[],
            help=_("A prisoner status; repeat for several (default: every status)."),
        )
        parser.add_argument("--format", required=True, choices=ExportRecord.Format.values)
        parser.add_argument("--output", required=True, help=_("Path of the file to write."))
        parser.add_argument(
            "--reveal-withheld",
            action="store_true",
            help=_("Include withheld identities in full, for the ICRC / information bureau."),
        )
        parser.add_argument("--reason", default="", help=_("Why (with --reveal-withheld)."))
        parser.add_argument(
            "--user", required=True, help=_("Username of the administrator exporting.")
        )

    def handle(self, *, dataset, sites, statuses, output, user, **options):
        actor = User.objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(_("There is no active staff member “%(name)s”.") % {"name": user})
        if not has_role(actor, Role.ADMINISTRATOR):
            raise CommandError(
                _("%(name)s is not an administrator: only administrators export records.")
                % {"name": user}
            )
        try:
            filters = exports.make_filters(
                user=actor,
                dataset=dataset,
                format=options["format"],
                site_codes=sites,
                date_from=_date(options["date_from"], "--from"),
                date_to=_date(options["date_to"], "--to"),
                statuses=statuses,
                reveal=options["reveal_withheld"],
                reveal_reason=options["reason"],
            )
        except CallError as error:
            raise CommandError(" ".join(error.messages)) from None
        now = timezone.now()
        total = exports.count_rows(filters, now=now)
        try:
            destination = open(output, "w+b")  # noqa: SIM115 (closed below)
        except OSError as error:
            raise CommandError(
                _("Cannot write %(path)s: %(error)s") % {"path": output, "error": error.strerror}
            ) from None
        with (
            audit.command_context("export"),
            reading_from_replica(),
            destination,
            tqdm(
                total=total, unit=_("rows"), file=_ProgressStream(self.stderr), mininterval=0.5
            ) as bar,
        ):
            record = exports.write_export(
                filters=filters, actor=actor, output=destination, now=now, progress=bar.update
            )
        self.stdout.write(
            self.style.SUCCESS(
                _("%(rows)d rows written to %(path)s, SHA-256 %(sha256)s (export %(id)d).")
                % {
                    "rows": record.row_count,
                    "path": output,
                    "sha256": record.sha256,
                    "id": record.pk,
                }
            )
        )
