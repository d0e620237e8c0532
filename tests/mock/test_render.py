"""The mock's preview renderer: sizes, determinism, formats, quoted text, references."""

from __future__ import annotations

import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageStat

from api_schema import DOCUMENTED_REFERENCE_URLS, load_examples
from api_schema.quotes import quoted_strings
from mock_api.config import DEFAULTS
from mock_api.engine.references import CARD_SIZE, placeholder_reference
from mock_api.images import signs
from mock_api.images.calm import calm_box
from mock_api.images.references import MAX_REFERENCE_SIDE, load_reference, reference_fit, standin_reference
from mock_api.images.render import PreviewSpec, encode_image, render_bytes, render_preview
from mock_api.images.signs import drawable

PROMPT = 'A cosy bookshop window with a sign that reads "OPEN LATE" and a card saying "Poetry"'


def _decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _png(width: int, height: int, colour: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height, with a tiny (wrong) data chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))


# --------------------------------------------------------------------------- size


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (128, 128),
        (1024, 1024),
        (1024, 768),
        (768, 1024),
        (2048, 128),
        (128, 2048),
        (2048, 2048),
        (1568, 1056),
    ],
)
def test_size_is_exact_at_every_aspect_ratio(width: int, height: int) -> None:
    img = render_preview(PreviewSpec(PROMPT, width, height, seed=3))
    assert img.mode == "RGB"
    assert img.size == (width, height)


@pytest.mark.parametrize(("width", "height"), [(127, 512), (512, 2049), (0, 0)])
def test_size_outside_the_documented_range_is_a_value_error(width: int, height: int) -> None:
    with pytest.raises(ValueError, match=r"width|height"):
        render_preview(PreviewSpec(PROMPT, width, height, seed=1))


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "  ",
        "x" * 3000,
        " ".join(f'"SIGN NUMBER {i}"' for i in range(40)),
        '"' + "Supercalifragilisticexpialidocious" * 3 + '"',
        "“欢迎光临” and 'Ünïcödé Straße' and \"emoji 🚉\"",
    ],
)
@pytest.mark.parametrize(("width", "height"), [(128, 128), (2048, 128), (128, 2048)])
def test_awkward_prompts_at_tiny_and_extreme_sizes_still_render(prompt: str, width: int, height: int) -> None:
    img = render_preview(PreviewSpec(prompt, width, height, seed=0))
    assert img.size == (width, height)
    # Something is drawn over the background: the picture is not one flat colour.
    assert max(hi - lo for lo, hi in img.getextrema()) > 60


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prompt=st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\"'“”‘’ "), max_size=300),
    width=st.integers(128, 400),
    height=st.integers(128, 400),
    seed=st.integers(0, 2**63 - 1),
)
def test_any_prompt_renders_at_the_exact_size(prompt: str, width: int, height: int, seed: int) -> None:
    assert render_preview(PreviewSpec(prompt, width, height, seed)).size == (width, height)


# --------------------------------------------------------------------------- determinism


def test_same_spec_gives_identical_pixels_and_bytes() -> None:
    spec = PreviewSpec(PROMPT, 640, 480, seed=42)
    assert render_preview(spec).tobytes() == render_preview(spec).tobytes()
    for fmt in ("JPG", "PNG", "WEBP"):
        assert render_bytes(spec, fmt, 80) == render_bytes(spec, fmt, 80)


def test_different_seed_or_prompt_changes_the_picture() -> None:
    base = render_bytes(PreviewSpec(PROMPT, 512, 512, seed=1), "PNG", 90)
    assert render_bytes(PreviewSpec(PROMPT, 512, 512, seed=2), "PNG", 90) != base
    assert render_bytes(PreviewSpec(PROMPT + " at dusk", 512, 512, seed=1), "PNG", 90) != base


def test_different_seeds_differ_visibly_in_colour() -> None:
    means = {
        tuple(
            round(v) for v in ImageStat.Stat(render_preview(PreviewSpec("no quotes here", 256, 256, s))).mean
        )
        for s in range(6)
    }
    assert len(means) == 6


def test_renders_in_threads_match_renders_in_sequence() -> None:
    # The mock renders in worker threads; shared font and layout caches must not leak.
    specs = [PreviewSpec(f'"SIGN {i}" and "Platform {i % 3}"', 256 + 32 * (i % 3), 192, i) for i in range(8)]
    expected = [render_bytes(s, "PNG", 90) for s in specs]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda s: render_bytes(s, "PNG", 90), specs)) == expected


@pytest.mark.parametrize("label", ["", "A VERY LONG LABEL THAT NEVER FITS IN A SMALL PICTURE AT ALL"])
def test_any_label_fits_the_caption(label: str) -> None:
    assert render_preview(PreviewSpec(PROMPT, 128, 128, 1, label=label)).size == (128, 128)


# --------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(("fmt", "pil_name"), [("JPG", "JPEG"), ("PNG", "PNG"), ("WEBP", "WEBP")])
def test_each_format_decodes_as_that_format_at_the_right_size(fmt: str, pil_name: str) -> None:
    data = render_bytes(PreviewSpec(PROMPT, 320, 200, seed=5), fmt, 90)
    img = _decode(data)
    assert img.format == pil_name
    assert img.size == (320, 200)


def test_encoded_files_carry_no_metadata() -> None:
    img = _decode(render_bytes(PreviewSpec(PROMPT, 256, 256, seed=5), "JPG", 90))
    assert "exif" not in img.info
    assert "icc_profile" not in img.info


@pytest.mark.parametrize("fmt", ["JPG", "WEBP"])
def test_quality_changes_lossy_file_size(fmt: str) -> None:
    img = render_preview(PreviewSpec(PROMPT, 512, 512, seed=9))
    low, high = len(encode_image(img, fmt, 20)), len(encode_image(img, fmt, 99))
    assert low < high


def test_encode_refuses_unknown_format_and_out_of_range_quality() -> None:
    img = Image.new("RGB", (8, 8))
    with pytest.raises(ValueError, match="format"):
        encode_image(img, "GIF", 80)
    for quality in (19, 100, 95.5, True):
        with pytest.raises(ValueError, match="quality"):
            encode_image(img, "JPG", quality)  # type: ignore[arg-type]


def test_encode_accepts_non_rgb_images() -> None:
    rgba = Image.new("RGBA", (16, 16), (10, 200, 30, 128))
    assert _decode(encode_image(rgba, "JPG", 80)).mode == "RGB"
    assert _decode(encode_image(rgba, "PNG", 80)).mode == "RGBA"
    assert _decode(encode_image(Image.new("P", (16, 16)), "WEBP", 80)).mode == "RGB"


def test_encode_drops_metadata_without_touching_the_callers_image() -> None:
    img = Image.new("RGB", (16, 16))
    img.info["comment"] = b"private note"
    data = encode_image(img, "PNG", 80)
    assert b"private note" not in data
    assert img.info == {"comment": b"private note"}


# --------------------------------------------------------------------------- quoted text


def test_quoted_strings_of_the_documented_examples() -> None:
    found = {ex.slug: quoted_strings(ex.request["positivePrompt"]) for ex in load_examples()}
    assert found == {
        "handwritten-atlas-reading-room": [
            "Cartography Hall",
            "Polar Routes 1874",
            "River Survey",
            "Atlas of Winds",
        ],
        "floating-archive-atrium-diorama": [
            "SKY TIDE ARCHIVE",
            "MAP ROOM",
            "SEED VAULT",
            "UPPER STACKS",
            "DELIVER TO DELTA SCHOOL",
        ],
        "riverside-herbarium-signboard-tableau": ["RIVERBANK HERBARIUM", "Specimens & Seeds"],
        "wayfinding-mural-transit-hall": [
            "RIVERGATE CENTRAL",
            "PLATFORM A",
            "PLATFORM B",
            "TICKETS",
            "EXIT",
            "CITY TRAMS",
            "REGIONAL LINES",
        ],
    }


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Z.ai's recommended sizes", []),
        ("don't panic, it's fine", []),
        ("the travelers' maps and a sign reading 'EXIT'", ["EXIT"]),
        ('a diner sign reading "Joe\'s Diner"', ["Joe's Diner"]),
        ("a diner sign reading 'Joe's Diner'", ["Joe's Diner"]),
        ("typographic “Hello” and ‘World’", ["Hello", "World"]),
        ("it’s a ‘Fresh Bread’ sign, the baker’s pride", ["Fresh Bread"]),
        ("“Joe’s Diner”", ["Joe’s Diner"]),
        ("a 5'10\" tall door", []),
        ('unbalanced "quote never closes', []),
        ("rock 'n' roll and 'OPEN'", ["OPEN"]),
        ('duplicates "MAP ROOM", "MAP ROOM," and "MAP  ROOM"', ["MAP ROOM"]),
        ("nested \"say 'hi' twice\"", ["say 'hi' twice"]),
        ('empty "" and blank " " quotes', []),
        ('invisible "\u200b\u200b" and "tab\there\x00" and "a\ud800b"', ["tab here", "ab"]),
        ("", []),
        # Chinese and Japanese quoting: curly quotes, corner brackets, book titles, full-width quotes.
        ("海报上写着“开放”，门口挂着「营业中」", ["开放", "营业中"]),
        ("封面《三体》，『夜市』和＂欢迎＂", ["三体", "夜市", "欢迎"]),
        ("「看板」の『東京』", ["看板", "東京"]),
        ("“开放，” and “营业：”", ["开放", "营业"]),
        ("「nested “quotes” inside」 and 《》", ["nested “quotes” inside"]),
        ("unbalanced 「never closes and 《open", []),
    ],
)
def test_quoted_strings_tricky_cases(prompt: str, expected: list[str]) -> None:
    assert quoted_strings(prompt) == expected


@pytest.fixture
def no_fallback_font(monkeypatch: pytest.MonkeyPatch):
    """The renderer as on a machine with no CJK font installed."""
    monkeypatch.setattr(signs, "FALLBACK_FONTS", ())
    signs.fallback_font_path.cache_clear()
    yield
    monkeypatch.undo()
    signs.fallback_font_path.cache_clear()


def _renders(prompts: tuple[str, ...]) -> list[bytes]:
    return [render_bytes(PreviewSpec(p, 512, 384, seed=5), "PNG", 90) for p in prompts]


CJK_PROMPT = '一张海报，上面写着“开放”和“欢迎光临”, and "OPEN"'
LATIN = (PROMPT, '"Café Straße" and "5 € — OK"', "no quotes at all")


@pytest.fixture
def with_cjk_font():
    if signs.fallback_font_path() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-zenhei)")


def test_latin_previews_never_use_the_fallback_font(with_cjk_font, request) -> None:
    # The fallback font is only for what the bundled one cannot draw, so installing it
    # leaves Latin previews (and recordings, and tests comparing bytes) as they were.
    assert signs.font_for(drawable("Café OK"), 40) is signs.load_font(40)
    installed = _renders(LATIN)
    request.getfixturevalue("no_fallback_font")
    assert _renders(LATIN) == installed


def test_chinese_is_drawn_with_the_installed_cjk_font(with_cjk_font, request) -> None:
    assert signs.font_for("开放", 40).getname()[0] != signs.load_font(40).getname()[0]
    installed = _renders((CJK_PROMPT,))
    request.getfixturevalue("no_fallback_font")
    assert _renders((CJK_PROMPT,)) != installed  # glyphs, not the bundled font's boxes


def test_without_a_cjk_font_chinese_renders_as_before(no_fallback_font) -> None:
    assert signs.fallback_font_path() is None
    assert signs.font_for("开放", 40) is signs.load_font(40)
    assert render_preview(PreviewSpec(CJK_PROMPT, 512, 384, seed=2)).size == (512, 384)


def test_accented_latin_is_drawn_without_accents_rather_than_as_boxes() -> None:
    # Pillow's bundled font covers little beyond ASCII; folding keeps Latin text readable.
    assert drawable("Café Straße Ångström Łódź — 5 €") == "Cafe Strasse Angstrom Lodz - 5 EUR"
    assert drawable("MAP ROOM “A” … ©") == "MAP ROOM “A” … ©"


# --------------------------------------------------------------------------- references


def test_reference_is_the_visible_base() -> None:
    red = _png(300, 200, (255, 0, 0))
    plain = ImageStat.Stat(render_preview(PreviewSpec(PROMPT, 512, 384, seed=4))).mean
    r, g, b = ImageStat.Stat(render_preview(PreviewSpec(PROMPT, 512, 384, seed=4, reference=red))).mean
    assert r > 150 and r > g + 80 and r > b + 80, (r, g, b)
    assert (r, g, b) != tuple(plain)


def test_reference_of_another_aspect_ratio_covers_the_whole_frame() -> None:
    # A tall green reference in a wide frame: the corners (outside the signs) are green.
    img = render_preview(PreviewSpec("no quotes", 800, 200, seed=4, reference=_png(100, 400, (0, 200, 0))))
    for xy in [(2, 2), (797, 2)]:
        r, g, b = img.getpixel(xy)
        assert g > r + 60 and g > b + 60, (xy, (r, g, b))


def test_load_reference_decodes_common_formats_to_rgb() -> None:
    for fmt, mode in (("PNG", "RGBA"), ("JPEG", "RGB"), ("WEBP", "RGB"), ("GIF", "P"), ("BMP", "L")):
        buf = io.BytesIO()
        Image.new(mode, (40, 30)).save(buf, fmt)
        img = load_reference(buf.getvalue())
        assert (img.mode, img.size) == ("RGB", (40, 30)), fmt


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 10,
        _png(64, 64)[:60],  # truncated inside the pixel data
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # formats we do not accept
        "a string, not bytes",
    ],
)
def test_load_reference_rejects_unusable_bytes_with_value_error(data: bytes) -> None:
    with pytest.raises(ValueError) as info:
        load_reference(data)
    assert 5 < len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("width", "height"), [(20_000, 20_000), (10_001, 10), (8000, 6000), (60_000, 60_000)]
)
def test_load_reference_refuses_oversized_images_from_the_header(width: int, height: int) -> None:
    assert width * height > DEFAULTS.max_reference_pixels or max(width, height) > MAX_REFERENCE_SIDE
    with pytest.raises(ValueError, match="too large"):
        load_reference(_png_header_only(width, height))


@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=200)
    | st.binary(max_size=200).map(lambda b: _png(24, 16)[: len(b) % 120] + b)
    | st.binary(max_size=64).map(lambda b: b"\xff\xd8\xff\xe0" + b)
    | st.binary(max_size=64).map(lambda b: b"GIF89a" + b)
)
def test_load_reference_raises_only_value_error(data: bytes) -> None:
    try:
        img = load_reference(data)
    except ValueError as exc:
        assert str(exc)
    else:
        assert img.mode == "RGB"


def test_bad_reference_makes_render_raise_value_error() -> None:
    with pytest.raises(ValueError):
        render_preview(PreviewSpec(PROMPT, 256, 256, seed=1, reference=b"garbage"))


def test_standins_for_the_documented_urls() -> None:
    assert len(DOCUMENTED_REFERENCE_URLS) == 2
    pictures = []
    for url in DOCUMENTED_REFERENCE_URLS:
        data = standin_reference(url)
        assert data is not None and len(data) < 150_000
        img = _decode(data)
        assert img.format == "JPEG"
        assert 512 <= img.width <= 2048 and 384 <= img.height <= 2048
        pictures.append(data)
    assert pictures[0] != pictures[1]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/x.jpg",
        "",
        DOCUMENTED_REFERENCE_URLS[0] + "?v=2",
        "298877df-be25-4bd9-8813-1990e7d9e8f4",
    ],
)
def test_standin_is_none_for_other_urls(url: str) -> None:
    assert standin_reference(url) is None


def test_documented_image_to_image_examples_render_over_their_standins() -> None:
    for ex in load_examples():
        refs = (ex.request.get("inputs") or {}).get("referenceImages") or []
        ref = standin_reference(refs[0]) if refs else None
        assert (ex.kind == "image-to-image") == (ref is not None)
        spec = PreviewSpec(
            ex.request["positivePrompt"], ex.request["width"], ex.request["height"], 1, reference=ref
        )
        assert _decode(render_bytes(spec, "JPG", 90)).size == (ex.request["width"], ex.request["height"])


# --------------------------------------------------------------------------- edits


def _ink_box(
    img: Image.Image, ground: tuple[int, int, int], tolerance: int = 40
) -> tuple[int, int, int, int]:
    """The bounding box of the pixels that differ from ``ground`` (the text on a card)."""
    mask = Image.new("RGB", img.size, ground)
    diff = (
        ImageChops.difference(img.convert("RGB"), mask)
        .convert("L")
        .point(lambda p: 255 if p > tolerance else 0)
    )
    box = diff.getbbox()
    assert box is not None
    return box


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize(
    "host",
    ["example.com", "images.example-photo-hosting-service.com", ".".join(["a" * 63] * 3) + ".example"],
)
def test_the_placeholder_card_shows_its_whole_text_inside_the_card(host: str) -> None:
    card = _decode(placeholder_reference(f"https://{host}/picture.jpg"))
    assert card.size == CARD_SIZE
    x0, y0, x1, y1 = _ink_box(card, card.getpixel((0, 0)))
    assert x0 > 0 and x1 < card.width and y0 > 0 and y1 < card.height  # nothing cut at the edges


@pytest.mark.parametrize(
    ("width", "height"), [(1024, 768), (512, 512), (2048, 128), (128, 2048), (768, 1024)]
)
def test_a_url_reference_card_is_drawn_whole_and_no_sign_covers_its_text(width: int, height: int) -> None:
    card_bytes = placeholder_reference("https://images.example-photo-hosting-service.com/p.jpg")
    card = _decode(card_bytes)
    base = reference_fit(card_bytes, width, height)
    # The card is contained (never cropped): scaled to fit and centred, its text box with it.
    scale = min(width / card.width, height / card.height)
    left, top = (width - round(card.width * scale)) // 2, (height - round(card.height * scale)) // 2
    tx0, ty0, tx1, ty1 = _ink_box(card, card.getpixel((0, 0)))
    text = (left + tx0 * scale, top + ty0 * scale, left + tx1 * scale, top + ty1 * scale)
    assert text[0] >= 0 and text[2] <= width and text[1] >= 0 and text[3] <= height
    margin = max(4, round(min(width, height) * 0.06))
    band = calm_box(base, (margin, margin, width - margin, height - margin - 12))
    assert not _overlaps(band, tuple(round(v) for v in text)), (band, text)


def test_a_chained_edit_adds_its_signs_beside_the_old_ones() -> None:
    # Three steps: each step's signs go where the picture is calm, so every earlier sign
    # stays uncovered (the old renderer pasted the new plaque over the old one).
    step1 = render_preview(PreviewSpec('A shop with a sign that reads "STEP ONE"', 1024, 768, seed=5))
    old_sign = _ink_box(step1.crop((0, 0, 1024, 700)), step1.getpixel((60, 60)), tolerance=90)
    data = encode_image(step1, "PNG", 95)
    step2 = render_preview(PreviewSpec('Add a card that reads "STEP TWO"', 1024, 768, seed=6, reference=data))
    margin = round(768 * 0.06)
    band = calm_box(reference_fit(data, 1024, 768), (margin, margin, 1024 - margin, 768 - 44 - margin))
    assert not _overlaps(band, old_sign), (band, old_sign)
    # Outside the new band the picture is the base under a light wash: the old sign is still there.
    x0, y0, x1, y1 = old_sign
    before, after = step1.crop(old_sign), step2.crop(old_sign)
    assert ImageStat.Stat(ImageChops.difference(before, after)).mean[0] < 40, (x0, y0, x1, y1)


def test_an_edit_of_a_flat_picture_still_gets_large_signs() -> None:
    flat = _png(1024, 768, (200, 200, 200))
    band = calm_box(reference_fit(flat, 1024, 768), (40, 40, 984, 688))
    assert (band[2] - band[0]) * (band[3] - band[1]) >= 0.45 * 944 * 648
