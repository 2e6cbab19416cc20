"""Invented prisoners for the demo and for trying the pages by hand.

Everything goes through ``prisoners.services``, so the demo data keeps every rule
the real data keeps (ISNs, transliteration, audit entries, the contact limit).
The names, numbers and places are made up.
"""

import datetime
from collections.abc import Callable
from random import Random

import phonenumbers

from camp.models import Site
from prisoners import services
from prisoners.models import Contact, Prisoner, Status

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
HOUSING_UNITS = ["B1", "B2", "B3", "B4", "B5", "B6"]
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


def russian_mobile(random: Random) -> str:
    """An invented Russian mobile number in E.164 that phonenumbers deems valid."""
    while True:
        number = f"+7{random.choice(MOBILE_PREFIXES)}{random.randrange(10**7):07d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def _identity(random: Random) -> str:
    roll = random.random()
    if roll < 0.10:
        return Prisoner.Identity.FIRST_NAME_ONLY
    if roll < 0.15:
        return Prisoner.Identity.WITHHELD
    if roll < 0.18:
        return Prisoner.Identity.ALIAS
    return Prisoner.Identity.FULL


def _registration(random: Random, today: datetime.date) -> dict:
    identity = _identity(random)
    surname, _ = random.choice(SURNAMES)
    father, patronymic = random.choice(FATHERS)
    hometown, region = random.choice(HOMETOWNS)
    arrived_on = today - datetime.timedelta(days=random.randint(3, 540))
    fields = {
        "identity": identity,
        "first_names": random.choice(MALE_FIRST_NAMES),
        "arrived_on": arrived_on,
        "captured_on": arrived_on - datetime.timedelta(days=random.randint(1, 20)),
        "place_of_capture": random.choice(CAPTURE_PLACES),
        "housing_unit": random.choice(HOUSING_UNITS),
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


def _status_changes(random: Random, prisoner: Prisoner, today: datetime.date):
    """A few prisoners went to hospital (some came back), a few were transferred."""
    roll = random.random()
    span = (today - prisoner.arrived_on).days
    if span < 2 or roll > 0.12:
        return []
    admitted = prisoner.arrived_on + datetime.timedelta(days=random.randint(1, span - 1))
    if roll < 0.05:
        return [(Status.IN_HOSPITAL, admitted, "Военный госпиталь, перелом ноги.")]
    if roll < 0.08:
        back = admitted + datetime.timedelta(days=random.randint(0, (today - admitted).days))
        return [
            (Status.IN_HOSPITAL, admitted, "Пневмония."),
            (Status.INTERNED, back, "Выписан из госпиталя."),
        ]
    if roll < 0.11:
        return [(Status.TRANSFERRED, admitted, "Переведён в другой лагерь.")]
    return [(Status.EXCHANGED, admitted, "Обмен пленными.")]


def _seed_one(*, site: Site, actor, random: Random, today: datetime.date) -> Prisoner:
    registration = _registration(random, today)
    contacts = _contacts(random, registration)
    if registration.get("surname"):
        registration["person_to_inform"] = contacts[0]["name"]
    prisoner = services.register_prisoner(site=site, actor=actor, **registration)
    for fields in contacts:
        contact = services.add_contact(prisoner=prisoner, actor=actor, **fields)
        # Most requests are decided; a few wait for a supervisor, one in twenty is refused.
        roll = random.random()
        if roll < 0.8:
            services.approve_contact(contact=contact, actor=actor)
        elif roll < 0.85:
            services.revoke_contact(
                contact=contact, reason="Номер не принадлежит родственнику.", actor=actor
            )
    for status, effective_on, note in _status_changes(random, prisoner, today):
        services.change_status(
            prisoner=prisoner, status=status, effective_on=effective_on, note=note, actor=actor
        )
    return prisoner


def seed_prisoners(
    *,
    site: Site,
    actor,
    count: int = 300,
    random: Random,
    progress: Callable[[int, int], None] | None = None,
) -> list[Prisoner]:
    """Register ``count`` invented prisoners at ``site``, with contacts and status changes.

    ``actor`` registers and decides; ``progress(done, count)`` is called every 50
    prisoners and at the end. About five queries per prisoner and twelve per contact.
    """
    prisoners = []
    today = site.today()
    for done in range(1, count + 1):
        prisoners.append(_seed_one(site=site, actor=actor, random=random, today=today))
        if progress and (done % 50 == 0 or done == count):
            progress(done, count)
    return prisoners
