"""Forms of the supervisor's review pages."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class ResolveFlagForm(forms.Form):
    """The supervisor's note on a flagged call; kept as the reason of the amendment
    that clears the flag."""

    note = forms.CharField(
        label=gettext_lazy("Note on the review"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Write a note on what the review found.")},
    )

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("Write a note on what the review found."))
        return note
