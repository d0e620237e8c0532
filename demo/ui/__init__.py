"""Everything Gradio: the page built from one field table, its events and its look.

``build_ui(settings, backend)`` returns the Blocks; ``launch_kwargs(backend)`` holds
what ``launch()`` takes (theme, CSS, upload limit, the in-process mock's routes).
"""

from .page import MAX_FILE_SIZE, build_ui, launch_kwargs

__all__ = ["MAX_FILE_SIZE", "build_ui", "launch_kwargs"]
