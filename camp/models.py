import datetime
import zoneinfo

import pgtrigger
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast, Length
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from camp import history
from camp.triggers import append_only


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


@history.track(
    site="{row}.pgh_obj_id",
    # Incremented with every prisoner registered here, which has its own history.
    exclude=("last_serial",),
)
class Site(models.Model):
    """An internment site. Its precise location may be confidential, so the address is optional."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    code = models.CharField(
        _("code"),
        max_length=8,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z][A-Z0-9]{1,7}$", _("Two to eight capital letters or digits."))
        ],
        help_text=_("Prefix of the internment serial numbers issued at this site, e.g. “NK1”."),
    )
    address = models.TextField(_("address"), blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Kyiv", validators=[validate_time_zone]
    )
    # Last internment serial number issued here; incremented under a row lock.
    last_serial = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z][A-Z0-9]{1,7}$"),
                name="camp_site_code_format",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def today(self):
        """The calendar date now at this site."""
        return timezone.localdate(timezone=self.zone)

    def day_start(self, day: datetime.date) -> datetime.datetime:
        """The first instant of ``day`` at this site."""
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=self.zone)


@history.track(
    site="NULL",
    # Log-ins are trail entries of their own (camp.audit), and so is an administrator's
    # setting of a password (camp.staff.password_set); the hash stays out of the trail.
    exclude=("password", "last_login", "must_change_password"),
)
class User(AbstractUser):
    """A member of staff. Roles are Django groups (see camp.roles); sites limit what they see."""

    sites = models.ManyToManyField(Site, verbose_name=_("sites"), related_name="staff", blank=True)
    language = models.CharField(
        _("interface language"), max_length=8, choices=settings.LANGUAGES, default="uk"
    )
    # Set when an administrator gives the password: only its owner should know it.
    must_change_password = models.BooleanField(
        _("must change password at next log-in"), default=False
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self):
        return self.get_full_name() or self.username


# The sites and roles of staff are rows of these tables: their history is the trail's too.
history.track(site="{row}.site_id")(User.sites.through)
history.track(site="NULL")(User.groups.through)


class AuditEntryQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AuditEntryQuerySet":
        """The entries an administrator may read: those of their sites, and those of no
        site about a member of staff who shares one of them (log-ins, account changes)
        or about a name no account has (a failed log-in). Superusers read all."""
        if user.is_superuser:
            return self
        sites = Site.objects.filter(staff=user).values("pk")
        staff = (
            User.objects.filter(sites__in=sites)
            .annotate(text_pk=Cast("pk", models.CharField()))
            .values("text_pk")
        )
        return self.filter(
            Q(site__in=sites)
            | Q(site__isnull=True, target_type="camp.user", target_id__in=staff)
            | Q(site__isnull=True, target_type="camp.user", target_id="")
        )


@pgtrigger.register(*append_only())
class AuditEntry(models.Model):
    """One thing that happened, kept for ever: who did what to which object.

    Append-only: a database trigger refuses UPDATE and DELETE, also from raw SQL.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=80)
    target_type = models.CharField(_("target type"), max_length=80)
    target_id = models.CharField(_("target id"), max_length=40)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, related_name="+")
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # The history context the entry was written in (camp.history): the row changes of
    # its request, command or transaction carry the same id. The database fills it in.
    context_id = models.UUIDField(
        _("context"),
        null=True,
        editable=False,
        db_default=models.Func(function="camp_history_context_id", output_field=models.UUIDField()),
    )

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-created_at", "-id"]
        indexes = [
            # An object's history on its detail page: includes/_audit_log.html.
            models.Index(
                fields=["target_type", "target_id", "-created_at"], name="camp_audit_target_idx"
            ),
            # The audit page: a site's entries, newest first (camp.views.audit_trail).
            models.Index(fields=["site", "-created_at", "-id"], name="camp_audit_site_time_idx"),
            # The audit page filtered by a member of staff.
            models.Index(fields=["actor", "-created_at", "-id"], name="camp_audit_actor_time_idx"),
        ]

    def __str__(self):
        return f"{self.action} {self.target_type}:{self.target_id}"


@history.track(site="(SELECT id FROM camp_site WHERE code = {row}.site_codes[1])")
@pgtrigger.register(*append_only())
class ExportRecord(models.Model):
    """One file exported for the Red Cross or the information bureau (``calls.exports``):
    who, when, what was asked for, how many rows went out and the SHA-256 of the file,
    so that a file handed over can later be checked against it.

    Written once the whole file is produced; append-only like the audit log.
    """

    class Dataset(models.TextChoices):
        REGISTRY = "registry", _("Registry")
        LOG = "log", _("Communications log")
        PACK = "pack", _("Visit pack")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        PDF = "pdf", "PDF"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("exported by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    dataset = models.CharField(_("dataset"), max_length=20, choices=Dataset.choices)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    # {"date_from", "date_to" (ISO dates or null), "sites" (codes), "statuses", "reveal"}
    filters = models.JSONField(_("filters"), default=dict)
    # Codes of the sites covered (also in ``filters``), for the pages' "your sites" filter.
    site_codes = ArrayField(models.CharField(max_length=8), verbose_name=_("sites"))
    reveal_reason = models.TextField(_("reason for revealing withheld identities"), blank=True)
    row_count = models.PositiveIntegerField(_("rows"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    filename = models.CharField(_("file name"), max_length=200)
    # ``camp.chain.head_text()`` ("<links>:<hash>") when the export began, as printed
    # in the PDF: an anchor of the tamper-evidence chain held outside the camp.
    chain_head = models.CharField(_("chain head"), max_length=90, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dataset__in=["registry", "log", "pack"]),
                name="camp_exportrecord_dataset_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(format__in=["csv", "xlsx", "pdf"]),
                name="camp_exportrecord_format_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="camp_exportrecord_sha256_hex",
            ),
            # GCIII Art. 126: identities hidden on screens go to the ICRC, with a reason.
            models.CheckConstraint(
                condition=~models.Q(filters__reveal=True) | ~models.Q(reveal_reason=""),
                name="camp_exportrecord_reveal_has_reason",
            ),
        ]
        indexes = [
            # The verify page: which recorded export a file's hash matches.
            models.Index(fields=["sha256"], name="camp_exportrecord_sha256_idx"),
            # The history page: exports of the user's sites, newest first.
            GinIndex(fields=["site_codes"], name="camp_exportrecord_sites_idx"),
        ]

    def __str__(self):
        created = date_format(timezone.localtime(self.created_at), "DATETIME_FORMAT")
        return f"{self.filename} ({created})"


HASH_COLUMNS = ("content_hash", "previous_hash", "hash")


@pgtrigger.register(*append_only())
class ChainLink(models.Model):
    """One link of the tamper-evidence chain (``camp.chain``): a final row of the
    logbook, the register of letters, their amendments or the audit log.

    Written only by the chain's triggers, in the same transaction as the row;
    ``hash`` = SHA-256 of ``previous_hash`` + ``content_hash`` (hex text), and
    ``content_hash`` is recomputable from the live row (``manage.py verify_logbook``).
    Append-only.
    """

    # 1, 2, 3 ... in the order the links were appended, without gaps.
    position = models.BigIntegerField(_("position"), primary_key=True)
    table_name = models.CharField(_("table"), max_length=63)
    row_id = models.BigIntegerField(_("row"))
    content_hash = models.CharField(_("content SHA-256"), max_length=64)
    previous_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("chain link")
        verbose_name_plural = _("chain links")
        ordering = ["position"]
        constraints = [
            # One successor per link: two writers can never fork the chain.
            models.UniqueConstraint(fields=["previous_hash"], name="camp_chainlink_no_fork"),
            # verify_logbook's search for rows without a link, one table at a time.
            models.UniqueConstraint(
                fields=["table_name", "row_id"], name="camp_chainlink_one_per_row"
            ),
            # Length and a plain character class: a regex with {64} costs PostgreSQL
            # several microseconds a match, most of a link's cost in a bulk append.
            models.CheckConstraint(
                condition=models.Q(
                    *(
                        Exact(Length(name), 64)
                        for name in ("content_hash", "previous_hash", "hash")
                    ),
                    content_hash__regex=r"^[0-9a-f]+$",
                    previous_hash__regex=r"^[0-9a-f]+$",
                    hash__regex=r"^[0-9a-f]+$",
                ),
                name="camp_chainlink_hashes_hex",
            ),
        ]

    def __str__(self):
        return f"{self.position} {self.table_name}:{self.row_id}"
