"""factory_boy factories for the core models."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from acorn.tenancy.models import Invitation, Membership, Plan, Role, Tenant

TEST_PASSWORD = "correct-horse-battery-9"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.LazyAttribute(lambda o: o.email)
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Seller {n} Co.")
    slug = factory.Sequence(lambda n: f"seller-{n}")
    contact_name = "Zhang San"
    phone = "+86 755 1234 5678"
    reporting_currency = "CNY"
    plan = Plan.PRO


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OPERATOR


class InvitationFactory(DjangoModelFactory):
    class Meta:
        model = Invitation

    tenant = factory.SubFactory(TenantFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.OPERATOR
    token = factory.Sequence(lambda n: f"token-{n:08d}-abcdefghijklmnop")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class StoreFactory(DjangoModelFactory):
    class Meta:
        model = "sales_channels.Store"

    tenant = factory.SubFactory(TenantFactory)
    platform = "amazon"
    name = factory.Sequence(lambda n: f"Amazon store {n}")
    region = "NA"
    marketplaces = factory.LazyFunction(lambda: ["US", "CA"])
    seller_id = factory.Sequence(lambda n: f"A{n:012d}")
    status = "active"
    permissions = factory.LazyFunction(lambda: ["orders", "inventory", "finance", "returns", "reports"])


class SyncRunFactory(DjangoModelFactory):
    class Meta:
        model = "sales_channels.SyncRun"

    store = factory.SubFactory(StoreFactory)
    tenant = factory.SelfAttribute("store.tenant")
    resource = "orders"
    trigger = "schedule"
    trace_id = factory.Sequence(lambda n: f"{n:032x}")
    status = "succeeded"
