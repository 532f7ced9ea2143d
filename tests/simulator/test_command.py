"""`manage.py simulate_channels`: prints where it listens and how to log in, stops cleanly on Ctrl-C."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from simulator import SimulatorServer
from tests.simulator.support import HTTP


def test_prints_url_and_credentials_and_stops_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a simulator that serves one request and then sees Ctrl-C
    answers: list[int] = []

    def serve_then_interrupt(self: SimulatorServer) -> None:
        self.start()
        answers.append(HTTP.post(f"{self.url}/auth/o2/token", data={"grant_type": "refresh_token"}).status_code)
        self.stop()
        raise KeyboardInterrupt

    monkeypatch.setattr(SimulatorServer, "serve_forever", serve_then_interrupt)
    out = StringIO()

    # when the command runs
    call_command(
        "simulate_channels", "--port", "0", "--tls-port", "0", "--seed", "3", "--faults", "hostile", stdout=out
    )

    # then it printed its URL and the LWA credentials, served, and stopped
    text = out.getvalue()
    assert re.search(
        r"listening on http://127\.0\.0\.1:\d+ and https://127\.0\.0\.1:\d+ \(seed 3, faults hostile\)", text
    )
    assert "acorn-demo.myshopify.com" in text and "/woo/acorn-demo" in text
    assert "amzn1.application-oa2-client.acorn-sim" in text
    assert "acorn-sim-secret" in text
    assert "Simulator stopped." in text
    assert answers == [400]


def test_rejects_an_unknown_fault_profile() -> None:
    with pytest.raises(CommandError):
        call_command("simulate_channels", "--faults", "chaotic")
