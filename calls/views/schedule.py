"""Placeholder until the views of this module land."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


schedule = line_add = line_toggle = window_add = window_remove = slots_generate = policy_add = _todo
booking_list = slot_book = booking_cancel = suspension_add = _todo
