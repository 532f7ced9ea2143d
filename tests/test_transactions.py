"""Work gathered per transaction and key, run once after the commit (acorn/transactions.py)."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from acorn.transactions import on_commit_gathered

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_call_per_transaction_and_key_with_every_id() -> None:
    # given
    calls: list[tuple[str, list[int]]] = []
    # when one transaction gathers under two keys, a savepoint included
    with transaction.atomic():
        on_commit_gathered(key=("stock", 1), ids=[3, 1], run=lambda ids: calls.append(("tenant 1", ids)))
        on_commit_gathered(key=("stock", 2), ids=[9], run=lambda ids: calls.append(("tenant 2", ids)))
        with transaction.atomic():
            on_commit_gathered(key=("stock", 1), ids=[2, 3], run=lambda ids: calls.append(("never", ids)))
        # then: nothing before the commit
        assert calls == []
    # then: once per key, every id, sorted, through the first registration
    assert calls == [("tenant 1", [1, 2, 3]), ("tenant 2", [9])]


def test_a_rolled_back_transaction_calls_nothing_and_the_next_one_starts_afresh() -> None:
    calls: list[list[int]] = []
    with pytest.raises(RuntimeError), transaction.atomic():
        on_commit_gathered(key="k", ids=[1], run=calls.append)
        raise RuntimeError("rolled back")
    with transaction.atomic():
        on_commit_gathered(key="k", ids=[2], run=calls.append)
    assert calls == [[2]]


def test_outside_a_transaction_it_runs_at_once_and_a_failure_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[list[int]] = []
    on_commit_gathered(key="k", ids=[5, 4], run=calls.append)
    assert calls == [[4, 5]]

    def fail(ids: list[int]) -> None:
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR), transaction.atomic():
        on_commit_gathered(key="other", ids=[1], run=fail)
    assert "boom" in caplog.text
