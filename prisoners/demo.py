"""Invented prisoners for the demo and for trying the pages by hand.

The rows are made in Python and written with PostgreSQL COPY (``copy_rows``), a
second's worth per statement, because going through ``prisoners.services`` costs
some twenty queries a prisoner. They keep the rules the services keep: ISNs in
the site's sequence with its counter moved on under the same row lock, names
transliterated, a dated registration entry in the status history, contacts in
E.164 decided by a supervisor, and the database checks every constraint as the
rows go in. One audit entry records the step. The names, numbers and places are
made up.

``Progress``, ``reserve_ids`` and ``copy_rows`` serve the calls demo as well.
"""

import datetime
import functools
import itertools
import time
from collections.abc import Iterable, Sequence
from random import Random

import phonenumbers
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg import sql

from camp import audit
from camp.models import Site
from prisoners.models import Contact, Prisoner, Status, StatusChange
from prisoners.transliteration import to_latin

MALE_FIRST_NAMES = [
    "Александр", "Алексей", "Андрей", "Артём", "Борис", "Вадим", "Василий", "Виктор",
    "Виталий", "Владимир", "Геннадий", "Денис", "Дмитрий", "Евгений", "Егор", "Иван",
    "Игорь", "Кирилл", "Константин", "Максим", "Михаил", "Никита", "Николай", "Олег",
    "Павел", "Роман", "Руслан", "Сергей", "Станислав", "Юрий", "Ярослав", "Олександр",
    "Богдан", "Тарас", "Остап", "Степан",
]  # fmt: skip
FEMALE_FIRST_NAMES = [
    "Анна", "Валентина", "Галина", "Дарья", "Екатерина", "Елена", "Ирина", "Людмила",
    "Марина", "Наталья", "Ольга", "Светлана", "Татьяна", "Юлия", "Оксана", "Олена",
]  # fmt: skip
# Surnames with their feminine form, for the women among the contacts.
SURNAMES = [
    ("Иванов", "Иванова"), ("Смирнов", "Смирнова"), ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"), ("Соколов", "Соколова"), ("Лебедев", "Лебедева"),
    ("Козлов", "Козлова"), ("Новиков", "Новикова"), ("Морозов", "Морозова"),
    ("Волков", "Волкова"), ("Соловьёв", "Соловьёва"), ("Васильев", "Васильева"),
    ("Зайцев", "Зайцева"), ("Павлов", "Павлова"), ("Семёнов", "Семёнова"),
    ("Голубев", "Голубева"), ("Виноградов", "Виноградова"), ("Богданов", "Богданова"),
    ("Воробьёв", "Воробьёва"), ("Фёдоров", "Фёдорова"), ("Михайлов", "Михайлова"),
    ("Беляев", "Беляева"), ("Тарасов", "Тарасова"), ("Белов", "Белова"),
    ("Комаров", "Комарова"), ("Орлов", "Орлова"), ("Киселёв", "Киселёва"),
    ("Макаров", "Макарова"), ("Андреев", "Андреева"), ("Ковалёв", "Ковалёва"),
    ("Ильин", "Ильина"), ("Гусев", "Гусева"), ("Титов", "Титова"),
    ("Кузьмин", "Кузьмина"), ("Кудрявцев", "Кудрявцева"), ("Баранов", "Баранова"),
    ("Куликов", "Куликова"), ("Алексеев", "Алексеева"), ("Степанов", "Степанова"),
    ("Яковлев", "Яковлева"), ("Сорокин", "Сорокина"), ("Сергеев", "Сергеева"),
    ("Романов", "Романова"), ("Захаров", "Захарова"), ("Борисов", "Борисова"),
    ("Королёв", "Королёва"), ("Герасимов", "Герасимова"), ("Пономарёв", "Пономарёва"),
    ("Григорьев", "Григорьева"), ("Лазарев", "Лазарева"), ("Медведев", "Медведева"),
    ("Ершов", "Ершова"), ("Никитин", "Никитина"), ("Соболев", "Соболева"),
    ("Рябов", "Рябова"), ("Поляков", "Полякова"), ("Цветков", "Цветкова"),
    ("Данилов", "Данилова"), ("Жуков", "Жукова"), ("Фролов", "Фролова"),
    ("Шевченко", "Шевченко"), ("Коваленко", "Коваленко"), ("Бондаренко", "Бондаренко"),
    ("Ткаченко", "Ткаченко"), ("Кравченко", "Кравченко"), ("Олейник", "Олейник"),
    ("Мельник", "Мельник"), ("Полищук", "Полищук"), ("Ковальчук", "Ковальчук"),
    ("Савчук", "Савчук"), ("Гончаренко", "Гончаренко"), ("Левченко", "Левченко"),
]  # fmt: skip
FATHERS = [
    ("Александр", "Александрович"), ("Алексей", "Алексеевич"), ("Андрей", "Андреевич"),
    ("Виктор", "Викторович"), ("Владимир", "Владимирович"), ("Геннадий", "Геннадьевич"),
    ("Дмитрий", "Дмитриевич"), ("Евгений", "Евгеньевич"), ("Иван", "Иванович"),
    ("Игорь", "Игоревич"), ("Михаил", "Михайлович"), ("Николай", "Николаевич"),
    ("Олег", "Олегович"), ("Павел", "Павлович"), ("Сергей", "Сергеевич"),
    ("Юрий", "Юрьевич"), ("Анатолий", "Анатольевич"), ("Василий", "Васильевич"),
]  # fmt: skip
ALIASES = ["Кузя", "Старый", "Малой", "Шрам", "Лис", "Тихий", "Борода", "Сибиряк"]
RANKS = [
    "рядовой", "рядовой", "рядовой", "ефрейтор", "младший сержант", "сержант",
    "старший сержант", "прапорщик", "лейтенант", "старший лейтенант", "капитан",
]  # fmt: skip
# (city, region) at home: where the prisoners were born and their families live.
HOMETOWNS = [
    ("Курск", "Курская область"), ("Белгород", "Белгородская область"),
    ("Брянск", "Брянская область"), ("Воронеж", "Воронежская область"),
    ("Ростов-на-Дону", "Ростовская область"), ("Краснодар", "Краснодарский край"),
    ("Саратов", "Саратовская область"), ("Самара", "Самарская область"),
    ("Пермь", "Пермский край"), ("Екатеринбург", "Свердловская область"),
    ("Челябинск", "Челябинская область"), ("Новосибирск", "Новосибирская область"),
    ("Омск", "Омская область"), ("Иркутск", "Иркутская область"),
    ("Улан-Удэ", "Республика Бурятия"), ("Кызыл", "Республика Тыва"),
    ("Казань", "Республика Татарстан"), ("Уфа", "Республика Башкортостан"),
    ("Тула", "Тульская область"), ("Псков", "Псковская область"),
]  # fmt: skip
CAPTURE_PLACES = [
    "Донецкая область", "Луганская область", "Харьковская область",
    "Запорожская область", "Херсонская область", "Курская область",
]  # fmt: skip
MILITARY_UNITS = ["в/ч 11111", "в/ч 22222", "в/ч 33333", "в/ч 44444", "в/ч 55555"]
# Who a contact is, and whether that person is a woman (for the name and surname).
RELATIONSHIPS = [
    (Contact.Relationship.MOTHER, True),
    (Contact.Relationship.WIFE, True),
    (Contact.Relationship.FATHER, False),
    (Contact.Relationship.SISTER, True),
    (Contact.Relationship.BROTHER, False),
    (Contact.Relationship.DAUGHTER, True),
    (Contact.Relationship.SON, False),
    (Contact.Relationship.PARTNER, True),
    (Contact.Relationship.FRIEND, False),
]
# Russian mobile prefixes (+7 9xx) that phonenumbers accepts as valid.
MOBILE_PREFIXES = [
    "900", "903", "905", "906", "909", "910", "912", "915", "916", "917",
    "919", "920", "925", "926", "950", "960", "961", "977", "985", "999",
]  # fmt: skip

# A camp fills quickly when it opens, then takes prisoners in week by week.
OPENING_SHARE = 0.3
# Prisoners per housing unit, roughly; a small camp still has six.
PRISONERS_PER_UNIT = 250
# A COPY statement takes about this long, whatever the table: the bar advances when
# the database has taken a statement's rows.
COPY_SECONDS = 1.0
COPY_FIRST_CHUNK = 2_000
COPY_CHUNKS = (500, 100_000)
# The bar also counts the prisoners as they are invented, a thousand at a time.
GENERATED_STEP = 1_000


class Progress:
    """How far a seed step has got, for the command's progress bar; this one shows nothing.

    Work is counted in rows, written or simulated. ``stage`` names what is being
    done, ``advance`` counts rows done, and ``expect`` says how many rows are
    still to come once a step can count them better than the first estimate.
    """

    def stage(self, label: str) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass

    def expect(self, rows: int) -> None:
        pass


def reserve_ids(model: type[models.Model], count: int) -> Sequence[int]:
    """``count`` new primary keys of ``model`` from its sequence, so rows that refer
    to each other can be written with COPY in one go.

    The keys come back as a range when no other session took keys from the
    sequence meanwhile (then they are all ours), else as a list from one more
    query, the first keys left unused as a rolled-back insert leaves its own.
    Two short queries; a million keys take a third of a second.
    """
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
        (sequence,) = cursor.fetchone()
        taken = "SELECT nextval(%s::regclass) AS id FROM generate_series(1, %s)"
        cursor.execute(f"SELECT min(id), max(id) FROM ({taken}) AS taken", [sequence, count])
        first, last = cursor.fetchone()
        if last - first + 1 == count:
            return range(first, last + 1)
        cursor.execute(taken, [sequence, count])
        return [row[0] for row in cursor.fetchall()]


def copy_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    progress: Progress,
) -> int:
    """Write ``rows`` (tuples in the order of ``columns``) into ``model``'s table with
    COPY, in statements of about ``COPY_SECONDS`` each; return how many were written.

    The bar advances once the database has taken a statement's rows: checked their
    constraints and run their triggers, statement triggers once a statement.
    (Advancing as rows are sent would run ahead: the socket holds megabytes.)
    Chunks are sized from the last one's pace, since a row of slots, with its
    index of ranges, costs more than a row of contacts.
    """
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    written, chunk = 0, COPY_FIRST_CHUNK
    iterator = iter(rows)
    with connection.cursor() as cursor:
        while batch := list(itertools.islice(iterator, chunk)):
            started = time.monotonic()
            with cursor.cursor.copy(statement) as copy:
                for row in batch:
                    copy.write_row(row)
            pace = len(batch) / max(time.monotonic() - started, 0.001)
            chunk = min(max(round(pace * COPY_SECONDS), COPY_CHUNKS[0]), COPY_CHUNKS[1])
            written += len(batch)
            progress.advance(len(batch))
    return written


def expected_rows(count: int) -> int:
    """About how many rows ``seed_prisoners`` invents and writes for ``count`` prisoners."""
    return count * 5


def russian_mobile(random: Random) -> str:
    """An invented Russian mobile number in E.164 that phonenumbers deems valid."""
    while True:
        number = f"+7{random.choice(MOBILE_PREFIXES)}{random.randrange(10**7):07d}"
        if _valid_number(number):
            return number


def _valid_number(number: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(number))


# The lists hold a few hundred names: each is transliterated once.
_latin = functools.lru_cache(maxsize=None)(to_latin)


def _at(site: Site, day: datetime.date, random: Random, *, latest: datetime.datetime):
    """An office-hours moment of ``day`` at the site, never after ``latest``."""
    moment = site.day_start(day) + datetime.timedelta(minutes=random.randint(9 * 60, 17 * 60))
    return min(moment, latest)


def _identity(random: Random) -> str:
    roll = random.random()
    if roll < 0.10:
        return Prisoner.Identity.FIRST_NAME_ONLY
    if roll < 0.15:
        return Prisoner.Identity.WITHHELD
    if roll < 0.18:
        return Prisoner.Identity.ALIAS
    return Prisoner.Identity.FULL


def _arrival(random: Random, first_day: datetime.date, last_day: datetime.date) -> datetime.date:
    span = (last_day - first_day).days
    if random.random() < OPENING_SHARE:
        span = min(span, max(7, span // 20))
    return first_day + datetime.timedelta(days=random.randint(0, span))


def _registration(random: Random, *, arrived_on: datetime.date, housing_units: list[str]) -> dict:
    identity = _identity(random)
    surname, _feminine = random.choice(SURNAMES)
    father, patronymic = random.choice(FATHERS)
    hometown, region = random.choice(HOMETOWNS)
    fields = {
        "identity": identity,
        "first_names": random.choice(MALE_FIRST_NAMES),
        "arrived_on": arrived_on,
        "captured_on": arrived_on - datetime.timedelta(days=random.randint(1, 20)),
        "place_of_capture": random.choice(CAPTURE_PLACES),
        "housing_unit": random.choice(housing_units),
        "languages": ["ru"] if random.random() < 0.85 else ["ru", "uk"],
    }
    if identity == Prisoner.Identity.FIRST_NAME_ONLY:
        # He gave his first name and nothing else.
        return fields
    if identity == Prisoner.Identity.ALIAS:
        fields["alias"] = random.choice(ALIASES)
        fields["first_names"] = ""
        return fields
    fields.update(
        surname=surname,
        patronymic=patronymic,
        rank=random.choice(RANKS),
        service_number=f"{random.choice('АБВГЕКМНОРСТ')}{random.choice('АБВГЕКМНОРСТ')}-"
        f"{random.randrange(10**6):06d}",
        date_of_birth=datetime.date(random.randint(1968, 2005), random.randint(1, 12), 1)
        + datetime.timedelta(days=random.randint(0, 27)),
        place_of_birth=hometown,
        power_depends_on="Российская Федерация",
        father_first_name=father,
        mother_maiden_name=random.choice(SURNAMES)[1],
        person_to_inform_address=f"{region}, {hometown}",
    )
    if random.random() < 0.3:
        fields["rank"] = f"{fields['rank']}, {random.choice(MILITARY_UNITS)}"
    return fields


def _contacts(random: Random, registration: dict) -> list[dict]:
    """One to three family members at the prisoner's home, each with a distinct number."""
    surname = next((pair for pair in SURNAMES if pair[0] == registration.get("surname")), None)
    hometown, region = next(
        (place for place in HOMETOWNS if place[0] == registration.get("place_of_birth")),
        random.choice(HOMETOWNS),
    )
    contacts = []
    numbers = set()
    for relationship, is_woman in random.sample(RELATIONSHIPS, k=random.randint(1, 3)):
        first = random.choice(FEMALE_FIRST_NAMES if is_woman else MALE_FIRST_NAMES)
        family = (surname[1] if is_woman else surname[0]) if surname else ""
        number = russian_mobile(random)
        while number in numbers:
            number = russian_mobile(random)
        numbers.add(number)
        contacts.append(
            {
                "name": f"{first} {family}".strip(),
                "relationship": relationship,
                "phone_number": number,
                "city": hometown,
                "region": region,
                "country": "RU",
                "language": "ru",
            }
        )
    return contacts


def _status_changes(random: Random, arrived_on: datetime.date, today: datetime.date):
    """A few prisoners went to hospital (some came back), a few were transferred or exchanged."""
    roll = random.random()
    span = (today - arrived_on).days
    if span < 2 or roll > 0.12:
        return []
    admitted = arrived_on + datetime.timedelta(days=random.randint(1, span - 1))
    if roll < 0.05:
        return [(Status.IN_HOSPITAL, admitted, "Военный госпиталь, перелом ноги.")]
    if roll < 0.08:
        back = admitted + datetime.timedelta(
            days=random.randint(1, max(1, (today - admitted).days))
        )
        return [
            (Status.IN_HOSPITAL, admitted, "Пневмония."),
            (Status.INTERNED, min(back, today), "Выписан из госпиталя."),
        ]
    if roll < 0.11:
        return [(Status.TRANSFERRED, admitted, "Переведён в другой лагерь.")]
    return [(Status.EXCHANGED, admitted, "Обмен пленными.")]


PRISONER_COLUMNS = [
    "id", "isn", "site_id", "identity", "surname", "first_names", "patronymic", "alias",
    "surname_latin", "first_names_latin", "patronymic_latin", "rank", "service_number",
    "date_of_birth", "place_of_birth", "power_depends_on", "father_first_name",
    "mother_maiden_name", "person_to_inform", "person_to_inform_address", "captured_on",
    "place_of_capture", "arrived_on", "housing_unit", "languages", "status", "created_at",
]  # fmt: skip
# The registration fields a prisoner row is built from; any left out is blank.
_TEXT_FIELDS = [
    "surname", "first_names", "patronymic", "alias", "rank", "service_number",
    "place_of_birth", "power_depends_on", "father_first_name", "mother_maiden_name",
    "person_to_inform", "person_to_inform_address", "place_of_capture", "housing_unit",
]  # fmt: skip
CONTACT_COLUMNS = [
    "id", "prisoner_id", "name", "relationship", "phone_number", "city", "region", "country",
    "language", "status", "requested_by_id", "requested_at", "decided_by_id", "decided_at",
    "revoke_reason",
]  # fmt: skip
STATUS_CHANGE_COLUMNS = [
    "prisoner_id", "status", "effective_on", "note", "recorded_by_id", "recorded_at",
]  # fmt: skip
REVOKE_REASON = "Номер не принадлежит родственнику."


def seed_prisoners(
    *,
    site: Site,
    actor,
    count: int = 300,
    weeks: int = 12,
    random: Random,
    progress: Progress | None = None,
) -> list[Prisoner]:
    """Register ``count`` invented prisoners at ``site``, with contacts and status changes.

    Arrivals spread over the last ``weeks`` weeks (a third in the first days, when
    the camp opened), the latest three days ago; contacts are asked for on arrival
    and most are decided within days by ``actor``. Runs in the caller's
    transaction: a few queries and COPY statements, about two seconds per 10,000
    prisoners. Returns the prisoners, unsaved objects with their
    primary keys, in ISN order.
    """
    progress = progress or Progress()
    progress.stage(_("prisoners"))
    today = site.today()
    now = timezone.now()
    first_day = today - datetime.timedelta(weeks=weeks)
    last_day = max(first_day, today - datetime.timedelta(days=3))
    housing_units = [f"B{n}" for n in range(1, max(6, -(-count // PRISONERS_PER_UNIT)) + 1)]
    # The site row lock makes concurrent registrations wait, as register_prisoner does.
    locked = Site.objects.select_for_update().get(pk=site.pk)
    first_serial = locked.last_serial + 1
    locked.last_serial += count
    locked.save(update_fields=["last_serial"])
    ids = reserve_ids(Prisoner, count)
    prisoners, prisoner_rows, contact_rows, change_rows = [], [], [], []
    for number, pk in enumerate(ids):
        arrived_on = _arrival(random, first_day, last_day)
        fields = _registration(random, arrived_on=arrived_on, housing_units=housing_units)
        contacts = _contacts(random, fields)
        if fields.get("surname"):
            fields["person_to_inform"] = contacts[0]["name"]
        registered_at = _at(site, arrived_on, random, latest=now)
        changes = _status_changes(random, arrived_on, today)
        status = changes[-1][0] if changes else Status.INTERNED
        prisoner = Prisoner(
            pk=pk,
            site=site,
            isn=f"{site.code}-{first_serial + number:05d}",
            status=status,
            created_at=registered_at,
            **fields,
        )
        for name in _TEXT_FIELDS:
            setattr(prisoner, name, fields.get(name, ""))
        prisoner.surname_latin = _latin(prisoner.surname)
        prisoner.first_names_latin = _latin(prisoner.first_names)
        prisoner.patronymic_latin = _latin(prisoner.patronymic)
        prisoner._state.adding = False
        prisoner._state.db = connection.alias
        prisoners.append(prisoner)
        if len(prisoners) % GENERATED_STEP == 0:
            progress.advance(GENERATED_STEP)
        prisoner_rows.append(tuple(getattr(prisoner, column) for column in PRISONER_COLUMNS))
        contact_rows.extend(_contact_rows(site, prisoner, contacts, actor, random, now))
        change_rows.append((pk, Status.INTERNED, arrived_on, "", actor.pk, registered_at))
        for status, effective_on, note in changes:
            change_rows.append(
                (
                    pk,
                    status,
                    effective_on,
                    note,
                    actor.pk,
                    _at(site, effective_on, random, latest=now),
                )
            )
    progress.advance(len(prisoners) % GENERATED_STEP)
    progress.expect(len(prisoner_rows) + len(contact_rows) + len(change_rows))
    contact_ids = reserve_ids(Contact, len(contact_rows))
    copy_rows(Prisoner, PRISONER_COLUMNS, prisoner_rows, progress=progress)
    copy_rows(
        Contact,
        CONTACT_COLUMNS,
        ((pk, *row) for pk, row in zip(contact_ids, contact_rows, strict=True)),
        progress=progress,
    )
    copy_rows(StatusChange, STATUS_CHANGE_COLUMNS, change_rows, progress=progress)
    if prisoners:
        audit.record(
            actor=actor,
            action="prisoners.prisoner.registered",
            target=site,
            site=site,
            data={
                "demo": True,
                "prisoners": len(prisoner_rows),
                "isn_from": prisoners[0].isn,
                "isn_to": prisoners[-1].isn,
                "contacts": len(contact_rows),
                "status_changes": len(change_rows),
            },
        )
    return prisoners


def _contact_rows(site, prisoner, contacts, actor, random, now) -> list[tuple]:
    """The prisoner asks for his contacts on arrival; a supervisor decides most within days."""
    rows = []
    for fields in contacts:
        requested_at = _at(
            site,
            prisoner.arrived_on + datetime.timedelta(days=random.randint(0, 2)),
            random,
            latest=now,
        )
        decided_at = min(requested_at + datetime.timedelta(hours=random.randint(20, 96)), now)
        roll = random.random()
        if roll < 0.8:
            status, decided, reason = Contact.Status.APPROVED, True, ""
        elif roll < 0.85:
            status, decided, reason = Contact.Status.REVOKED, True, REVOKE_REASON
        else:
            status, decided, reason = Contact.Status.PENDING, False, ""
        rows.append(
            (
                prisoner.pk,
                fields["name"],
                fields["relationship"],
                fields["phone_number"],
                fields["city"],
                fields["region"],
                fields["country"],
                fields["language"],
                status,
                actor.pk,
                requested_at,
                actor.pk if decided else None,
                decided_at if decided else None,
                reason,
            )
        )
    return rows
