"""allauth adapter: sign-up can be closed by environment (invite-only deployments); account emails are written in
the recipient's language; signing in starts the console in the person's chosen language."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from acorn.tenancy.languages import language_cookie_set
from acorn.tenancy.selectors import language_for, user_language


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(getattr(settings, "ACORN_SIGNUP_OPEN", True))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Verification, password reset and the other account emails, as text with the ACORN-branded HTML beside it
        (templates/account/email/), in the recipient's language: their preference when they have an account and
        chose one, else the language of the request that caused the email (a new sign-up reads it in the
        language they signed up in)."""
        user = context.get("user") or get_user_model().objects.filter(email__iexact=email).first()
        with translation.override(language_for(user=user, fallback=translation.get_language())):
            super().send_mail(template_prefix, email, context)

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        """After signing in, the console speaks the person's chosen language (Django's language cookie, which
        LocaleMiddleware reads on every request); with no choice, the browser's language as before."""
        language = user_language(user=user)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = super().post_login(request, user, **kwargs)
        if language:
            language_cookie_set(response, language)
        return response
