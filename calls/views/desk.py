"""Placeholder until the views of this module land."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


desk = call_start = call_end = alert_start = alert_end = booking_no_show = _todo
