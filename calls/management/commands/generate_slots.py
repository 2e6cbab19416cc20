"""``manage.py generate_slots --from 2026-12-01 --to 2026-12-31 [--site NC]``"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from calls import services
from calls.services import CallError
from camp import audit
from camp.models import Site


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("“%(value)s” is not a date; write it as YYYY-MM-DD.") % {"value": value}
        ) from None


class Command(BaseCommand):
    help = gettext_lazy(
        "Cut the weekly schedule windows into call slots for a range of days, at one site "
        "or every site. Existing slots are kept, so running it twice creates nothing new."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True, help=_("First day."))
        parser.add_argument("--to", dest="date_to", required=True, help=_("Last day, included."))
        parser.add_argument(
            "--site", dest="site_code", help=_("Code of one site (default: every site).")
        )

    def handle(self, *, date_from, date_to, site_code=None, **options):
        date_from, date_to = _date(date_from), _date(date_to)
        if date_to < date_from:
            raise CommandError(
                _("--to (%(to)s) is before --from (%(from)s).")
                % {"to": date_to.isoformat(), "from": date_from.isoformat()}
            )
        sites = Site.objects.order_by("code")
        if site_code:
            sites = sites.filter(code=site_code.upper())
            if not sites.exists():
                raise CommandError(
                    _("There is no site with code “%(code)s”.") % {"code": site_code}
                )
        total = 0
        # All sites or none: a refusal at one site leaves nothing half-written.
        with audit.command_context("generate_slots"), transaction.atomic():
            for site in sites:
                try:
                    created = services.generate_slots(
                        site=site, date_from=date_from, date_to=date_to, actor=None
                    )
                except CallError as error:
                    raise CommandError(
                        f"{site.code}: {' '.join(error.messages)} " + _("Nothing was written.")
                    ) from None
                total += created
                self.stdout.write(
                    ngettext(
                        "%(code)s (%(name)s): %(count)d slot created.",
                        "%(code)s (%(name)s): %(count)d slots created.",
                        created,
                    )
                    % {"code": site.code, "name": site.name, "count": created}
                )
        self.stdout.write(
            self.style.SUCCESS(
                ngettext(
                    "%(count)d slot created from %(from)s to %(to)s.",
                    "%(count)d slots created from %(from)s to %(to)s.",
                    total,
                )
                % {"count": total, "from": date_from.isoformat(), "to": date_to.isoformat()}
            )
        )
