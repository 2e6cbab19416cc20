from camp.roles import Role, roles_of


def roles(request):
    """Which navigation entries to show; every view still checks the role itself."""
    held = roles_of(request.user)
    return {
        "is_guard": Role.GUARD in held,
        "is_supervisor": bool(held & {Role.SUPERVISOR, Role.ADMINISTRATOR}),
        "is_administrator": Role.ADMINISTRATOR in held,
    }


# The entry of the main navigation a page belongs to: by its URL namespace, or, in the
# calls app that the desk, logbook, bookings and schedule share, by its URL name.
SECTION_OF_NAMESPACE = {
    "prisoners": "prisoners",
    "letters": "mail",
    "reports": "reports",
    "exports": "exports",
}
SECTION_OF_CALLS_PAGE = {
    **dict.fromkeys(
        ["desk", "desk-live", "call-start", "call-end", "alert-start", "alert-end"], "desk"
    ),
    "booking-no-show": "desk",
    **dict.fromkeys(
        ["logbook", "logbook-day-pdf", "call-transcribe", "call-detail", "call-amend"], "logbook"
    ),
    **dict.fromkeys(["booking-list", "slot-book", "booking-cancel"], "bookings"),
    **dict.fromkeys(
        ["schedule", "line-add", "line-toggle", "window-add", "window-remove", "slots-generate"],
        "schedule",
    ),
    "policy-add": "schedule",
    # Suspensions are recorded from the prisoner's page.
    "suspension-add": "prisoners",
}


def section(request):
    """Which navigation entry to mark as the current section (``aria-current``)."""
    match = request.resolver_match
    if match is None:
        return {"section": ""}
    if match.namespace == "calls":
        return {"section": SECTION_OF_CALLS_PAGE.get(match.url_name, "")}
    if match.url_name == "audit-trail":
        return {"section": "audit"}
    return {"section": SECTION_OF_NAMESPACE.get(match.namespace, "")}
