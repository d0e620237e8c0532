"""An edit's preview keeps what its base said: read back with the real OCR.

A chained edit (each step the reference of the next) used to paste the new plaque over
the old one, so step three no longer showed step one's text. Each step's signs now go
where the base is calm; every string asked for so far reads back from the last step.
"""

from __future__ import annotations

from demo.textcheck import TextChecker
from mock_api.engine.references import placeholder_reference
from mock_api.images.render import PreviewSpec, render_bytes

STEPS = (
    'A shop front with a sign that reads "STEP ONE"',
    'Add a banner that reads "STEP TWO"',
    'Add a chalkboard that reads "STEP THREE"',
)


async def test_every_step_of_a_chained_edit_still_reads_back(checker: TextChecker) -> None:
    picture = None
    for seed, prompt in enumerate(STEPS, start=1):
        picture = render_bytes(PreviewSpec(prompt, 1024, 768, seed=seed, reference=picture), "PNG", 95)
    run = await checker.check_images(" ".join(STEPS), [picture])
    assert run.summary() == "Text check: 3 of 3 strings written correctly", run.table()


async def test_an_edit_over_a_url_reference_keeps_the_card_readable(checker: TextChecker) -> None:
    card = placeholder_reference("https://photos.example.org/shelf.jpg")
    picture = render_bytes(
        PreviewSpec('Add a tag that reads "SALE"', 1024, 768, seed=4, reference=card), "PNG", 95
    )
    run = await checker.check_images('"SALE" "Reference picture" "photos.example.org"', [picture])
    assert run.summary() == "Text check: 3 of 3 strings written correctly", run.table()
