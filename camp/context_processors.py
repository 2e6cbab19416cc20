from camp.roles import Role, roles_of


def roles(request):
    """Which navigation entries to show; every view still checks the role itself."""
    held = roles_of(request.user)
    return {
        "is_guard": Role.GUARD in held,
        "is_supervisor": bool(held & {Role.SUPERVISOR, Role.ADMINISTRATOR}),
        "is_administrator": Role.ADMINISTRATOR in held,
    }
