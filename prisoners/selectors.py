"""Reads of the prisoner registry, always limited to the sites a staff member serves."""

import re

from django.db.models import Case, Q, QuerySet, Value, When
from django.http import Http404

from prisoners.models import Contact, Prisoner, StatusChange
from prisoners.transliteration import latin_key, query_spellings, to_latin


def visible_prisoners(*, user) -> QuerySet[Prisoner]:
    """Prisoners of the sites ``user`` is assigned to."""
    return Prisoner.objects.filter(site__in=user.sites.all())


def get_prisoner_for_user(*, user, pk: int) -> Prisoner:
    """The prisoner with ``pk`` if ``user`` serves its site; 404 otherwise."""
    try:
        return visible_prisoners(user=user).select_related("site").get(pk=pk)
    except Prisoner.DoesNotExist:
        raise Http404 from None


def get_contact_for_user(*, user, pk: int) -> Contact:
    """The contact with ``pk`` if ``user`` serves its prisoner's site; 404 otherwise."""
    try:
        return (
            Contact.objects.filter(prisoner__in=visible_prisoners(user=user))
            .select_related("prisoner__site")
            .get(pk=pk)
        )
    except Contact.DoesNotExist:
        raise Http404 from None


def status_history(*, prisoner: Prisoner) -> list[StatusChange]:
    """The prisoner's status changes, newest first, with who recorded them. One query."""
    return list(prisoner.status_changes.select_related("recorded_by"))


def contacts_of(*, prisoner: Prisoner) -> list[Contact]:
    """The prisoner's contacts: pending, then approved, then revoked, each by name.

    With who requested and who decided each one; one query.
    """
    order = Case(
        When(status=Contact.Status.PENDING, then=Value(0)),
        When(status=Contact.Status.APPROVED, then=Value(1)),
        default=Value(2),
    )
    return list(
        prisoner.contacts.select_related("requested_by", "decided_by").order_by(order, "name", "pk")
    )


# An ISN as ``prisoners.services.register_prisoner`` issues it: site code, dash, five digits.
WHOLE_ISN = re.compile(r"[A-Za-z][A-Za-z0-9]{1,7}-\d{5,}")


def prisoner_search(
    *,
    user,
    text: str = "",
    site=None,
    housing_unit: str = "",
    status: str = "",
    reveal_withheld: bool = False,
) -> QuerySet[Prisoner]:
    """Search by ISN or any part of a name, in Cyrillic or Latin script.

    A Cyrillic query is also transliterated, so "Олександр" and "Oleksandr" find
    the same prisoners, and a Latin name matches in any common scheme's spelling
    ("Sergey", "Grigoryev", "Hryhorii"; ``prisoners.transliteration.latin_key``).
    Unless ``reveal_withheld``, withheld identities match only on what may be shown
    of them (ISN, first name, alias). A whole ISN as issued (``MC-00042``) is looked
    up on its unique index; anything else is a substring scan, which at tens of
    thousands of rows stays in milliseconds (see bench/prisoner_search.py).
    """
    prisoners = visible_prisoners(user=user).select_related("site")
    if site is not None:
        prisoners = prisoners.filter(site=site)
    if housing_unit:
        prisoners = prisoners.filter(housing_unit=housing_unit)
    if status:
        prisoners = prisoners.filter(status=status)
    if WHOLE_ISN.fullmatch(text.strip()):
        return prisoners.filter(isn=text.strip().upper()).order_by("isn")
    for word in text.split():
        latin = to_latin(word)
        shown_to_all = (
            Q(isn__icontains=word)
            | Q(first_names__icontains=word)
            | Q(first_names_latin__icontains=latin)
            | Q(alias__icontains=word)
        )
        full_identity = (
            Q(surname__icontains=word)
            | Q(patronymic__icontains=word)
            | Q(surname_latin__icontains=latin)
            | Q(patronymic_latin__icontains=latin)
        )
        for spelling in query_spellings(word):
            key = latin_key(Value(spelling))
            shown_to_all |= Q(first_names_key__contains=key)
            full_identity |= Q(surname_key__contains=key) | Q(patronymic_key__contains=key)
        if not reveal_withheld:
            # A match on a hidden surname would reveal it to whoever searched.
            full_identity &= ~Q(identity=Prisoner.Identity.WITHHELD)
        prisoners = prisoners.filter(shown_to_all | full_identity)
    return prisoners.order_by("isn")
