from django.utils import timezone


class SiteTimezoneMiddleware:
    """Show times in the zone of the staff member's (first) site; they are stored in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        site = user.sites.order_by("pk").first() if user.is_authenticated else None
        if site is not None:
            timezone.activate(site.zone)
        else:
            timezone.deactivate()
        request.site = site
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
