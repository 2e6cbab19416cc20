"""Form plumbing shared by every app."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from camp.audit import ACTION_LABELS
from camp.history import tracked
from camp.models import User


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


class LanguageForm(forms.Form):
    """The interface language a staff member (or the log-in page) asks for."""

    language = forms.ChoiceField(choices=settings.LANGUAGES)


class AuditFilterForm(forms.Form):
    """The audit page's filters: who, which object, which action, which days. Choices
    are the administrator's own: their sites' staff, the labels of the actions."""

    actor = forms.ModelChoiceField(
        label=_("Who"), queryset=None, required=False, empty_label=_("Anyone")
    )
    target_type = forms.ChoiceField(label=_("Object"), required=False)
    target_id = forms.IntegerField(label=_("Number"), required=False, min_value=1)
    action = forms.ChoiceField(label=_("What"), required=False)
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        staff = User.objects.order_by("username")
        if not user.is_superuser:
            staff = staff.filter(
                pk__in=User.objects.filter(sites__in=user.sites.values("pk")).values("pk")
            )
        self.fields["actor"].queryset = staff
        self.fields["target_type"].choices = [
            ("", _("Any object")),
            *sorted(
                (
                    (model._meta.label_lower, capfirst(model._meta.verbose_name))
                    for model in tracked()
                ),
                key=lambda choice: str(choice[1]),
            ),
        ]
        self.fields["action"].choices = [
            ("", _("Any action")),
            *sorted(ACTION_LABELS.items(), key=lambda choice: str(choice[1])),
        ]
        self.helper = fields_only_helper()

    def clean(self):
        data = super().clean()
        if data.get("target_id") and not data.get("target_type"):
            self.add_error("target_type", _("Choose what kind of object the number is."))
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_to < date_from:
            self.add_error("date_to", _("The end is before the start."))
        return data


class _UsernameLengthChecked:
    """Django's log-in forms give the username field a ``max_length`` but no validator
    for it, so any length reached ``authenticate()``, and django-axes failed to record a
    name longer than its column: 500. A name no account can have is refused here."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))


class LoginForm(_UsernameLengthChecked, AuthenticationForm):
    """The log-in page's form."""


class AdminLoginForm(_UsernameLengthChecked, AdminAuthenticationForm):
    """The admin's log-in form."""
