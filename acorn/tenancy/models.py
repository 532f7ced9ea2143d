"""Tenants, memberships, invitations and the base class of every tenant-owned model."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from acorn.dates import DEFAULT_TIME_ZONE, validate_time_zone
from acorn.money import validate_currency_code


class Plan(models.TextChoices):
    BASIC = "basic", _("Basic")
    PRO = "pro", _("Pro")
    CUSTOM = "custom", _("Custom")


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    OPERATOR = "operator", _("Operator")
    FINANCE = "finance", _("Finance")
    SUPPORT = "support", _("Customer service")


class ProductCategory(models.TextChoices):
    ELECTRONICS = "electronics", _("Electronics and accessories")
    HOME = "home", _("Home and kitchen")
    APPAREL = "apparel", _("Clothing, shoes and jewellery")
    BEAUTY = "beauty", _("Beauty and personal care")
    SPORTS = "sports", _("Sports and outdoors")
    TOYS = "toys", _("Toys and games")
    AUTOMOTIVE = "automotive", _("Automotive")
    PET = "pet", _("Pet supplies")
    OFFICE = "office", _("Office and stationery")
    OTHER = "other", _("Other")


class Tenant(models.Model):
    """A seller company: the unit of isolation. Every tenant-owned row points here."""

    name = models.CharField(_("company name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    main_category = models.CharField(
        _("main product category"),
        max_length=30,
        choices=ProductCategory.choices,
        default=ProductCategory.OTHER,
    )
    contact_name = models.CharField(_("contact person"), max_length=200)
    phone = models.CharField(
        _("phone"),
        max_length=32,
        validators=[
            RegexValidator(r"^\+?[0-9][0-9 ()\-]{5,30}$", _("Enter a phone number such as +86 138 0000 0000."))
        ],
    )
    reporting_currency = models.CharField(
        _("reporting currency"), max_length=3, default="USD", validators=[validate_currency_code]
    )
    # The zone dates are shown in (acorn.dates); stored moments stay UTC. Existing tenants start on UTC, new ones
    # on a guess from the reporting currency (acorn.dates.default_time_zone_for_currency).
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=DEFAULT_TIME_ZONE, validators=[validate_time_zone]
    )
    plan = models.CharField(_("plan"), max_length=10, choices=Plan.choices, default=Plan.BASIC)
    # Only used by the custom plan: limits negotiated per tenant.
    custom_max_stores = models.PositiveIntegerField(_("custom store limit"), null=True, blank=True)
    custom_max_users = models.PositiveIntegerField(_("custom user limit"), null=True, blank=True)
    custom_retention_months = models.PositiveIntegerField(
        _("custom data retention (months)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    # A plan change that shortened the retention: the months in force before it, applied for 30 days after
    # the change (acorn.tenancy.retention.RETENTION_SHRINK_GRACE) so that nothing goes without warning.
    retention_previous_months = models.PositiveIntegerField(
        _("retention before the plan change"), null=True, blank=True
    )
    retention_changed_at = models.DateTimeField(_("retention shortened"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Account closure (acorn.tenancy.retention): closed by the owner, inactive from then on; its data is
    # deleted by the nightly retention job once the grace period has passed, unless the owner reopens it.
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    data_deleted_at = models.DateTimeField(_("data deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(plan="custom")
                | models.Q(
                    custom_max_stores__isnull=False,
                    custom_max_users__isnull=False,
                    custom_retention_months__isnull=False,
                ),
                name="tenant_custom_plan_has_limits",
            ),
            models.CheckConstraint(
                condition=models.Q(custom_retention_months__isnull=True) | models.Q(custom_retention_months__gte=1),
                name="tenant_custom_retention_at_least_one_month",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TenantScopedModel(models.Model):
    """Base of every tenant-owned model: a tenant FK and a manager that refuses unscoped queries."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", verbose_name=_("tenant"))

    objects: ClassVar[Any] = ScopedManager(tenant="tenant")

    class Meta:
        abstract = True


class Membership(TenantScopedModel):
    """A user's seat in a tenant, with the role that gates what they may do."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    email_notifications = models.BooleanField(_("email notifications"), default=True)
    created_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user_per_tenant")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.role})"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class Invitation(TenantScopedModel):
    """An emailed offer to join a tenant with a role. The token is the only secret; it is single use."""

    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    token = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One open invitation per address and tenant; history (accepted, revoked) may repeat.
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=models.Q(status="pending"),
                name="invitation_unique_pending_email_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.tenant_id} ({self.role})"

    @property
    def is_usable(self) -> bool:
        return self.status == InvitationStatus.PENDING and self.expires_at > timezone.now()


class UserPreference(models.Model):
    """What one person prefers whichever company they work in: the language of the console (from sign-in on),
    of their emails and of their notifications. Blank: the language of their browser."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference", verbose_name=_("user")
    )
    language = models.CharField(_("language"), max_length=10, blank=True, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return f"{self.user} ({self.language or '-'})"
