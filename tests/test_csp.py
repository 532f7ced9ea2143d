"""The Content-Security-Policy: scripts only from ACORN's own static files, so no template may carry an inline
script or an inline event handler (the browser would refuse to run it); behaviours live in static/js."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


class _InlineCode(HTMLParser):
    """Collects what a strict script-src refuses: <script> without src (JSON data excepted), on* attributes
    and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and "src" not in values and values.get("type") != "application/json":
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith(("on", "hx-on")):
                self.found.append(f"{name}= on <{tag}> at line {self.getpos()[0]}")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}> at line {self.getpos()[0]}")


def inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


def test_the_inline_code_check_sees_each_kind() -> None:
    html = (
        '<script>alert(1)</script><script src="/static/js/acorn.js"></script>'
        '<script id="d" type="application/json">{}</script>'
        '<button onclick="x()">x</button><a href="javascript:void(0)">y</a><div hx-on:click="z()"></div>'
    )
    assert [item.split(" at ")[0] for item in inline_code(html)] == [
        "inline <script>",
        "onclick= on <button>",
        "javascript: URL on <a>",
        "hx-on:click= on <div>",
    ]


def test_no_template_has_inline_script_or_an_inline_handler() -> None:
    found: list[str] = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        # template tags would confuse the HTML parser only inside attribute values; blank them first
        text = re.sub(r"{%.*?%}|{{.*?}}", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        found.extend(f"{path.relative_to(ROOT)}: {item}" for item in inline_code(text))
    assert not found, "move the code to static/js (the CSP refuses inline code):\n" + "\n".join(found)


@pytest.mark.django_db
def test_every_response_carries_a_policy_that_allows_scripts_only_from_self(client: Client) -> None:
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    policy = _policy(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert not any("unsafe" in value for value in policy["script-src"] + policy["default-src"])
    assert not inline_code(response.content.decode())


@pytest.mark.django_db
def test_console_pages_render_without_inline_code(owner_client: Client) -> None:
    for name in ("tenancy:team", "finance:profit"):
        response = owner_client.get(reverse(name))
        assert response.status_code == 200, name
        page = response.content.decode()
        assert not inline_code(page), name
        assert "/static/js/acorn.js" in page
