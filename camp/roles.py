"""Staff roles, their groups and the one decorator that enforces them."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GUARD = "guard", _("Guard")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMINISTRATOR = "administrator", _("Administrator")


def roles_of(user) -> frozenset[str]:
    """The role names a user holds; cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, "_camp_roles"):
        names = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMINISTRATOR)
        user._camp_roles = frozenset(names)
    return user._camp_roles


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_supervisor(user) -> bool:
    """Supervisors and administrators see full identities and may decide on contacts."""
    return has_role(user, Role.SUPERVISOR, Role.ADMINISTRATOR)


def role_required(*roles: str):
    """Allow the view to users holding any of ``roles``; others get 403.

    Anonymous users never reach here: LoginRequiredMiddleware sends them to log in.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


STAFF = (Role.GUARD, Role.SUPERVISOR, Role.ADMINISTRATOR)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMINISTRATOR)
