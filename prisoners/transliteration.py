"""Latin spelling of Cyrillic names by the ICAO Doc 9303 scheme (passports, MRZ)."""

import iuliia

# iuliia's ICAO table covers the Russian alphabet; Doc 9303 also spells the
# Ukrainian letters, which the table leaves untouched.
_UKRAINIAN = str.maketrans(
    {"Ґ": "G", "ґ": "g", "Є": "Ie", "є": "ie", "І": "I", "і": "i", "Ї": "I", "ї": "i"}
)


def to_latin(text: str) -> str:
    return iuliia.ICAO_DOC_9303.translate(text.translate(_UKRAINIAN))
