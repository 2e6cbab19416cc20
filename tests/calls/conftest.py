import zoneinfo

import pytest
from django.utils import timezone


@pytest.fixture(autouse=True)
def midday_at_the_site(monkeypatch):
    """Run every calls test at midday at the site, whatever the real hour.

    Tests build slots and calls an hour or so either side of now and expect them
    on the desk of "today"; near midnight they would fall on another day. The
    clock still runs: only the hour of the day is moved.
    """
    real_now = timezone.now
    local = real_now().astimezone(zoneinfo.ZoneInfo("Europe/Kyiv"))
    offset = local.replace(hour=12, minute=0, second=0, microsecond=0) - local
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)
