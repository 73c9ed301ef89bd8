"""The text-matched page width (``datagen.resolution``): a page's median word is drawn at ``TEXT_PX``
pixels whatever the page size, so a narrow receipt no longer gets four times the pixels of an A4 page."""

from __future__ import annotations

import pytest

from datagen.cli import main
from datagen.pipeline import generate, make_layout
from datagen.resolution import TEXT_PX, raster_width
from datagen.template import load_template
from tests.test_render import TEMPLATES


def _median_px(template_path, seed: int) -> tuple[float, int]:
    template = load_template(template_path)
    gen = generate(template, seed, width=None, augmentations=False)
    scale = gen.page_image.size[0] / gen.layout.width
    sizes = sorted(w.size for w in gen.layout.words if not w.mark)
    return sizes[len(sizes) // 2] * scale, gen.page_image.size[0]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_template_renders_its_median_word_at_text_px(path):
    median_px, _ = _median_px(path, 5)
    assert median_px == pytest.approx(TEXT_PX, rel=0.01)  # rounding the width to whole pixels


def test_a_receipt_gets_fewer_pixels_than_an_a4_invoice_at_the_same_text_size():
    receipt = next(p for p in TEMPLATES if p.parent.name == "receipt")
    invoice = next(p for p in TEMPLATES if p.parent.name == "invoice")
    assert _median_px(receipt, 1)[1] < 0.6 * _median_px(invoice, 1)[1]


def test_a_fixed_width_or_a_resolution_wins_over_the_text_rule():
    _, layout = make_layout(load_template(TEMPLATES[0]), 2)
    assert raster_width(layout, 777) == 777
    assert raster_width(layout, 777, dpi=72) == round(layout.width)
    assert raster_width(layout, text_px=2 * TEXT_PX) == pytest.approx(2 * raster_width(layout), abs=1)


def test_render_takes_width_auto_and_refuses_a_word(tmp_path, capsys):
    args = ["render", "--template", "receipt/thermal-basic", "--seed", "7", "--no-pdf", "--out", str(tmp_path), "--width"]
    assert main([*args, "auto"]) == 0
    with pytest.raises(SystemExit) as exc:
        main([*args, "wide"])
    assert exc.value.code == 2
    assert "--width" in capsys.readouterr().err
