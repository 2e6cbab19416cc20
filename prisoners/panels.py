"""Sections that other apps add to the prisoner page.

The registry depends on nobody: calls and letters register their sections here
when they load (``AppConfig.ready``), and the page shows what they render, in the
order registered. A section is a function of the request and the prisoner that
returns HTML and runs a fixed number of queries.
"""

from collections.abc import Callable

from django.utils.safestring import SafeString

Section = Callable[..., SafeString]
_sections: list[Section] = []


def register(section: Section) -> Section:
    if section not in _sections:
        _sections.append(section)
    return section


def sections_for(request, prisoner) -> list[SafeString]:
    return [section(request, prisoner) for section in _sections]
