"""Latin spellings of Cyrillic names.

Names are stored as recorded (Cyrillic) and in the ICAO Doc 9303 spelling of passports
(``to_latin``). Staff also meet the other common spellings: Wikipedia's and BGN/PCGN's
("Sergey", "Grigoryev"), GOST and the Ministry of Internal Affairs' (iuliia ships these
for Russian), and Ukraine's national scheme of 2010 ("Serhii", "Hryhorii"), which iuliia
does not ship. ``latin_key`` folds what these schemes spell differently, so any of them
finds the ICAO spelling on record.
"""

import iuliia
from django.db.models import Func, Value
from django.db.models.functions import Lower, Replace

# iuliia's ICAO table covers the Russian alphabet; Doc 9303 also spells the
# Ukrainian letters, which the table leaves untouched.
_UKRAINIAN = str.maketrans(
    {"Ґ": "G", "ґ": "g", "Є": "Ie", "є": "ie", "І": "I", "і": "i", "Ї": "I", "ї": "i"}
)

# Soft and hard signs: BGN/PCGN ’ and ”, GOST ' and '', scientific ʹ and ʺ, or nothing.
_SIGNS = "'’ʹʺ”\"`"

# Applied in order to the lower-cased spelling. Multi-letter spellings of one Cyrillic
# letter become one upper-case mark first, so that the folds after them (h, y) leave
# them alone.
_FOLDS = [
    # BGN/PCGN keeps ё as it is.
    ("ё", "e"),
    # "Alexander": x is the English spelling of кс.
    ("x", "ks"),
    # щ: shch (ICAO, Wikipedia, BGN), shh (GOST 7.0.34), sch (Yandex).
    ("shch", "W"),
    ("shh", "W"),
    ("sch", "W"),
    ("kh", "X"),
    ("zh", "Z"),
    ("ch", "C"),
    ("sh", "S"),
    # ц: ts, tc (GOST R 52535), cz or c (GOST 7.0.34).
    ("ts", "T"),
    ("tc", "T"),
    ("cz", "T"),
    ("c", "T"),
    # г: g in Russian, h in the Ukrainian scheme (Hryhorii for Григорій).
    ("h", "g"),
    # й, ы, и: i, y or j; and the iotated vowels я, ю, є, ё: ia/ya/ja, iu/yu/ju, ie/ye, io/yo.
    ("y", "i"),
    ("j", "i"),
    ("ii", "i"),
    ("ii", "i"),
    ("ia", "a"),
    ("ie", "e"),
    ("iu", "u"),
    ("io", "e"),
]


def to_latin(text: str) -> str:
    return iuliia.ICAO_DOC_9303.translate(text.translate(_UKRAINIAN))


def latin_key(expression):
    """SQL: the Latin spelling ``expression`` with what the schemes spell differently
    folded away: "Sergey", "Sergej" and "Sergei" all give ``sergei``; "Grigoryev",
    "Grigor’yev" and "Grigorev" give ``grigorev``. Only for comparing one key with
    another: the key is not a spelling anyone reads. Immutable functions only, so a
    key of a constant is computed once per query."""
    key = Func(Lower(expression), Value(_SIGNS), Value(""), function="translate")
    for spelling, folded in _FOLDS:
        key = Replace(key, Value(spelling), Value(folded))
    return key


def query_spellings(word: str) -> list[str]:
    """The Latin spellings a search word stands for: its ICAO spelling (itself, if it is
    written in Latin), and for an English given name ending in -er (Alexander, Peter)
    also the Slavic -r (Aleksandr, Petr)."""
    latin = to_latin(word)
    spellings = [latin]
    if len(latin) > 4 and latin.lower().endswith("er"):
        spellings.append(latin[:-2] + "r")
    return spellings
