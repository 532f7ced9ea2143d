"""The simulator's QuickBooks Online front behaves as Intuit documents: OAuth grants (a code works once, a
refresh rotates the refresh token), the JournalEntry validations and faults, requestid replay, the query
language subset, tokens bound to their company."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator.quickbooks import query as qbql
from simulator.quickbooks.front import parse_callback
from simulator.server import SimulatorServer

CLIENT, SECRET, REDIRECT = "sim-client", "sim-secret", "https://acorn.example/callback"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=23, tls_port=None) as server:
        server.quickbooks.add_app(CLIENT, SECRET)
        yield server


def _basic(client: str = CLIENT, secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode()}


def _token(sim: SimulatorServer, **form: str) -> requests.Response:
    return requests.post(f"{sim.quickbooks.endpoint}/oauth2/v1/tokens/bearer", data=form, headers=_basic(), timeout=5)


def _access(sim: SimulatorServer, realm: str) -> str:
    refresh = sim.quickbooks.issue_refresh_token(CLIENT, realm)
    return str(_token(sim, grant_type="refresh_token", refresh_token=refresh).json()["access_token"])


def _api(sim: SimulatorServer, realm: str, path: str) -> str:
    return f"{sim.quickbooks.endpoint}/v3/company/{realm}/{path}"


def _create(sim: SimulatorServer, realm: str, token: str, body: dict[str, Any], **params: str) -> requests.Response:
    return requests.post(
        _api(sim, realm, "journalentry"),
        json=body,
        params={"minorversion": "75", **params},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=5,
    )


def _line(account: str, side: str, amount: object) -> dict[str, Any]:
    return {
        "Amount": amount,
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": {"PostingType": side, "AccountRef": {"value": account}},
    }


def test_consent_code_works_once_and_a_refresh_rotates_the_refresh_token(sim: SimulatorServer) -> None:
    realm = sim.quickbooks.add_company("Acme")
    consent = requests.get(
        f"{sim.quickbooks.endpoint}/connect/oauth2",
        params={
            "client_id": CLIENT,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": REDIRECT,
            "state": "s1",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert consent.status_code == 302
    back = parse_callback(consent.headers["Location"])
    assert back["state"] == "s1" and back["realmId"] == realm
    first = _token(sim, grant_type="authorization_code", code=back["code"], redirect_uri=REDIRECT)
    assert first.status_code == 200
    tokens = first.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 3600
    assert tokens["x_refresh_token_expires_in"] == 8_726_400
    assert _token(sim, grant_type="authorization_code", code=back["code"], redirect_uri=REDIRECT).json() == {
        "error": "invalid_grant"
    }
    second = _token(sim, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert second["refresh_token"] != tokens["refresh_token"]
    again = _token(sim, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    wrong = requests.post(
        f"{sim.quickbooks.endpoint}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
        headers=_basic(secret="nope"),
        timeout=5,
    )
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid_client"}


def test_journal_entry_validations_answer_intuit_faults(sim: SimulatorServer) -> None:
    realm = sim.quickbooks.add_company("Acme")
    bank = sim.quickbooks.add_account(realm, "Clearing", "Bank")
    sales = sim.quickbooks.add_account(realm, "Sales", "Income")
    token = _access(sim, realm)
    cases = {
        "6000": {"Line": [_line(bank, "Debit", 10), _line(sales, "Credit", "9.99")]},
        "2500": {"Line": [_line(bank, "Debit", 10), _line("999", "Credit", 10)]},
        "2050": {"DocNumber": "X" * 22, "Line": [_line(bank, "Debit", 1), _line(sales, "Credit", 1)]},
    }
    for code, body in cases.items():
        response = _create(sim, realm, token, body)
        assert response.status_code == 400, code
        fault = response.json()["Fault"]
        assert fault["type"] == "ValidationFault" and fault["Error"][0]["code"] == code
    old_minor = requests.post(
        _api(sim, realm, "journalentry"),
        json=cases["6000"],
        params={"minorversion": "65"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert old_minor.status_code == 400
    assert sim.quickbooks.journals(realm) == []


def test_the_same_requestid_replays_the_first_answer(sim: SimulatorServer) -> None:
    realm = sim.quickbooks.add_company("Acme")
    bank = sim.quickbooks.add_account(realm, "Clearing", "Bank")
    sales = sim.quickbooks.add_account(realm, "Sales", "Income")
    token = _access(sim, realm)
    body = {
        "DocNumber": "AMZ-1",
        "TxnDate": "2026-11-15",
        "Line": [_line(bank, "Debit", "5.25"), _line(sales, "Credit", 5.25)],
    }
    first = _create(sim, realm, token, body, requestid="req-1")
    second = _create(sim, realm, token, body, requestid="req-1")
    assert first.status_code == second.status_code == 200
    assert first.json()["JournalEntry"]["Id"] == second.json()["JournalEntry"]["Id"]
    assert first.json()["JournalEntry"]["TotalAmt"] == 5.25
    assert (
        _create(sim, realm, token, body, requestid="req-2").json()["JournalEntry"]["Id"]
        != first.json()["JournalEntry"]["Id"]
    )
    assert len(sim.quickbooks.journals(realm)) == 2


def test_tokens_are_bound_to_their_company_and_scripted_faults_are_served(sim: SimulatorServer) -> None:
    mine = sim.quickbooks.add_company("Mine")
    theirs = sim.quickbooks.add_company("Theirs")
    token = _access(sim, mine)
    headers = {"Authorization": f"Bearer {token}"}
    query = {"query": "select * from Account where Active = true", "minorversion": "75"}
    assert requests.get(_api(sim, mine, "query"), params=query, headers=headers, timeout=5).status_code == 200
    refused = requests.get(_api(sim, theirs, "query"), params=query, headers=headers, timeout=5)
    assert refused.status_code == 401 and refused.json()["fault"]["type"] == "AUTHENTICATION"
    sim.quickbooks.fail_next("query", 429)
    throttled = requests.get(_api(sim, mine, "query"), params=query, headers=headers, timeout=5)
    assert throttled.status_code == 429 and "ThrottleExceeded" in throttled.text
    sim.quickbooks.expire_access_tokens()
    assert requests.get(_api(sim, mine, "query"), params=query, headers=headers, timeout=5).status_code == 401


def test_the_query_language_subset() -> None:
    rows = [{"Id": "1", "DocNumber": "A'1", "Active": True}, {"Id": "2", "DocNumber": "B", "Active": False}]
    parsed = qbql.parse("SELECT * FROM JournalEntry WHERE DocNumber = 'A\\'1'")
    assert qbql.run(parsed, rows)[0] == [rows[0]]
    assert qbql.run(qbql.parse("select * from Account where Active = false"), rows)[0] == [rows[1]]
    assert qbql.run(qbql.parse("select * from Account where Id in ('1', '2') STARTPOSITION 2 MAXRESULTS 1"), rows)[
        0
    ] == [rows[1]]
    assert qbql.parse("select count(*) from Account").count
    for bad in (
        "select * from Account where Id = '1' or Id = '2'",
        "delete from Account",
        "select * from Account MAXRESULTS 1001",
    ):
        with pytest.raises(qbql.QueryError):
            qbql.parse(bad)
