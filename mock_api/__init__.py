"""Offline mock of the Runware API for GLM-Image.

``create_app(MockConfig(...))`` builds the FastAPI app; ``python -m mock_api`` serves it.
"""

from .app import MockState, create_app
from .config import MockConfig

__all__ = ["MockConfig", "MockState", "create_app"]
