from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from camp import chain


class Command(BaseCommand):
    help = gettext_lazy(
        "Recompute the tamper-evidence chain over the logbook, the register of letters, "
        "their amendments and the audit log from the live rows; name the first broken "
        "entry, or print the number of links and the head. Exits 1 when broken."
    )

    def handle(self, *args, **options):
        def progress(links):
            self.stderr.write(_("%(links)s links verified") % {"links": f"{links:,}"})

        result = chain.verify(progress=progress)
        if result.broken is not None:
            raise CommandError(str(result.broken), returncode=1)
        self.stdout.write(
            _("chain intact: %(count)d links, head %(head)s")
            % {"count": result.count, "head": result.head}
        )
