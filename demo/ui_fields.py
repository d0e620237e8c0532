"""Form components that leave range and choice checks to ``api_schema``.

Gradio's own checks fire before the handler with messages such as "Value 5000 is
greater than maximum value 2048." that name no field. An API caller sending a bad
value should get the Runware message naming the parameter instead, so these
components pass values through and the handler validates them with the schema.
The browser widgets are the stock ones. (The override is per instance: subclassing
a component makes Gradio write a .pyi stub next to this file at import time.)
"""

from __future__ import annotations

from typing import Any, TypeVar

import gradio as gr

from api_schema.limits import NumberRange

C = TypeVar("C", bound=gr.components.Component)


def _passthrough(payload: Any) -> Any:
    return payload


def lenient(component: C) -> C:
    component.preprocess = _passthrough  # type: ignore[method-assign]
    return component


def FieldSlider(*args: Any, **kwargs: Any) -> gr.Slider:
    return lenient(gr.Slider(*args, **kwargs))


def FieldNumber(*args: Any, **kwargs: Any) -> gr.Number:
    return lenient(gr.Number(*args, **kwargs))


def FieldRadio(*args: Any, **kwargs: Any) -> gr.Radio:
    return lenient(gr.Radio(*args, **kwargs))


def FieldDropdown(*args: Any, **kwargs: Any) -> gr.Dropdown:
    return lenient(gr.Dropdown(*args, **kwargs))


def range_slider(rng: NumberRange, label: str, *, step: float | None = None, **kwargs: Any) -> gr.Slider:
    """A slider whose bounds, default and step all come from one documented range."""
    return FieldSlider(
        rng.minimum, rng.maximum, value=rng.default, step=step or rng.step or 1, label=label, **kwargs
    )
