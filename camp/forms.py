"""Form plumbing shared by every app."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.core.exceptions import ValidationError


def fields_only_helper(*layout) -> FormHelper:
    """A crispy helper for fields only: the templates write the <form> tag, the CSRF
    token and the buttons."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    if layout:
        helper.layout = Layout(*layout)
    return helper


def add_service_error(
    form: forms.BaseForm, error: ValidationError, *, fields: dict[str, str] | None = None
) -> None:
    """Show a service's refusal on ``form``: each message beside the field it names
    (``fields`` maps the service's names to the form's), anything else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        name = (fields or {}).get(name, name)
        form.add_error(name if name in form.fields else None, errors)
