"""A person's reason tag: overrides whatever a code, the buyer's words or a rule said, and stays (the
classification never writes over a tag whose source is "person"). Every change is audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record, snapshot
from acorn.tenancy.models import Tenant
from refunds.models import ReasonTag, Refund, Return, TagSource

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_TAG_FIELDS = ["tag", "tag_source"]


def _check_tag(tag: str) -> None:
    if tag not in ReasonTag.values:
        raise ValidationError(_("Choose a reason tag from the list."))


@transaction.atomic
def tag_set(*, tenant: Tenant, record: Refund | Return, tag: str, actor: User) -> Refund | Return:
    """Set a refund's or return's reason tag as a person's decision (tag_source=person). Saves; audited with
    before/after (action ``refunds.refund.tag`` or ``refunds.return.tag``)."""
    if record.tenant_id != tenant.pk:
        raise ValueError(f"{record._meta.model_name} of another tenant")
    _check_tag(tag)
    before = snapshot(record, _TAG_FIELDS)
    record.tag, record.tag_source, record.updated_at = tag, TagSource.PERSON, timezone.now()
    record.save(update_fields=["tag", "tag_source", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"refunds.{record._meta.model_name}.tag",
        target=record,
        before=before,
        after=snapshot(record, _TAG_FIELDS),
    )
    return record
