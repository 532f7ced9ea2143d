"""Forms for connecting stores. Forms only validate."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from acorn.netguard import HostNotFound, HostNotPublic, host_ensure_public, url_host
from channels.adapters.shopify import normalize_shop_domain
from channels.adapters.woocommerce import normalize_site_url
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE, REGION_MARKETPLACES, marketplace_code
from channels.models import AMAZON_REGION_MARKETPLACES, DataPermission, Region, Store, SyncRunStatus


def marketplace_label(code: str) -> str:
    """ "JP — Japan (Amazon.co.jp)" in the active language."""
    marketplace = AMAZON_MARKETPLACE_TABLE.get(code)
    if marketplace is None:
        return code
    return f"{code} — {gettext(marketplace.name)} ({marketplace.site_name})"


def marketplace_choices(codes: list[str] | tuple[str, ...] | None = None) -> list[tuple[str, Any]]:
    """Choices grouped by selling region, from the one marketplace table (all of them, or the codes given)."""
    groups: list[tuple[str, Any]] = []
    for region, region_codes in REGION_MARKETPLACES.items():
        members = [(code, marketplace_label(code)) for code in region_codes if codes is None or code in codes]
        if members:
            groups.append((str(Region(region).label), members))
    return groups


class _MarketplacesField(forms.MultipleChoiceField):
    """Marketplace codes; "GB" or lower case are read as ACORN's codes ("UK")."""

    def to_python(self, value: Any) -> list[str]:
        return [marketplace_code(str(item)) or str(item) for item in super().to_python(value)]


class AmazonConnectForm(forms.Form):
    name = forms.CharField(label=_("Store name"), max_length=100, help_text=_("For example “Amazon US”."))
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices, initial=Region.NA)
    marketplaces = _MarketplacesField(
        label=_("Marketplaces"),
        widget=forms.CheckboxSelectMultiple,
        initial=["US"],
        help_text=_(
            "Choose where you sell. After you authorise, ACORN asks Amazon which marketplaces your account "
            "really sells on and warns you about the others."
        ),
    )
    permissions = forms.MultipleChoiceField(
        label=_("Data ACORN may read"),
        choices=DataPermission.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=DataPermission.values,
    )
    endpoint = forms.URLField(
        label=_("API endpoint"),
        required=False,
        assume_scheme="http",
        help_text=_("Leave blank for Amazon. Only for the built-in simulator or a test double."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["marketplaces"].choices = marketplace_choices()  # type: ignore[attr-defined]
        if settings.ACORN_ALLOW_CUSTOM_ENDPOINTS:
            self.fields["endpoint"].initial = settings.ACORN_SIMULATOR_URL
        else:
            del self.fields["endpoint"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        region, marketplaces = cleaned.get("region"), cleaned.get("marketplaces") or []
        if region:
            allowed = AMAZON_REGION_MARKETPLACES[region]
            wrong = [code for code in marketplaces if code not in allowed]
            if wrong:
                self.add_error(
                    "marketplaces",
                    _(
                        "%(wrong)s not in the %(region)s region (%(allowed)s). One authorisation covers one region; "
                        "connect another store for the other region."
                    )
                    % {
                        "wrong": ", ".join(wrong),
                        "region": Region(region).label,
                        "allowed": ", ".join(allowed),
                    },
                )
        return cleaned


class StoreMarketplacesForm(forms.Form):
    """Which of the seller's marketplaces ACORN reads: only those Amazon says the seller sells on."""

    marketplaces = _MarketplacesField(label=_("Marketplaces ACORN reads"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, store: Store, allowed: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"marketplaces": [code for code in store.marketplaces if code in allowed]})
        super().__init__(*args, **kwargs)
        self.fields["marketplaces"].choices = marketplace_choices(allowed)  # type: ignore[attr-defined]


class StoreRenameForm(forms.Form):
    name = forms.CharField(label=_("Store name"), max_length=100)


class StoreDeleteForm(forms.Form):
    confirm_name = forms.CharField(
        label=_("Type the store's name to confirm"), max_length=100, help_text=_("This cannot be undone.")
    )

    def __init__(self, *args: Any, store: Store, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store = store

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.store.name:
            raise forms.ValidationError(
                _("That is not the store's name. Type “%(name)s” exactly.") % {"name": self.store.name}
            )
        return typed


class SyncRunFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *SyncRunStatus.choices])


def _endpoint_field() -> forms.URLField:
    return forms.URLField(
        label=_("API endpoint"),
        required=False,
        assume_scheme="http",
        help_text=_("Leave blank for the real platform. Only for the built-in simulator or a test double."),
    )


def _refuse_private_address(url: str) -> None:
    """A store may not point ACORN's servers at private addresses, in any spelling (loopback only where custom
    endpoints are allowed: the simulator in development). The calls check again on their connections."""
    host = url_host(url)
    try:
        host_ensure_public(host, allow_loopback=settings.ACORN_ALLOW_CUSTOM_ENDPOINTS)
    except HostNotFound:
        raise forms.ValidationError(_("The address %(host)s could not be found.") % {"host": host}) from None
    except HostNotPublic:
        raise forms.ValidationError(_("The address %(host)s is not on the public internet.") % {"host": host}) from None


class ShopifyConnectForm(forms.Form):
    name = forms.CharField(label=_("Store name"), max_length=100, help_text=_("For example “Shopify EU”."))
    shop = forms.CharField(
        label=_("Shop address"), max_length=255, help_text=_("Your myshopify.com address, e.g. acme.myshopify.com.")
    )
    access_token = forms.CharField(
        label=_("Admin API access token (custom apps only)"),
        required=False,
        max_length=255,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to install ACORN's app through Shopify. Paste a token only for a custom app."),
    )
    api_secret = forms.CharField(
        label=_("API secret key (custom apps only)"),
        required=False,
        max_length=255,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("The custom app's secret: Shopify signs its webhooks with it."),
    )
    permissions = forms.MultipleChoiceField(
        label=_("Data ACORN may read"),
        choices=DataPermission.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[DataPermission.ORDERS, DataPermission.INVENTORY, DataPermission.RETURNS],
    )
    endpoint = _endpoint_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if settings.ACORN_ALLOW_CUSTOM_ENDPOINTS:
            self.fields["endpoint"].initial = settings.ACORN_SIMULATOR_URL
        else:
            del self.fields["endpoint"]

    def clean_shop(self) -> str:
        try:
            return normalize_shop_domain(self.cleaned_data["shop"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("api_secret") and not cleaned.get("access_token"):
            self.add_error("access_token", _("A custom app needs its Admin API access token as well."))
        return cleaned

    def api_endpoint(self) -> str:
        """The simulator serves each shop under /shopify/<shop>; blank means https://<shop>."""
        base = (self.cleaned_data.get("endpoint") or "").rstrip("/")
        return f"{base}/shopify/{self.cleaned_data['shop']}" if base else ""


class WooCommerceKeysForm(forms.Form):
    consumer_key = forms.CharField(
        label=_("Consumer key"), max_length=100, help_text=_("WooCommerce → Settings → Advanced → REST API, read/write")
    )
    consumer_secret = forms.CharField(
        label=_("Consumer secret"), max_length=100, widget=forms.PasswordInput(render_value=False)
    )

    def clean_consumer_key(self) -> str:
        key = self.cleaned_data["consumer_key"].strip()
        if not key.startswith("ck_"):
            raise forms.ValidationError(_("A WooCommerce consumer key starts with ck_."))
        return key

    def clean_consumer_secret(self) -> str:
        secret = self.cleaned_data["consumer_secret"].strip()
        if not secret.startswith("cs_"):
            raise forms.ValidationError(_("A WooCommerce consumer secret starts with cs_."))
        return secret


class WooCommerceConnectForm(WooCommerceKeysForm):
    name = forms.CharField(label=_("Store name"), max_length=100, help_text=_("For example “Webshop DE”."))
    site_url = forms.CharField(label=_("Site address"), max_length=200, help_text=_("e.g. https://shop.example.com"))
    permissions = forms.MultipleChoiceField(
        label=_("Data ACORN may read"),
        choices=DataPermission.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[DataPermission.ORDERS, DataPermission.INVENTORY, DataPermission.RETURNS],
    )
    field_order = ["name", "site_url", "consumer_key", "consumer_secret", "permissions"]

    def clean_site_url(self) -> str:
        try:
            url = normalize_site_url(self.cleaned_data["site_url"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        if not url.startswith("https://") and not settings.ACORN_ALLOW_CUSTOM_ENDPOINTS:
            raise forms.ValidationError(_("Use the site's https:// address: the keys must not travel unencrypted."))
        _refuse_private_address(url)
        return url
