"""The demo tenant. Later capabilities add their stores, catalogue and data here, idempotently."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction

from acorn.tenancy.models import Membership, Plan, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from acorn.tenancy.services import tenant_create

DEMO_SLUG = "demo-trading-co"
DEMO_NAME = "Demo Trading Co."
DEMO_PASSWORD = "acorn-demo-2026"
DEMO_MEMBERS = [
    (Role.OWNER, "owner@demo.acorn.local"),
    (Role.ADMIN, "admin@demo.acorn.local"),
    (Role.OPERATOR, "operator@demo.acorn.local"),
    (Role.FINANCE, "finance@demo.acorn.local"),
    (Role.SUPPORT, "support@demo.acorn.local"),
]


def _demo_user(email: str) -> Any:
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).first()
    if user is None:
        user = user_model(username=email, email=email, first_name=email.split("@")[0].title())
        user.set_password(DEMO_PASSWORD)
        user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def _demo_stores(tenant: Tenant, owner: Any) -> list[dict[str, Any]]:
    """The Amazon NA and EU stores, on the simulator (`make run` starts it at ACORN_SIMULATOR_URL)."""
    from django.conf import settings

    from channels.models import DataPermission, Platform, Store
    from channels.services import store_authorize, store_create
    from channels.simulator.demo import DEMO_SELLERS

    stores = []
    for demo in DEMO_SELLERS:
        store = Store.objects.filter(tenant=tenant, name=demo.store_name).first()
        if store is None:
            store = store_create(
                tenant=tenant,
                actor=owner,
                membership=None,
                platform=Platform.AMAZON,
                name=demo.store_name,
                region=demo.region,
                marketplaces=list(demo.marketplaces),
                permissions=DataPermission.values,
                endpoint=settings.ACORN_SIMULATOR_URL,
            )
            store_authorize(
                store=store,
                actor=owner,
                seller_id=demo.selling_partner_id,
                secrets={"refresh_token": demo.refresh_token},
            )
        stores.append({"store_id": store.pk, "name": store.name, "status": store.status})
    return stores


@transaction.atomic
def demo_seed() -> dict[str, Any]:
    """Create (or complete) the demo tenant with one member per role. Running it twice changes nothing."""
    owner = _demo_user(DEMO_MEMBERS[0][1])
    tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
    if tenant is None:
        tenant = tenant_create(
            name=DEMO_NAME,
            slug=DEMO_SLUG,
            owner=owner,
            contact_name="Li Wei",
            phone="+86 755 8888 0000",
            main_category="electronics",
            reporting_currency="CNY",
            plan=Plan.PRO,
        )
    with tenant_scope(tenant):
        for role, email in DEMO_MEMBERS[1:]:
            user = _demo_user(email)
            Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
        stores = _demo_stores(tenant, owner)
    return {
        "stores": stores,
        "tenant": tenant.slug,
        "tenant_id": tenant.pk,
        "logins": [{"role": str(role), "email": email} for role, email in DEMO_MEMBERS],
    }
