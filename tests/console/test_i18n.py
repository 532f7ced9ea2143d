"""English and Simplified Chinese: the catalogue compiles without gettext and every string is translated."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

PO_PATH = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_catalogue_is_complete_and_valid() -> None:
    with PO_PATH.open("rb") as po_file:
        catalog = read_po(po_file)
    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (message.fuzzy or not all([message.string] if isinstance(message.string, str) else message.string or [""]))
    ]
    assert untranslated == []
    assert [problem for _, problem in catalog.check()] == []


def test_compile_translations_with_babel(tmp_path: Path, settings: object) -> None:
    # given: a copy of the catalogue in a fresh locale folder (no .mo yet)
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "django.po").write_bytes(PO_PATH.read_bytes())
    settings.LOCALE_PATHS = [tmp_path]
    out = StringIO()
    call_command("compile_translations", stdout=out)
    assert (target / "django.mo").stat().st_size > 1000
    assert "compiled" in out.getvalue()


def test_broken_catalogue_names_file_and_line(tmp_path: Path, settings: object) -> None:
    from django.core.management import CommandError

    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "django.po").write_text('msgid "Hello %(name)s"\nmsgstr "你好 %(nom)s"\n', encoding="utf-8")
    settings.LOCALE_PATHS = [tmp_path]
    with pytest.raises(CommandError, match=r"django\.po:\d+"):
        call_command("compile_translations", stdout=StringIO())


@pytest.mark.django_db
def test_console_speaks_chinese_after_the_switch(owner_client: Client) -> None:
    response = owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("console:dashboard")})
    assert response.status_code == 302
    page = owner_client.get(reverse("console:dashboard")).content.decode()
    assert 'lang="zh-hans"' in page
    assert "工作台" in page and "店铺" in page and "订单" in page


@pytest.mark.django_db
def test_sign_in_page_in_chinese_from_the_browser_language() -> None:
    page = Client(headers={"accept-language": "zh-CN,zh;q=0.9"}).get(reverse("account_signup")).content.decode()
    assert "公司名称" in page
