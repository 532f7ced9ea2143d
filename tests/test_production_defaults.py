"""Production defaults that are safe as shipped: HSTS preload only on request, the docker-compose healthcheck
passes with the compose file's own settings, and the admin's sign-in redirect keeps `next` one parameter."""

from __future__ import annotations

import importlib
import runpy
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
# The variables production.py requires (no defaults there); dummies, nothing is contacted.
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "acorn.example.com",
    "FIELD_ENCRYPTION_KEYS": "YWNvcm4tbG9jYWwtZGV2ZWxvcG1lbnQta2V5LTMyYiE=",
    "AMAZON_LWA_CLIENT_ID": "id",
    "AMAZON_LWA_CLIENT_SECRET": "secret",
    "AMAZON_APPLICATION_ID": "app",
    "SHOPIFY_API_KEY": "key",
    "SHOPIFY_API_SECRET": "secret",
}


def _production_settings(monkeypatch: pytest.MonkeyPatch, **extra: str) -> dict[str, Any]:
    for name, value in {**PRODUCTION_ENV, **extra}.items():
        monkeypatch.setenv(name, value)
    return runpy.run_module("acorn.settings.production")


# --- HSTS ----------------------------------------------------------------------------------------------------


def test_hsts_preload_is_off_unless_the_operator_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJANGO_SECURE_HSTS_PRELOAD", raising=False)
    shipped = _production_settings(monkeypatch)
    assert shipped["SECURE_HSTS_PRELOAD"] is False and shipped["SECURE_HSTS_SECONDS"] > 0
    assert _production_settings(monkeypatch, DJANGO_SECURE_HSTS_PRELOAD="true")["SECURE_HSTS_PRELOAD"] is True


# --- the docker-compose healthcheck ---------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    yaml = importlib.import_module("yaml")  # PyYAML, installed with ShopifyAPI
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _compose_default(value: str) -> str:
    """`${NAME:-default}` as compose reads it with NAME unset."""
    assert value.startswith("${") and ":-" in value, value
    return value[value.index(":-") + 2 : -1]


def _probe_request(code: str, allowed_hosts: str, monkeypatch: pytest.MonkeyPatch) -> urllib.request.Request:
    """Run the healthcheck's Python with the container's environment, catching the request it would send."""
    sent: list[urllib.request.Request] = []
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", allowed_hosts)
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout=None: sent.append(request))
    exec(compile(code, "healthcheck", "exec"), {})
    assert len(sent) == 1
    return sent[0]


def _replay(client: Client, request: urllib.request.Request) -> Any:
    url = urlsplit(request.full_url)
    assert (url.hostname, url.port) == ("127.0.0.1", 8000)
    headers = {name.lower(): value for name, value in request.header_items()}
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items() if name != "host"}
    return client.get(url.path, headers={"host": headers.get("host", "127.0.0.1:8000")}, **extra)


@pytest.mark.django_db
@pytest.mark.parametrize("ssl_redirect", [False, True])
def test_the_compose_healthcheck_passes_with_the_compose_files_own_defaults(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch, ssl_redirect: bool
) -> None:
    # given the web service's environment as compose sets it with nothing configured (SSL redirect either way)
    web = _compose()["services"]["web"]
    environment = _compose()["x-django"]["environment"]
    allowed_hosts = _compose_default(environment["DJANGO_ALLOWED_HOSTS"])
    assert _compose_default(environment["DJANGO_SECURE_SSL_REDIRECT"]) == "false"
    settings.ALLOWED_HOSTS = allowed_hosts.split(",")
    settings.SECURE_SSL_REDIRECT = ssl_redirect
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    command = web["healthcheck"]["test"]
    assert command[:3] == ["CMD", "python", "-c"]
    # when the probe's request reaches Django
    response = _replay(client, _probe_request(command[3], allowed_hosts, monkeypatch))
    # then /healthz answers 200 (urlopen would raise on a 400 for the host or follow a redirect to https)
    assert response.status_code == 200 and response.content == b"ok"


@pytest.mark.django_db
def test_the_healthcheck_names_the_operators_host(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an operator's own host list
    settings.ALLOWED_HOSTS = ["acorn.example.com", ".example.org"]
    command = _compose()["services"]["web"]["healthcheck"]["test"]
    request = _probe_request(command[3], "acorn.example.com,.example.org", monkeypatch)
    assert _replay(client, request).status_code == 200
    # while a bare loopback address, the probe's old form, is refused by the host check
    assert client.get("/healthz", headers={"host": "127.0.0.1:8000"}).status_code == 400


# --- the admin's sign-in redirect -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_login_encodes_next(client: Client) -> None:
    # given a `next` that holds its own query string and a fragment
    target = "/admin/refunds/refund/?status=open&store=2#top"
    # when an anonymous visitor reaches the admin's login
    response = client.get("/admin/login/", {"next": target})
    # then the redirect carries it as one parameter, unchanged
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.fragment == ""
    assert parse_qs(location.query) == {"next": [target]}
