"""Text check: read back the quoted text of every result and say how well it was written.

GLM-Image is chosen for the text it writes inside pictures. For each result image the
check reads the picture with a local OCR model (RapidOCR: PP-OCRv4, Chinese and English,
models from the ``rapidocr-onnxruntime`` wheel, nothing downloaded) and matches each
string the prompt put in quotes (``api_schema.quotes``, the rule the mock's previews use)
against what was read: normalised for case, spacing, punctuation and accents, scored
0-100, ✓ at ``PASS_SCORE`` or more.

    checker = TextChecker.from_settings(settings)      # GLM_IMAGE_TEXT_CHECK=0 turns it off
    run = await checker.check_images(prompt, [img.data for img in gen], [img.image_uuid for img in gen])
    run.summary()     # "Text check: 5 of 6 strings written correctly"
    run.table()       # {"headers": ["image", "asked for", "read", "score", "ok"], "data": [...]}

It never raises for a failure of the OCR: the result says "not available" and why.
"""

from __future__ import annotations

from .check import SWITCH, TextChecker, asked_strings, match_lines
from .engine import ImageInput, Line, OcrEngine, OcrUnavailable, shared_engine
from .normalise import PASS_SCORE, Match, best_match, normalise
from .results import TABLE_HEADERS, ImageCheck, RunCheck, StringCheck

__all__ = [
    "PASS_SCORE",
    "SWITCH",
    "TABLE_HEADERS",
    "ImageCheck",
    "ImageInput",
    "Line",
    "Match",
    "OcrEngine",
    "OcrUnavailable",
    "RunCheck",
    "StringCheck",
    "TextChecker",
    "asked_strings",
    "best_match",
    "match_lines",
    "normalise",
    "shared_engine",
]
