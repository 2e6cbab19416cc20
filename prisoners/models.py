import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from camp import history
from camp.models import Site
from camp.roles import is_supervisor
from camp.triggers import append_only
from prisoners.transliteration import latin_key

MAX_APPROVED_CONTACTS = 20


class Identity(models.TextChoices):
    """How much of a prisoner's identity is known or may be shown."""

    FULL = "full", _("Full")
    FIRST_NAME_ONLY = "first_name_only", _("First name only")
    ALIAS = "alias", _("Alias")
    WITHHELD = "withheld", _("Withheld for safety")


class Status(models.TextChoices):
    """A prisoner's status; each change is dated in StatusChange."""

    INTERNED = "interned", _("Interned")
    IN_HOSPITAL = "in_hospital", _("In hospital")
    TRANSFERRED = "transferred", _("Transferred")
    EXCHANGED = "exchanged", _("Exchanged")
    RELEASED = "released", _("Released")
    ESCAPED = "escaped", _("Escaped")
    DECEASED = "deceased", _("Deceased")


class PrisonerQuerySet(models.QuerySet):
    def for_sites(self, sites):
        return self.filter(site__in=sites)

    def interned(self):
        return self.filter(status=Status.INTERNED)


@history.track(
    site="{row}.site_id",
    # Kept by triggers from the logbook, bookings and the register of letters.
    # The search keys are generated from the Latin spellings, which the history keeps.
    exclude=(
        "last_connected_at",
        "makeup_owed_since",
        "last_mail_delivered_on",
        "first_names_key",
        "surname_key",
        "patronymic_key",
    ),
)
class Prisoner(models.Model):
    """A registered detainee, identified by the internment serial number (ISN).

    Fields follow GCIII Art. 17 and Art. 122. Names are kept as written and in a
    Latin transliteration (``*_latin``) that services compute; search and exports use both.
    """

    Identity = Identity
    Status = Status

    isn = models.CharField(
        _("internment serial number"), max_length=20, unique=True, editable=False
    )
    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="prisoners"
    )
    identity = models.CharField(
        _("identity completeness"), max_length=20, choices=Identity.choices, default=Identity.FULL
    )
    surname = models.CharField(_("surname"), max_length=100, blank=True)
    first_names = models.CharField(_("first names"), max_length=150, blank=True)
    patronymic = models.CharField(_("patronymic"), max_length=100, blank=True)
    alias = models.CharField(_("alias"), max_length=100, blank=True)
    surname_latin = models.CharField(max_length=150, blank=True, editable=False)
    first_names_latin = models.CharField(max_length=200, blank=True, editable=False)
    patronymic_latin = models.CharField(max_length=150, blank=True, editable=False)
    # The Latin spellings with what the common schemes spell differently folded away
    # (prisoners.transliteration.latin_key), kept by PostgreSQL on every write, COPY
    # included: registry search finds "Sergey" and "Grigoryev" by them.
    first_names_key = models.GeneratedField(
        expression=latin_key(F("first_names_latin")),
        output_field=models.TextField(),
        db_persist=True,
    )
    surname_key = models.GeneratedField(
        expression=latin_key(F("surname_latin")),
        output_field=models.TextField(),
        db_persist=True,
    )
    patronymic_key = models.GeneratedField(
        expression=latin_key(F("patronymic_latin")),
        output_field=models.TextField(),
        db_persist=True,
    )
    rank = models.CharField(_("rank"), max_length=60, blank=True)
    service_number = models.CharField(_("service number"), max_length=40, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    place_of_birth = models.CharField(_("place of birth"), max_length=150, blank=True)
    power_depends_on = models.CharField(_("power on which he depends"), max_length=100, blank=True)
    father_first_name = models.CharField(_("father's first name"), max_length=100, blank=True)
    mother_maiden_name = models.CharField(_("mother's maiden name"), max_length=100, blank=True)
    person_to_inform = models.CharField(_("person to be informed"), max_length=200, blank=True)
    person_to_inform_address = models.TextField(
        _("address of the person to be informed"), blank=True
    )
    captured_on = models.DateField(_("date of capture"), null=True, blank=True)
    place_of_capture = models.CharField(_("place of capture"), max_length=150, blank=True)
    arrived_on = models.DateField(_("arrival date"))
    housing_unit = models.CharField(_("housing unit"), max_length=40, blank=True)
    languages = ArrayField(
        models.CharField(max_length=40),
        verbose_name=_("languages spoken"),
        default=list,
        blank=True,
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.INTERNED, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Derived from the logbook and kept by database triggers on calls and bookings
    # (``calls.models.REFRESH_PRISONER_CONTACT``), so that the desk and the reports
    # read one stored value instead of scanning every prisoner's history.
    last_connected_at = models.DateTimeField(
        _("last connected call"), null=True, blank=True, editable=False
    )
    makeup_owed_since = models.DateTimeField(
        _("make-up call owed since"), null=True, blank=True, editable=False
    )
    # Derived from the register of letters and kept by database triggers on it
    # (``letters.models.REFRESH_PRISONER_MAIL``): the latest delivery of an item sent
    # or received, not recorded in error. With ``last_connected_at`` it gives the
    # days "without news" that the supervisor's queue orders by.
    last_mail_delivered_on = models.DateField(
        _("last mail delivered"), null=True, blank=True, editable=False
    )

    objects = PrisonerQuerySet.as_manager()

    class Meta:
        verbose_name = _("prisoner")
        verbose_name_plural = _("prisoners")
        ordering = ["isn"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(identity="full") | (~Q(surname="") & ~Q(first_names="")),
                name="prisoners_prisoner_full_identity_has_names",
            ),
            models.CheckConstraint(
                condition=~Q(identity="first_name_only") | ~Q(first_names=""),
                name="prisoners_prisoner_first_name_only_has_first_name",
            ),
            models.CheckConstraint(
                condition=~Q(identity="alias") | ~Q(alias=""),
                name="prisoners_prisoner_alias_identity_has_alias",
            ),
            models.CheckConstraint(
                condition=~Q(identity="withheld") | ~Q(first_names="") | ~Q(alias=""),
                name="prisoners_prisoner_withheld_has_display_name",
            ),
            models.CheckConstraint(
                condition=Q(date_of_birth__isnull=True) | Q(date_of_birth__lte=Now()),
                name="prisoners_prisoner_born_in_the_past",
            ),
            models.CheckConstraint(
                condition=Q(captured_on__isnull=True) | Q(captured_on__lte=models.F("arrived_on")),
                name="prisoners_prisoner_captured_before_arrival",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="prisoners_prisoner_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(identity__in=Identity.values), name="prisoners_prisoner_identity_valid"
            ),
        ]
        indexes = [
            # Registry list filtered by site, housing unit and status.
            models.Index(
                fields=["site", "status", "housing_unit"], name="prisoners_site_status_idx"
            ),
            # The desk's make-up list: a site's prisoners owed a make-up call, longest first.
            models.Index(
                fields=["site", "makeup_owed_since"],
                condition=Q(makeup_owed_since__isnull=False),
                name="prisoners_makeup_owed_idx",
            ),
        ]

    def __str__(self):
        return f"{self.isn} {self.display_name}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.surname, self.first_names, self.patronymic) if part)

    @property
    def display_name(self) -> str:
        """The name anyone may see: withheld identities show only the first name or alias."""
        if self.identity == self.Identity.WITHHELD:
            return self.alias or self.first_names
        if self.identity == self.Identity.ALIAS:
            return self.alias
        return self.full_name

    def name_shown(self, *, reveal: bool) -> str:
        """The whole name when ``reveal`` (to supervisors, or to anyone the whole
        registration is shown), else ``display_name``."""
        if reveal:
            return self.full_name or self.display_name
        return self.display_name

    def is_revealed_to(self, user) -> bool:
        """Whether ``user`` may see the whole registration: any identity but a withheld
        one, which only supervisors see."""
        return not self.is_withheld or is_supervisor(user)

    @property
    def is_owed_makeup(self) -> bool:
        return self.makeup_owed_since is not None

    @property
    def is_withheld(self) -> bool:
        return self.identity == self.Identity.WITHHELD


@history.track(site="(SELECT site_id FROM prisoners_prisoner WHERE id = {row}.prisoner_id)")
@pgtrigger.register(*append_only())
class StatusChange(models.Model):
    """One dated entry in a prisoner's status history, never rewritten."""

    prisoner = models.ForeignKey(Prisoner, on_delete=models.PROTECT, related_name="status_changes")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    effective_on = models.DateField(_("effective date"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["-effective_on", "-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="prisoners_statuschange_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.get_status_display()} ({self.effective_on})"


class ContactStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REVOKED = "revoked", _("Revoked")


class ContactQuerySet(models.QuerySet):
    def approved(self):
        return self.filter(status=ContactStatus.APPROVED)


@history.track(site="(SELECT site_id FROM prisoners_prisoner WHERE id = {row}.prisoner_id)")
class Contact(models.Model):
    """A person a prisoner may call. Pending until a supervisor approves it."""

    class Relationship(models.TextChoices):
        WIFE = "wife", _("Wife")
        HUSBAND = "husband", _("Husband")
        PARTNER = "partner", _("Partner")
        MOTHER = "mother", _("Mother")
        FATHER = "father", _("Father")
        DAUGHTER = "daughter", _("Daughter")
        SON = "son", _("Son")
        SISTER = "sister", _("Sister")
        BROTHER = "brother", _("Brother")
        GRANDPARENT = "grandparent", _("Grandparent")
        OTHER_RELATIVE = "other_relative", _("Other relative")
        FRIEND = "friend", _("Friend")
        OTHER = "other", _("Other")

    Status = ContactStatus

    prisoner = models.ForeignKey(Prisoner, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(_("name"), max_length=150)
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    phone_number = models.CharField(
        _("phone number"), max_length=20, help_text=_("Stored in E.164.")
    )
    city = models.CharField(_("city or village"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, e.g. UA."))
    language = models.CharField(_("language"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(_("reason for revoking"), blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["status", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["prisoner", "phone_number"],
                condition=~Q(status="revoked"),
                name="prisoners_contact_unique_live_number",
                violation_error_message=_("This prisoner already has this number as a contact."),
            ),
            models.CheckConstraint(
                condition=Q(phone_number__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="prisoners_contact_phone_e164",
            ),
            models.CheckConstraint(
                condition=Q(status="pending")
                | (Q(decided_by__isnull=False) & Q(decided_at__isnull=False)),
                name="prisoners_contact_decision_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(status="revoked") | ~Q(revoke_reason=""),
                name="prisoners_contact_revoke_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ContactStatus.values), name="prisoners_contact_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_relationship_display()})"

    @property
    def locality(self) -> str:
        return ", ".join(part for part in (self.city, self.region, self.country) if part)
