"""The project's URLs, plus a stand-in for `finance:settlement-detail` where the settlement page is not in this
tree yet (the upload redirects to it). Once the page exists, this is exactly the project's URL map."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path

from acorn import urls as project_urls
from finance import urls as finance_urls


def _settlement_page_stand_in(request: HttpRequest, settlement_pk: int) -> HttpResponse:
    return HttpResponse(str(settlement_pk))


_finance: list[URLPattern | URLResolver] = list(finance_urls.urlpatterns)
if "settlement-detail" not in {getattr(pattern, "name", None) for pattern in _finance}:
    _finance.append(path("settlements/<int:settlement_pk>/", _settlement_page_stand_in, name="settlement-detail"))

urlpatterns = [
    *(pattern for pattern in project_urls.urlpatterns if getattr(pattern, "namespace", None) != "finance"),
    path("app/finance/", include((_finance, "finance"))),
]
handler403 = project_urls.handler403
handler404 = project_urls.handler404
