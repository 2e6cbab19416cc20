"""Placeholder until the views of this module land."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


logbook = call_transcribe = call_detail = call_amend = _todo
