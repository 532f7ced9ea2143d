"""A person's language: kept as their preference (UserPreference), put in Django's language cookie at sign-in
so that LocaleMiddleware serves the console in it, and used for whatever is written to them (emails,
notifications) with `translation.override(language_for(user=...))`."""

from __future__ import annotations

from typing import TypeVar

from django.conf import settings
from django.http import HttpResponseBase

Response = TypeVar("Response", bound=HttpResponseBase)


def language_cookie_set(response: Response, language: str) -> Response:
    """Make LocaleMiddleware serve `language` from the next request on ("" leaves the browser to choose)."""
    if not language:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return response
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
