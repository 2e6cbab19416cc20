import datetime

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from calls.models import AirRaidAlert, Booking, Call, CallSlot, Line, ScheduleWindow
from camp.models import Site, User
from letters.models import Letter
from prisoners.models import Contact, Prisoner
from prisoners.transliteration import to_latin


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ["code"]

    name = factory.Sequence(lambda n: f"Camp {n}")
    code = factory.Sequence(lambda n: f"S{n}")
    time_zone = "Europe/Kyiv"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Staff{n}")
    password = factory.django.Password("correct horse battery staple")
    language = "en"

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            # get_or_create: transactional tests flush the groups the migration made.
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])

    @factory.post_generation
    def sites(self, create, extracted, **kwargs):
        if extracted:
            self.sites.set(extracted)


class PrisonerFactory(factory.django.DjangoModelFactory):
    """Saves directly; use prisoners.services.register_prisoner to test registration itself."""

    class Meta:
        model = Prisoner

    site = factory.SubFactory(SiteFactory)
    isn = factory.Sequence(lambda n: f"T-{n:05d}")
    identity = Prisoner.Identity.FULL
    surname = "Петренко"
    first_names = factory.Iterator(["Олександр", "Іван", "Дмитро", "Сергій"])
    patronymic = "Іванович"
    surname_latin = factory.LazyAttribute(lambda p: to_latin(p.surname))
    first_names_latin = factory.LazyAttribute(lambda p: to_latin(p.first_names))
    patronymic_latin = factory.LazyAttribute(lambda p: to_latin(p.patronymic))
    rank = "Private"
    date_of_birth = datetime.date(1990, 5, 17)
    arrived_on = datetime.date(2026, 1, 10)
    captured_on = datetime.date(2026, 1, 2)
    housing_unit = "B1"
    languages = factory.LazyFunction(lambda: ["ru"])


class ContactFactory(factory.django.DjangoModelFactory):
    """An approved contact unless told otherwise."""

    class Meta:
        model = Contact

    prisoner = factory.SubFactory(PrisonerFactory)
    name = "Олена"
    relationship = Contact.Relationship.WIFE
    phone_number = factory.Sequence(lambda n: f"+38050{1000000 + n}")
    city = "Kursk"
    country = "RU"
    status = Contact.Status.APPROVED
    requested_by = factory.SubFactory(UserFactory)
    decided_by = factory.SelfAttribute("requested_by")
    decided_at = factory.LazyFunction(lambda: datetime.datetime.now(datetime.UTC))


class LineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Line

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Line {n}")


class CallSlotFactory(factory.django.DjangoModelFactory):
    """A 15-minute slot starting ``starts_at`` (default: in one hour)."""

    class Meta:
        model = CallSlot

    line = factory.SubFactory(LineFactory)
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + datetime.timedelta(hours=1)).replace(second=0, microsecond=0)
    )
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + datetime.timedelta(minutes=15))


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    slot = factory.SubFactory(CallSlotFactory)
    prisoner = factory.SubFactory(PrisonerFactory, site=factory.SelfAttribute("..slot.line.site"))
    starts_at = factory.SelfAttribute("slot.starts_at")
    ends_at = factory.SelfAttribute("slot.ends_at")
    booked_by = factory.SubFactory(UserFactory)


class CallFactory(factory.django.DjangoModelFactory):
    """A closed, connected ten-minute call, started two days ago unless told otherwise."""

    class Meta:
        model = Call

    line = factory.SubFactory(LineFactory)
    site = factory.SelfAttribute("line.site")
    prisoner = factory.SubFactory(PrisonerFactory, site=factory.SelfAttribute("..site"))
    contact = factory.SubFactory(ContactFactory, prisoner=factory.SelfAttribute("..prisoner"))
    number_dialled = factory.SelfAttribute("contact.phone_number")
    locality = factory.SelfAttribute("contact.locality")
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=2))
    deadline = factory.LazyAttribute(lambda c: c.started_at + datetime.timedelta(minutes=15))
    ended_at = factory.LazyAttribute(lambda c: c.started_at + datetime.timedelta(minutes=10))
    outcome = Call.Outcome.CONNECTED
    language = "ru"
    monitor = factory.SubFactory(UserFactory)


class ScheduleWindowFactory(factory.django.DjangoModelFactory):
    """Mondays 09:00–10:00 in 15-minute slots unless told otherwise."""

    class Meta:
        model = ScheduleWindow

    line = factory.SubFactory(LineFactory)
    weekday = ScheduleWindow.Weekday.MONDAY
    starts_at = datetime.time(9, 0)
    ends_at = datetime.time(10, 0)
    slot_minutes = 15


class AirRaidAlertFactory(factory.django.DjangoModelFactory):
    """An alert in progress, sounded ten minutes ago. Saves directly: no call is
    interrupted and no slot suspended; use calls.services.start_alert for that."""

    class Meta:
        model = AirRaidAlert

    site = factory.SubFactory(SiteFactory)
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(minutes=10))
    started_by = factory.SubFactory(UserFactory)


class LetterFactory(factory.django.DjangoModelFactory):
    """A card the prisoner handed in yesterday, not yet moved along. Saves directly;
    use letters.services to test recording itself."""

    class Meta:
        model = Letter

    prisoner = factory.SubFactory(PrisonerFactory)
    site = factory.SelfAttribute("prisoner.site")
    kind = Letter.Kind.CARD
    direction = Letter.Direction.SENT
    channel = Letter.Channel.POST
    handed_in_on = factory.LazyAttribute(
        lambda letter: letter.prisoner.site.today() - datetime.timedelta(days=1)
    )
    recorded_by = factory.SubFactory(UserFactory)


def login_verified(client, user):
    """Log ``user`` in on ``client`` with a session that passed two-factor log-in, as
    supervisors' and administrators' sessions must (camp.two_factor): a confirmed phone
    device for the user, remembered in the session as django-otp does."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
