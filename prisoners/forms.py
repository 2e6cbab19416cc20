from django import forms
from django.utils.translation import gettext_lazy as _

from camp.models import Site
from prisoners.models import Prisoner


class PrisonerFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, help_text=_("ISN or any part of a name.")
    )
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), required=False)
    housing_unit = forms.ChoiceField(label=_("Housing unit"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any")), *Prisoner.Status.choices], required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        sites = user.sites.all()
        self.fields["site"].queryset = sites
        units = (
            Prisoner.objects.filter(site__in=sites)
            .exclude(housing_unit="")
            .order_by("housing_unit")
            .values_list("housing_unit", flat=True)
            .distinct()
        )
        self.fields["housing_unit"].choices = [("", _("Any")), *((unit, unit) for unit in units)]
