"""A tenant's connection to its QuickBooks Online company, through which ACORN posts journals.

One connection per tenant. The OAuth tokens (and, for a company connected from the command line, the app's
client id and secret) are encrypted at rest in `secrets`; the access token lasts an hour and is refreshed
before it runs out and whenever QuickBooks answers 401; the refresh token is replaced by the new one each
refresh returns. `api_base` is where the company's API lives (ACORN_QUICKBOOKS_API_BASE, or a test double).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.crypto import EncryptedJSONField
from acorn.tenancy.models import TenantScopedModel


class QuickBooksStatus(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NEEDS_REAUTH = "needs_reauth", _("Needs to be connected again")
    DISCONNECTED = "disconnected", _("Disconnected")


class QuickBooksConnection(TenantScopedModel):
    """The tenant's QuickBooks Online company and the tokens to reach it."""

    realm_id = models.CharField(_("company id (realm)"), max_length=32)
    company_name = models.CharField(_("company"), max_length=255, blank=True)
    home_currency = models.CharField(_("home currency"), max_length=3, blank=True)
    multicurrency = models.BooleanField(_("multicurrency"), default=False)
    api_base = models.CharField(_("API address"), max_length=255)
    status = models.CharField(
        _("status"), max_length=20, choices=QuickBooksStatus.choices, default=QuickBooksStatus.CONNECTED
    )
    # {"client_id", "client_secret" (only when connected with the company's own app), "access_token",
    #  "refresh_token"}: never logged, never shown.
    secrets = EncryptedJSONField(default=dict)
    access_expires_at = models.DateTimeField(_("access token expires"), null=True, blank=True)
    refresh_expires_at = models.DateTimeField(_("refresh token expires"), null=True, blank=True)
    connected_at = models.DateTimeField(_("connected"), default=timezone.now)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("connected by"),
    )
    last_error = models.TextField(_("last error"), blank=True)
    last_posted_at = models.DateTimeField(_("last posting"), null=True, blank=True)
    accounts_matched_at = models.DateTimeField(_("accounts read"), null=True, blank=True)
    # The names of ACORN's accounts that no QuickBooks account matched when the accounts were last read.
    unmatched_accounts = models.JSONField(_("unmatched accounts"), default=list, blank=True)

    class Meta:
        verbose_name = _("QuickBooks connection")
        verbose_name_plural = _("QuickBooks connections")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="quickbooks_connection_one_per_tenant")]

    def __str__(self) -> str:
        return f"QuickBooks {self.realm_id}"

    def __repr__(self) -> str:
        return f"<QuickBooksConnection tenant={self.tenant_id} realm={self.realm_id}>"

    def secret_values(self) -> dict[str, Any]:
        """The decrypted secrets as a dict (a copy)."""
        return dict(self.secrets or {})  # type: ignore[arg-type]  # EncryptedJSONField holds a dict

    def set_secrets(self, values: dict[str, Any]) -> None:
        self.secrets = dict(values)  # type: ignore[assignment]  # EncryptedJSONField holds a dict
