"""Forms for sign-up, the company profile, the team and plans. Forms only validate."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm
from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from acorn.dates import time_zone_choices
from acorn.money import currency_choices
from acorn.tenancy import services
from acorn.tenancy.models import Plan, ProductCategory, Role, Tenant
from acorn.tenancy.permissions import least_privileged_role


class CompanyFieldsMixin(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    contact_name = forms.CharField(label=_("Contact person"), max_length=200)
    phone = forms.RegexField(
        label=_("Phone"),
        max_length=32,
        regex=r"^\+?[0-9][0-9 ()\-]{5,30}$",
        error_messages={"invalid": _("Enter a phone number such as +86 138 0000 0000.")},
    )
    main_category = forms.ChoiceField(label=_("Main product category"), choices=ProductCategory.choices)
    reporting_currency = forms.ChoiceField(
        label=_("Reporting currency"),
        choices=currency_choices,
        initial="USD",
        help_text=_("Profit and journals are reported in this currency."),
    )


class CompanySignupForm(CompanyFieldsMixin, SignupForm):
    """allauth's sign-up plus the company: user, tenant and owner membership are created all or none."""

    field_order = [
        "company_name",
        "contact_name",
        "phone",
        "main_category",
        "reporting_currency",
        "email",
        "password1",
        "password2",
    ]

    def try_save(self, request: HttpRequest) -> Any:
        with transaction.atomic():
            return super().try_save(request)

    def custom_signup(self, request: HttpRequest, user: Any) -> None:
        services.tenant_create(
            name=self.cleaned_data["company_name"],
            owner=user,
            contact_name=self.cleaned_data["contact_name"],
            phone=self.cleaned_data["phone"],
            main_category=self.cleaned_data["main_category"],
            reporting_currency=self.cleaned_data["reporting_currency"],
        )


class CompanyCreateForm(CompanyFieldsMixin):
    """A signed-in user with no company creates one."""


class TenantProfileForm(forms.ModelForm):
    reporting_currency = forms.ChoiceField(label=_("Reporting currency"), choices=currency_choices)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        help_text=_("Dates and times in the console and in emails are shown in this zone."),
    )

    class Meta:
        model = Tenant
        fields = ["name", "contact_name", "phone", "main_category", "reporting_currency", "time_zone"]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=[])

    def __init__(self, *args: Any, assignable_roles: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [  # type: ignore[attr-defined]
            (value, label) for value, label in Role.choices if value in assignable_roles
        ]
        if assignable_roles:
            # Pre-select the least privileged role, so that a hurried "Invite" never hands out more than meant.
            self.fields["role"].initial = least_privileged_role(assignable_roles)


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class PlanChangeForm(forms.Form):
    plan = forms.ChoiceField(label=_("Plan"), choices=[(Plan.BASIC, Plan.BASIC.label), (Plan.PRO, Plan.PRO.label)])


class AcceptInvitationForm(forms.Form):
    """A new user accepting an invitation picks a password; the email is the invitation's."""

    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(
        label=_("Password (again)"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("You must type the same password each time."))
        elif first:
            from django.contrib.auth import get_user_model

            try:
                password_validation.validate_password(first, get_user_model()(email=self.email, username=self.email))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class NotificationPreferenceForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("The console uses it from sign-in on; your emails and notifications are written in it."),
    )
    email_notifications = forms.BooleanField(label=_("Email me my notifications"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [  # type: ignore[attr-defined]
            ("", _("The browser's language")),
            *[(code, translation.get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES],
        ]


class TenantCloseForm(forms.Form):
    """Closing the account: the owner types the company name to confirm."""

    confirm_name = forms.CharField(
        label=_("Type the company name to confirm"),
        max_length=200,
        error_messages={"required": _("Type the company name to confirm.")},
    )

    def __init__(self, *args: Any, company_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.company_name = company_name

    def clean_confirm_name(self) -> str:
        value: str = self.cleaned_data["confirm_name"].strip()
        if value != self.company_name:
            raise forms.ValidationError(_("Type the company name exactly as shown to close the account."))
        return value


class TenantReopenForm(forms.Form):
    tenant_id = forms.IntegerField(widget=forms.HiddenInput)
