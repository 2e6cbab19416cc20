"""The letters' section of the prisoner page (see ``prisoners.panels``)."""

from django.template.loader import render_to_string

from letters.selectors import letters_of, month_summary

RECENT = 5


def letters_section(request, prisoner):
    """The latest items of the register and this month's Art. 71 counts. Three queries."""
    return render_to_string(
        "letters/_prisoner_section.html",
        {
            "prisoner": prisoner,
            "recent_letters": list(letters_of(prisoner=prisoner)[:RECENT]),
            "month": month_summary(prisoner=prisoner, day=prisoner.site.today()),
        },
        request=request,
    )
