from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from camp.roles import STAFF, is_supervisor, role_required
from prisoners.forms import PrisonerFilterForm
from prisoners.selectors import prisoner_search

PAGE_SIZE = 50


@require_GET
@role_required(*STAFF)
def prisoner_list(request):
    form = PrisonerFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    prisoners = prisoner_search(
        user=request.user,
        text=filters.get("q", ""),
        site=filters.get("site"),
        housing_unit=filters.get("housing_unit", ""),
        status=filters.get("status", ""),
        reveal_withheld=is_supervisor(request.user),
    )
    page = Paginator(prisoners, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "prisoners/prisoner_list.html",
        {
            "form": form,
            "page_obj": page,
            "prisoners": page.object_list,
            "show_full_identity": is_supervisor(request.user),
            "query_without_page": f"{query.urlencode()}&" if query else "",
        },
    )
