"""Every audited action reads as words in the audit log, in both languages."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from acorn.audit.labels import ACTION_LABELS, action_label
from acorn.tenancy.models import Tenant

ROOT = Path(__file__).resolve().parents[2]
APPS = ["acorn", "channels", "inventory", "orders", "refunds", "finance"]
# action="tenant.created" in an audit_record(...) call; argparse's action="store_true" has no dot.
ACTION = re.compile(r'\baction="([a-z_]+\.[a-z_.]+)"')


def _recorded_actions() -> set[str]:
    found: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found.update(ACTION.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_action_the_code_records_has_a_label() -> None:
    actions = _recorded_actions()
    assert len(actions) > 80  # the scan found the calls
    assert sorted(actions - set(ACTION_LABELS)) == []


@pytest.mark.parametrize(("language", "expected"), [("en", "Refund approved"), ("zh-hans", "退款已批准")])
def test_a_label_reads_in_the_language_and_an_unknown_action_shows_its_code(language: str, expected: str) -> None:
    with translation.override(language):
        assert action_label("refunds.refund_approved") == expected
        assert action_label("something.new") == "something.new"
        assert all(str(label) != "" for label in ACTION_LABELS.values())


def test_stored_values_read_as_words_in_the_readers_language() -> None:
    from acorn.console.templatetags.console import audit_value

    with translation.override("zh-hans"):
        assert audit_value(True) == "是" and audit_value(False) == "否"
        assert audit_value(None) == "—"
        assert audit_value({"active": False, "note": None, "roles": ["owner", "admin"]}) == (
            "active: 否; note: —; roles: owner, admin"
        )
    with translation.override("en"):
        assert audit_value(True) == "yes" and audit_value(Decimal("12.50")) == "12.50"


@pytest.mark.django_db
def test_a_change_names_the_models_field_in_the_readers_language(tenant: Tenant) -> None:
    from acorn.audit.models import AuditEvent
    from acorn.tenancy.scoping import tenant_scope

    with tenant_scope(tenant):
        event = AuditEvent(
            tenant=tenant,
            action="inventory.product_updated",
            object_type="inventory.product",
            before={"name": "Mug", "push_enabled": True, "no_such_field": 1},
            after={"name": "Mug 2"},
        )
        with translation.override("zh-hans"):
            fields = [field for field, _before, _after in event.changes]
    chinese = [any("\u4e00" <= char <= "\u9fff" for char in field) for field in fields]
    # the product's own field, then a field of another ACORN model (a sharing rule's), then the key as written
    assert chinese == [True, True, False] and fields[2] == "no_such_field"
    assert AuditEvent(tenant=tenant, object_type="gone.model", after={"x": 1}).changes == [("x", None, 1)]
