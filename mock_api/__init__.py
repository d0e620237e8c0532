"""Offline mock of the Runware API for GLM-Image.

``create_app(MockConfig(...))`` builds the FastAPI app; ``python -m mock_api`` serves it.
"""

from .app import create_app
from .config import MockConfig
from .state import MockState

__all__ = ["MockConfig", "MockState", "create_app"]
