"""A logged-in test client for the benchmarks, as a staff member after two-factor
log-in (``camp.two_factor``): supervisors and administrators must pass it."""

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def verified_client(user) -> Client:
    """A client logged in as ``user`` whose session passed two-factor log-in with a
    phone device made for the benchmark (reused on later runs)."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, name="Benchmark", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
