"""The finance console's pages. Reading needs `finance.view`; uploading a settlement file also `finance.import`."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from channels.models import Platform
from channels.selectors import store_list
from finance.forms import SettlementUploadForm
from finance.settlements.files import settlement_file_import
from finance.settlements.services import SettlementImportError

# --- settlement file upload -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@tenant_member_required("finance.view")
@tenant_member_required("finance.import")
def settlement_upload_view(request: TenantRequest) -> HttpResponse:
    """Upload a settlement V2 flat file into one of the company's Amazon stores: all of it, or nothing and the
    line and column of the problem."""
    stores = store_list(tenant=request.tenant).filter(platform=Platform.AMAZON)
    form = SettlementUploadForm(request.POST or None, request.FILES or None, stores=stores)
    problem: SettlementImportError | None = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = settlement_file_import(
                store=form.cleaned_data["store"], file=upload, filename=upload.name, actor=request.user
            )
        except SettlementImportError as error:
            problem = error
        else:
            settlement = result.settlement
            if result.created:
                text = _("Settlement %(id)s imported: %(lines)d lines.") % {
                    "id": settlement.external_id,
                    "lines": settlement.line_count,
                }
                messages.success(request, text)
            else:
                messages.info(request, _("Settlement %(id)s was already imported.") % {"id": settlement.external_id})
            return redirect("finance:settlement-detail", settlement_pk=settlement.pk)
    failed = bool(form.errors) or problem is not None
    context = {"form": form, "problem": problem, "has_stores": stores.exists()}
    return render(request, "finance/settlement_upload.html", context, status=400 if failed else 200)
