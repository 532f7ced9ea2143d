"""Work that follows a transaction, gathered: one call after the commit per transaction and key, whatever
the number of changes the transaction made.

An ingest page that moves the stock of a hundred products, or records fifty refunds, should recompute the
channel quantities, evaluate the alerts or send the notices once, for all of them, after it commits — not
a hundred times, and not at all if it rolls back. `on_commit_gathered(key=…, ids=…, run=…)` adds the ids
to the call the transaction already waits to make under that key, or registers one. After a rollback
Django drops the waiting calls, so a stale one is never joined.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from django.db import transaction


class _Gathered:
    """The after-commit call of one transaction and key, with the ids gathered so far."""

    def __init__(self, key: Hashable, run: Callable[[list[int]], object]) -> None:
        self.key = key
        self.run = run
        self.ids: set[int] = set()
        self.ran = False
        # Django names a robust callback that failed by its __qualname__, which an instance lacks by itself.
        self.__qualname__ = f"on_commit_gathered[{key!r}]"

    def __call__(self) -> None:
        self.ran = True
        self.run(sorted(self.ids))


def on_commit_gathered(*, key: Hashable, ids: Iterable[int], run: Callable[[list[int]], object]) -> None:
    """Once the current transaction commits, call `run` with every id gathered under `key` in it (sorted),
    once; outside a transaction, at once. The first registration's `run` is the one called, so the key must
    name everything `run` depends on (the tenant, typically). A failure in `run` is logged, never raised into
    the code that committed."""
    connection = transaction.get_connection()
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _Gathered) and callback.key == key and not callback.ran:
            callback.ids.update(ids)
            return
    pending = _Gathered(key, run)
    pending.ids.update(ids)
    transaction.on_commit(pending, robust=True)
