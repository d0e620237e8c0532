"""The first screen's rules without a browser: links, price, history bounds, showcase."""

from __future__ import annotations

import io
import uuid
import zlib
from pathlib import Path

import pytest
from PIL import Image

from api_schema import limits, load_examples
from api_schema.quotes import quoted_strings
from demo.backend import example_pictures
from demo.ui import beforeafter, history, links, pricing, showcase
from demo.ui.form import field_errors

# --------------------------------------------------------------------------- links


def test_a_link_fills_exactly_its_fields():
    link = links.read(
        {
            "prompt": 'A sign that reads "HI"',
            "width": "768",
            "height": "1024",
            "seed": "42",
            "steps": "30",
            "cfg": "6.5",
            "n": "3",
            "format": "png",
            "__theme": "dark",
        }
    )
    assert link.values == {
        "positive_prompt": 'A sign that reads "HI"',
        "width": 768,
        "height": 1024,
        "seed": "42",
        "randomize_seed": False,
        "steps": 30,
        "cfg_scale": 6.5,
        "number_results": 3,
        "output_format": "PNG",
    }
    assert link.notes == []
    assert "Prompt, Width, Height, Seed, Steps, CFG scale, Number of results, Format" in links.note_markdown(
        link
    )


@pytest.mark.parametrize(
    ("query", "field", "note"),
    [
        ({"width": "abc"}, None, "not a number"),
        ({"width": "1e999"}, None, "not a finite number"),
        ({"steps": "NaN"}, None, "not a number"),
        ({"n": "9" * 500}, None, "not a number"),
        ({"format": "GIF"}, None, "not one of JPG, PNG, WEBP"),
        ({"format": "<b>PNG</b>"}, None, "&lt;b&gt;"),  # shown as text, escaped
        ({"api_key": "sk-live-secret"}, None, "Keys never travel in links"),
        ({"KEY": "x"}, None, "ignored"),
    ],
)
def test_what_a_link_cannot_put_in_a_field_is_named_in_a_note(query, field, note):
    link = links.read(query)
    assert field is None or field in link.values
    assert any(note in n for n in link.notes), link.notes
    assert not {"api_key"} & set(link.values)
    assert "sk-live-secret" not in links.note_markdown(link)


def test_out_of_bound_numbers_go_in_their_field_for_the_usual_check():
    link = links.read({"width": "5000", "seed": "-1", "n": "0", "prompt": "x"})
    assert link.values["width"] == 5000 and link.values["number_results"] == 0
    problems = field_errors({**_defaults(), **link.values})
    assert {"width", "seed", "number_results", "positive_prompt"} <= set(problems)
    assert "invalidWidth" in problems["width"][0]


def test_a_huge_prompt_is_cut_and_says_so():
    link = links.read({"prompt": "y" * 1_000_000})
    assert len(link.values["positive_prompt"]) == links.MAX_PROMPT_CHARS
    assert any("cut" in n for n in link.notes)
    # Still over the API's limit: the usual check reports it next to the prompt.
    assert "invalidPositivePrompt" in field_errors({**_defaults(), **link.values})["positive_prompt"][0]


def test_an_empty_link_changes_nothing():
    assert links.read({}).empty and links.note_markdown(links.read({})) == ""
    assert links.read({"unknown": "1", "__theme": "dark"}).empty


def test_the_link_scripts_cover_the_link_fields_and_never_the_key():
    for script in (links.LINK_JS, links.COPY_JS):
        for key in links.PARAMS:
            assert f'"{key}"' in script
        assert "api_key" not in script and "key" not in links.PARAMS


def _defaults() -> dict:
    from demo.ui import fields as F

    return {f.name: f.value for f in F.FIELDS}


# --------------------------------------------------------------------------- price


def test_the_price_scales_with_size_and_number():
    assert pricing.estimate(1024, 1024, 1) == limits.PRICE_PER_1024_SQUARE
    assert pricing.estimate(1024, 768, 4) == limits.estimate_cost(1024, 768, 4)
    assert pricing.estimate(5000, 1024, 1) is None
    assert pricing.estimate(1024, 1024, 0) is None
    assert pricing.estimate(float("nan"), 1024, 1) is None
    assert pricing.estimate(1024.5, 1024, 1) is None


def test_the_price_line_says_no_credits_on_the_mock_and_the_estimate_on_live():
    mock = pricing.price_line("mock", 1024, 1024, 2)
    assert "No credits used" in mock and "$0.0450 for 2 images" in mock
    live = pricing.price_line("live", 1024, 1024, 2)
    assert live.startswith("**Estimated cost: about $0.0450** for 2 images")
    assert "fix the size" in pricing.price_line("live", 9999, 1024, 2)
    assert "$" not in pricing.price_line("mock", 9999, 1024, 2)


# --------------------------------------------------------------------------- history


def _picture(tmp_path: Path, name: str, size: tuple[int, int] = (64, 48), fill=(10, 200, 10)) -> str:
    path = tmp_path / name
    Image.new("RGB", size, fill).save(path)
    return str(path)


def _uuid(name: str) -> str:
    return str(uuid.UUID(int=zlib.crc32(name.encode()), version=4))


def _outputs(files: list[str], status: str = "**Done:** 1 image") -> dict:
    data = [[str(i + 1), str(7 + i), _uuid(Path(f).stem), "0.0225", "JPG"] for i, f in enumerate(files)]
    return {
        "gallery": [(f, f"#{i + 1}") for i, f in enumerate(files)],
        "table": {"headers": ["#", "seed", "imageUUID", "cost $", "file"], "data": data},
        "request_json": "{}",
        "response_json": "{}",
        "curl": "curl",
        "python": "python",
        "status": status,
    }


def _record(past: history.History, values: dict, outputs: dict) -> history.Run | None:
    run = history.make_run(past, values, outputs, lambda ref: None)
    if run is not None:
        past.count += 1
        past.add(run)
    return run


def test_history_keeps_the_newest_runs_by_count(tmp_path: Path):
    past = history.History()
    for i in range(history.MAX_RUNS + 5):
        _record(
            past,
            {"positive_prompt": f"run {i}", "api_key": "sk-x"},
            _outputs([_picture(tmp_path, f"{i}.png")]),
        )
    assert len(past.runs) == history.MAX_RUNS
    assert [r.number for r in past.runs] == list(range(6, history.MAX_RUNS + 6))
    assert all("api_key" not in r.values for r in past.runs)  # a key is never kept
    assert past.runs[0].values["randomize_seed"] is False and past.runs[0].values["seed"] == "7"


def test_history_keeps_the_newest_runs_by_bytes(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(history, "MAX_BYTES", 3_000)
    past = history.History()
    for i in range(4):
        _record(past, {"positive_prompt": "p" * 1_000}, _outputs([_picture(tmp_path, f"{i}.png")]))
    assert past.size <= 3_000 and len(past.runs) < 4
    assert past.runs[-1].number == 4


def test_failed_stopped_and_webhook_runs_are_not_recorded(tmp_path: Path):
    past = history.History()
    assert _record(past, {}, _outputs([_picture(tmp_path, "a.png")], "**Failed:** invalidWidth")) is None
    assert _record(past, {}, _outputs([], "**Sent to your webhook:** ...")) is None
    assert _record(past, {}, _outputs([_picture(tmp_path, "b.png")], "**Stopped.** 1 of 2")) is None
    assert past.runs == []


def test_a_run_whose_files_went_is_dropped(tmp_path: Path):
    past = history.History()
    path = _picture(tmp_path, "gone.png")
    _record(past, {}, _outputs([path]))
    Path(path).unlink()
    assert history.pick(past, 0) is None
    past.prune()
    assert past.runs == []


def test_compare_shows_every_image_of_the_ticked_runs(tmp_path: Path):
    past = history.History()
    _record(past, {"positive_prompt": "one"}, _outputs([_picture(tmp_path, "1.png")]))
    files = [_picture(tmp_path, f"2-{i}.png") for i in range(3)]
    _record(past, {"positive_prompt": "two"}, _outputs(files))
    grid = history.compare_value(past, [r.label for r in past.runs])
    assert [caption for _, caption in grid] == [
        "Run 1 · #1 · seed 7",
        "Run 2 · #1 · seed 7",
        "Run 2 · #2 · seed 8",
        "Run 2 · #3 · seed 9",
    ]
    assert history.compare_value(past, [past.runs[1].label])[0][0] == files[0]


def test_an_edit_records_its_base_reference_for_before_after(tmp_path: Path):
    past = history.History()
    base = _picture(tmp_path, "base.png", (64, 48), (200, 20, 20))
    _record(past, {}, _outputs([base]))
    result = _picture(tmp_path, "result.png", (128, 128))
    run = _record(past, {"reference_urls": _uuid("base")}, _outputs([result]))
    assert run is not None and run.before_after is not None
    before, after = run.before_after
    assert after == result
    with Image.open(before) as img:
        assert img.size == (128, 128)  # the result's size, the base letterboxed whole inside
        assert img.getpixel((64, 64))[0] > 150
        assert max(abs(a - b) for a, b in zip(img.getpixel((64, 2)), beforeafter.LETTERBOX, strict=True)) <= 3


def test_the_before_picture_of_a_url_comes_from_the_backend_and_is_never_fetched(tmp_path: Path):
    asked = []

    def stand_in(ref: str) -> bytes:
        asked.append(ref)
        return Path(_picture(tmp_path, "standin.png", (40, 30), (0, 0, 200))).read_bytes()

    values = {"reference_urls": "https://example.com/a.jpg\nhttps://example.com/b.jpg"}
    data = beforeafter.base_reference(values, lambda uuid: None, stand_in)
    assert data is not None and asked == ["https://example.com/a.jpg"]  # the first reference only
    assert beforeafter.base_reference({"reference_urls": "not a reference"}, lambda u: None, stand_in) is None


# --------------------------------------------------------------------------- showcase


def test_the_showcase_captions_name_each_example_and_its_strings():
    for example in load_examples():
        text = showcase.caption(example.title, example.request["positivePrompt"], example.kind)
        title, strings = text.split("\n")
        assert title.startswith(example.title)
        assert strings == " · ".join(f"“{s}”" for s in quoted_strings(example.request["positivePrompt"]))


def test_the_showcase_pictures_are_the_mocks_answers_scaled(tmp_path: Path):
    pictures = showcase.Pictures(tmp_path)
    shown = pictures.gallery()
    assert [caption.split("\n")[0] for _, caption in shown] == [
        e.title + (" (edit)" if e.kind == "image-to-image" else "") for e in load_examples()
    ]
    for (path, _), full, example in zip(shown, example_pictures(), load_examples(), strict=True):
        with Image.open(path) as thumb, Image.open(io.BytesIO(full)) as big:
            assert big.size == (example.request["width"], example.request["height"])
            assert thumb.width == showcase.THUMB_WIDTH
            assert abs(thumb.width / thumb.height - big.width / big.height) < 0.01
