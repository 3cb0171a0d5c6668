"""Retry policy shared by every task: retry transient infrastructure errors, never business ones.

A ``Refused`` (bad input, not enough licenses) will fail the same way every time, so retrying it
only delays the answer; a ``TransientError`` (database busy, storage timeout) is worth another try.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from phonesys.rules.errors import TransientError

RETRIES = 3
RETRY_DELAYS: list[float] = [1, 4, 10]


class Retrying(TypedDict):
    """The ``@task`` options of a task that retries transient errors (typed, so ``**RETRYING`` checks)."""

    retries: int
    retry_delay_seconds: list[float]
    retry_condition_fn: Callable[[Any, Any, Any], bool]


def retry_only_transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: True only when the failure was a ``TransientError``."""
    try:
        state.result()
    except TransientError:
        return True
    except BaseException:  # noqa: BLE001 - any other failure is final
        return False
    return False


RETRYING: Retrying = {"retries": RETRIES, "retry_delay_seconds": RETRY_DELAYS,
                      "retry_condition_fn": retry_only_transient}
