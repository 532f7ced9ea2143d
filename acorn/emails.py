"""Emails ACORN writes to people: one way to render and send them, in the recipient's language and the tenant's
time zone, as plain text with a branded HTML alternative where the template has one.

A template pair is `<name>.txt` (required) and `<name>.html` (optional; extends "email/base.html", the ACORN
brand). allauth's account emails (verification, password reset) go through the account adapter
(acorn.tenancy.adapters), which renders them under the same language rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

from acorn.dates import tenant_time_zone

SUBJECT_PREFIX = "[ACORN] "


def email_render(
    *, template: str, context: dict[str, Any], language: str, time_zone: str | None = None
) -> tuple[str, str | None]:
    """The text and HTML (None when the template has no .html) of `template`, written in `language` with dates in
    `time_zone` (UTC when None)."""
    with translation.override(language), tenant_time_zone(time_zone):
        text = render_to_string(f"{template}.txt", context).strip() + "\n"
        try:
            html: str | None = render_to_string(f"{template}.html", context)
        except TemplateDoesNotExist:
            html = None
    return text, html


def email_send(
    *,
    to: Sequence[str],
    subject: Callable[[], str],
    template: str,
    context: dict[str, Any],
    language: str,
    time_zone: str | None = None,
) -> None:
    """Send one email to `to` in `language`. `subject` is called inside that language (so a gettext call in it
    translates for the recipient); the "[ACORN] " prefix is added here."""
    text, html = email_render(template=template, context=context, language=language, time_zone=time_zone)
    with translation.override(language):
        subject_text = SUBJECT_PREFIX + " ".join(str(subject()).splitlines()).strip()
    message = EmailMultiAlternatives(subject=subject_text, body=text, to=list(to))
    if html is not None:
        message.attach_alternative(html, "text/html")
    message.send()
