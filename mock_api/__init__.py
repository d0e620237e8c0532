"""Offline mock of the Runware API for GLM-Image.

``create_app(MockConfig(...))`` builds the FastAPI app; ``python -m mock_api`` serves it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .config import MockConfig
    from .state import MockState

__all__ = ["MockConfig", "MockState", "create_app"]

# Loaded on first use: the pytest plugin (mock_api.testing.plugin) is imported by every
# pytest run of a project that installs this package, and must not pull in FastAPI then.
_LAZY = {"MockConfig": ".config", "MockState": ".state", "create_app": ".app"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
