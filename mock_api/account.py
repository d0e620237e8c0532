"""The mock's one account, as accountManagement ``getDetails`` shows it, and the balance an
imageInference must be covered by (else HTTP 402 insufficientCredits).

Generations do not spend it: a long test run never runs dry by accident. A tester drives it
to zero (``POST /__admin/account {"balance": 0}``, or ``--account-balance 0``) to see a 402.
The answer's fields follow the docs' getDetails example (organizationUUID, organizationName,
balance as a number, team); ``currency`` is the mock's addition (the model page prices in USD).
"""

from __future__ import annotations

import math
import threading
import uuid
from typing import Any

from .config import DEFAULTS

CURRENCY = "USD"
ORGANIZATION_NAME = "Runware mock"
# Fixed, so a UI test can assert on it; a name-based UUID says it is nobody's real organization.
ORGANIZATION_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/glm-image-demo/runware-mock"))
TEAM = (
    {
        "name": "Mock Owner",
        "email": "owner@mock.invalid",
        "roles": ["Owner"],
        "joinedAt": "2026-01-01T00:00:00Z",
    },
)
MAX_BALANCE = 1e9


class AccountError(ValueError):
    """An admin account setting that does not make sense; the message says why."""


def check_balance(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AccountError(f"'balance' must be a number (got {value!r})")
    if not 0 <= value <= MAX_BALANCE:
        raise AccountError(f"'balance' must be between 0 and {MAX_BALANCE:g} (got {value!r})")
    return float(value)


class Account:
    def __init__(self, balance: float = DEFAULTS.account_balance) -> None:
        self.start_balance = check_balance(balance)
        self.balance = self.start_balance
        self._lock = threading.Lock()

    def covers(self, cost: float) -> bool:
        """Whether the balance pays for a task of this (estimated) cost; an empty one pays for nothing."""
        with self._lock:
            return self.balance > 0 and self.balance >= cost

    def configure(self, spec: Any) -> dict[str, Any]:
        """Apply a POST /__admin/account body; raises AccountError on nonsense."""
        if not isinstance(spec, dict) or set(spec) != {"balance"}:
            raise AccountError('send {"balance": <number of USD>}')
        with self._lock:
            self.balance = check_balance(spec["balance"])
        return self.describe()

    def reset(self) -> None:
        with self._lock:
            self.balance = self.start_balance

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"balance": self.balance, "currency": CURRENCY}

    def details(self) -> dict[str, Any]:
        """The getDetails fields, without taskType/taskUUID/operation."""
        return {
            "organizationUUID": ORGANIZATION_UUID,
            "organizationName": ORGANIZATION_NAME,
            **self.describe(),
            "team": [dict(member) for member in TEAM],
        }
