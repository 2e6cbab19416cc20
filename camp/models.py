import datetime
import zoneinfo

import pgtrigger
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


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


class User(AbstractUser):
    """A member of staff. Roles are Django groups (see camp.roles); sites limit what they see."""

    sites = models.ManyToManyField(Site, verbose_name=_("sites"), related_name="staff", blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self):
        return self.get_full_name() or self.username


@pgtrigger.register(
    pgtrigger.Protect(name="append_only_update", operation=pgtrigger.Update),
    pgtrigger.Protect(name="append_only_delete", operation=pgtrigger.Delete),
)
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

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-created_at", "-id"]
        indexes = [
            # An object's history on its detail page: includes/_audit_log.html.
            models.Index(
                fields=["target_type", "target_id", "-created_at"], name="camp_audit_target_idx"
            ),
        ]

    def __str__(self):
        return f"{self.action} {self.target_type}:{self.target_id}"
