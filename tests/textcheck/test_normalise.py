"""Matching without OCR: normalisation, the best span, stacked lines, the summary and the table."""

from __future__ import annotations

import pytest

from demo.textcheck import (
    PASS_SCORE,
    TABLE_HEADERS,
    ImageCheck,
    Line,
    RunCheck,
    StringCheck,
    asked_strings,
    best_match,
    match_lines,
    normalise,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OPEN Late", "openlate"),  # case
        ("  open\tlate \n", "openlate"),  # spacing
        ("Open, late!", "openlate"),  # punctuation
        ("“OPEN” — late…", "openlate"),
        ("Ｏｐｅｎ　Ｌａｔｅ！", "openlate"),  # full-width letters, ideographic space
        ("７－１９", "719"),  # full-width digits and hyphen
        ("开放，欢迎光临！", "开放欢迎光临"),  # CJK: no spaces, full-width punctuation
        ("「营业中」《三体》", "营业中三体"),
        ("東京 タワー・ソウル", "東京タワーソウル"),
        ("Café Straße", "cafestrasse"),  # accents and ß fold away
        ("50% OFF + 1 €", "50off+1€"),  # symbols stay (% is punctuation to Unicode)
        ("\u200bzero\u200dwidth\x00", "zerowidth"),
        ("...", ""),
        ("", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def _lines(*texts: str) -> list[list[str]]:
    return [list(texts)]


@pytest.mark.parametrize(
    ("asked", "read", "score", "shown"),
    [
        ("OPEN LATE", ["OPENLATE"], 100, "OPENLATE"),  # OCR dropped the space
        ("open late", ["Open late!"], 100, "Open late"),
        ("RIVERGATE CENTRAL", ["RIVERGATE", "CENTRAL"], 100, "RIVERGATE CENTRAL"),  # split lines
        ("EXIT", ["TICKETS EXIT", "MOCK PREVIEW"], 100, "EXIT"),  # merged with a neighbour
        ("开放", ["欢迎", "开放时间"], 100, "开放"),
        ("ＥＸＩＴ", ["EXIT"], 100, "EXIT"),
        ("FRESH BREAD", ["FRESH BRAED"], 80, "FRESH BRAED"),  # ✗ shows the whole line read
        ("OPEN LATE", ["CLOSED EARLY"], 38, "CLOSED EARLY"),
        ("Hello", [], 0, ""),
    ],
)
def test_best_match(asked: str, read: list[str], score: int, shown: str) -> None:
    match = best_match(asked, _lines(*read))
    assert (match.score, match.read) == (score, shown)
    assert match.ok is (score >= PASS_SCORE)


def test_one_wrong_letter_in_ten_passes_two_do_not() -> None:
    assert best_match("REGIONAL LINES", _lines("REGI0NAL LINES")).score == 92
    assert best_match("REGIONAL LINES", _lines("REGI0NAL L1NES")).score == 85
    assert not best_match("EXIT", _lines("EXlT")).ok  # short strings must be exact


def test_stacked_lines_of_one_sign_are_joined_even_when_a_neighbour_interleaves() -> None:
    # Two signs side by side, each wrapped on two lines: OCR reads row by row.
    lines = [
        Line("RIVERGATE", 0.99, (100, 100, 400, 160)),
        Line("PLATFORM", 0.99, (600, 100, 900, 160)),
        Line("CENTRAL", 0.99, (150, 180, 350, 240)),
        Line("NINE", 0.99, (650, 180, 850, 240)),
    ]
    rows = match_lines(["RIVERGATE CENTRAL", "PLATFORM NINE", "PLATFORM CENTRAL"], lines)
    assert [(r.score, r.read) for r in rows[:2]] == [(100, "RIVERGATE CENTRAL"), (100, "PLATFORM NINE")]
    assert rows[2].score == 100  # in reading order too


def test_asked_strings_skip_quotes_with_nothing_legible() -> None:
    assert asked_strings('a sign "OPEN", a "!!!" and “…” and “开放”') == ("OPEN", "开放")
    assert asked_strings("no quotes") == ()


def test_summary_and_table() -> None:
    rows = (StringCheck("OPEN", "OPEN", 100), StringCheck("LATE", "LATF", 75))
    run = RunCheck(
        ("OPEN", "LATE"),
        (
            ImageCheck("uuid-1", ("OPEN", "LATE"), rows=rows),
            ImageCheck("uuid-2", ("OPEN", "LATE"), rows=(*rows[:1], StringCheck("LATE", "LATE", 100))),
        ),
    )
    assert run.summary() == "Text check: 3 of 4 strings written correctly"
    assert run.images[0].summary() == "1 of 2 strings written correctly"
    assert run.table() == {
        "headers": TABLE_HEADERS,
        "data": [
            ["uuid-1", "OPEN", "OPEN", 100, "✓"],
            ["uuid-1", "LATE", "LATF", 75, "✗"],
            ["uuid-2", "OPEN", "OPEN", 100, "✓"],
            ["uuid-2", "LATE", "LATE", 100, "✓"],
        ],
    }
    one = RunCheck(("X",), (ImageCheck(1, ("X",), rows=(StringCheck("X", "X", 100),)),))
    assert one.summary() == "Text check: 1 of 1 string written correctly"


def test_summary_when_not_checked() -> None:
    broken = ImageCheck(2, ("OPEN",), state="not available", why="OCR failed (boom)")
    fine = ImageCheck(1, ("OPEN",), rows=(StringCheck("OPEN", "OPEN", 100),))
    assert RunCheck(("OPEN",), (broken,)).summary() == "Text check: not available: OCR failed (boom)"
    assert RunCheck(("OPEN",), (fine, broken)).summary() == (
        "Text check: 1 of 1 string written correctly (not available for 1 image: OCR failed (boom))"
    )
    assert RunCheck(("OPEN",), (broken,)).table()["data"] == [
        [2, "OPEN", "", None, "not available: OCR failed (boom)"]
    ]
    off = ImageCheck(1, ("OPEN",), state="off", why="GLM_IMAGE_TEXT_CHECK=0")
    assert RunCheck(("OPEN",), (off,)).summary() == "Text check: off (GLM_IMAGE_TEXT_CHECK=0)"
    assert RunCheck(("OPEN",), (off,)).table()["data"] == []
    assert RunCheck((), (ImageCheck(1, (), state="no text"),)).summary() == (
        "Text check: the prompt quotes no text to check"
    )
    assert RunCheck((), ()).summary() == "Text check: the prompt quotes no text to check"
