"""The Ukrainian catalogue is complete, current and compiled: `make messages` refreshes it."""

import fnmatch
import re

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext, ngettext

CATALOGUE = settings.BASE_DIR / "locale" / "uk" / "LC_MESSAGES"
# What `make messages` leaves out (Makefile, MESSAGES_IGNORE), and the catalogue itself.
IGNORED = [".venv", "var", "tests", "bench", "docs", "*.egg-info", "locale"]
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*[sdf]")


@pytest.fixture(scope="module")
def catalogue() -> polib.POFile:
    return polib.pofile(str(CATALOGUE / "django.po"))


def keys(entries) -> set[tuple[str | None, str]]:
    return {(entry.msgctxt, entry.msgid) for entry in entries if not entry.obsolete}


def test_every_entry_is_translated(catalogue):
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    assert untranslated == []
    assert [entry.msgid for entry in catalogue.fuzzy_entries()] == []
    assert not catalogue.metadata_is_fuzzy
    assert catalogue.obsolete_entries() == []


def test_plurals_have_the_three_ukrainian_forms(catalogue):
    assert catalogue.metadata["Plural-Forms"].startswith("nplurals=3;")
    for entry in catalogue:
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == [0, 1, 2], entry.msgid
            assert all(entry.msgstr_plural.values()), entry.msgid


def test_translations_keep_the_placeholders(catalogue):
    for entry in catalogue:
        if entry.msgid_plural:
            wanted = set(PLACEHOLDER.findall(entry.msgid_plural))
            for form in entry.msgstr_plural.values():
                # Ukrainian "one" also covers 21, 31 ...: every form shows the number.
                assert set(PLACEHOLDER.findall(form)) == wanted, (entry.msgid, form)
        else:
            found = sorted(PLACEHOLDER.findall(entry.msgstr))
            assert found == sorted(PLACEHOLDER.findall(entry.msgid)), entry.msgid


def test_compiled_catalogue_matches_the_source(catalogue):
    compiled = polib.mofile(str(CATALOGUE / "django.mo"))
    assert {(e.msgctxt, e.msgid): e.msgstr for e in compiled if not e.msgid_plural} == {
        (e.msgctxt, e.msgid): e.msgstr for e in catalogue if not e.msgid_plural
    }
    assert {(e.msgctxt, e.msgid): e.msgstr_plural for e in compiled if e.msgid_plural} == {
        (e.msgctxt, e.msgid): e.msgstr_plural for e in catalogue if e.msgid_plural
    }


def test_catalogue_holds_every_string_of_the_code(catalogue, settings, tmp_path, monkeypatch):
    """What `makemessages` extracts from the code and templates now is what the catalogue
    translates: a new string (or one no longer used) means `make messages` is due.

    The sources are linked into an empty folder and extracted there, so the committed
    catalogue is neither read nor written."""
    for source in settings.BASE_DIR.iterdir():
        if not source.name.startswith(".") and not any(
            fnmatch.fnmatch(source.name, pattern) for pattern in IGNORED
        ):
            (tmp_path / source.name).symlink_to(source)
    monkeypatch.chdir(tmp_path)
    settings.LOCALE_PATHS = [tmp_path / "extracted"]
    call_command("makemessages", locale=["uk"], symlinks=True, verbosity=0)
    extracted = keys(polib.pofile(str(tmp_path / "extracted" / "uk" / "LC_MESSAGES" / "django.po")))
    assert sorted(extracted - keys(catalogue)) == [], "make messages, then translate them"
    assert sorted(keys(catalogue) - extracted) == [], "make messages drops these"


def test_ukrainian_plural_forms_are_applied():
    with translation.override("uk"):
        assert [
            ngettext("%(count)d slot created.", "%(count)d slots created.", n) % {"count": n}
            for n in (1, 3, 5, 21, 22, 11)
        ] == [
            "Створено 1 слот.",
            "Створено 3 слоти.",
            "Створено 5 слотів.",
            "Створено 21 слот.",
            "Створено 22 слоти.",
            "Створено 11 слотів.",
        ]
        assert gettext("Air-raid alert") == "Повітряна тривога"
