"""Helpers for the browser tests: logging in as staff do, screenshots, and layout checks.

The fixtures that hand these a browser page are in ``conftest.py`` beside this module.
"""

import os
import time
from pathlib import Path

from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

SCREENSHOTS = Path(__file__).parent / "screenshots"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The password tests.factories.UserFactory gives every staff member.
PASSWORD = "correct horse battery staple"


def enrol_phone(user) -> TOTPDevice:
    """A confirmed authenticator for ``user``, as after enrolment at /account/two-factor/setup/."""
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    """The six digits the user's phone shows now for ``device``."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def log_in(page: Page, user, *, password: str = PASSWORD, device: TOTPDevice | None = None):
    """Log ``user`` in through the log-in page, as a person would: type the username and
    password and, for a user with an authenticator (``device``; supervisors and
    administrators must have one, see ``enrol_phone``), the code it shows now. Ends on
    the user's start page (a guard's desk)."""
    page.goto(reverse("login"))
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(password)
    page.locator("#id_password").press("Enter")
    if device is not None:
        page.wait_for_url(f"**{reverse('two_factor:verify')}**")
        page.locator("#id_token").fill(current_code(device))
        page.locator("#id_token").press("Enter")
    page.wait_for_load_state()
    expect(page.locator("#id_password")).to_have_count(0)


def screenshot(page: Page, name: str, *, full_page: bool = True, docs: bool = False) -> Path:
    """Save the page as ``tests/e2e/screenshots/<name>.png`` (not kept in git) and return
    its path: the whole page, or with ``full_page=False`` the window as the user sees it
    (where elements fixed to the window's edges are in place). ``docs=True`` marks a
    picture the README shows: with ``SCREENSHOTS_FOR_DOCS=1`` in the environment it is
    written to ``docs/screenshots/`` too, so refreshing them is a deliberate step."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    if docs and os.environ.get("SCREENSHOTS_FOR_DOCS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (DOCS_SCREENSHOTS / f"{name}.png").write_bytes(path.read_bytes())
    return path


# Every rendered element whose box reaches past the window's left or right edge; elements
# hidden for all but screen readers (Bootstrap's visually-hidden, 1×1 px) are ignored.
_OVERFLOWING = """
() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;
    if (box.left < -0.5 || box.right > width + 0.5) {
      const id = element.id ? `#${element.id}` : "";
      const classes = element.classList.length ? `.${[...element.classList].join(".")}` : "";
      const where = `${Math.round(box.left)}..${Math.round(box.right)}`;
      found.push(`${element.tagName.toLowerCase()}${id}${classes} ${where}`);
    }
  }
  if (document.documentElement.scrollWidth > width) {
    found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
  }
  return found;
}
"""


def elements_wider_than_the_window(page: Page) -> list[str]:
    """What makes ``page`` scroll sideways: each element past the window's edges, described
    as ``tag#id.classes left..right``; empty when everything fits."""
    return page.evaluate(_OVERFLOWING)


def within_the_window(page: Page, selector: str) -> bool:
    """Whether the element ``selector`` is wholly inside the window's width."""
    box = page.locator(selector).bounding_box()
    width = page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
