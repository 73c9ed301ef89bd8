"""Tests for datagen.augment: boxes follow the ink through geometric transforms, output is a pure
function of the seed, and the parameter models reject bad templates."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw
from pydantic import ValidationError

from datagen.augment import AUGMENTATIONS, augment

SIZE = (600, 800)
PAPER = (255, 255, 255)
INK = (30, 30, 30)
# Ink blobs in continuous pixel coordinates [x0, y0, x1, y1]; two touch the page edge.
BOXES = np.array(
    [
        [40, 50, 210, 72],
        [300, 60, 560, 90],
        [120, 380, 480, 404],
        [0, 700, 90, 730],
        [520, 760, 600, 800],
    ],
    dtype=float,
)
# Strong settings that make every augmentation visibly change a page when forced on.
STRONG: dict[str, dict] = {
    "ink_fade": {"p": 1, "strength": [0.4, 0.4]},
    "paper_texture": {"p": 1, "strength": [0.1, 0.1]},
    "rotate": {"p": 1, "degrees": [7, 7]},
    "perspective": {"p": 1, "strength": [0.1, 0.1]},
    "blur": {"p": 1, "radius": [1.5, 1.5]},
    "brightness_contrast": {"p": 1, "brightness": [0.7, 0.7], "contrast": [1.3, 1.3]},
    "noise": {"p": 1, "sigma": [8, 8]},
    "jpeg": {"p": 1, "quality": [20, 20]},
}
GEOMETRIC: dict[str, dict] = {
    "rotate +15": {"rotate": {"p": 1, "degrees": [15, 15]}},
    "rotate -15": {"rotate": {"p": 1, "degrees": [-15, -15]}},
    "perspective": {"perspective": {"p": 1, "strength": [0.2, 0.2]}},
    "rotate+perspective": {"rotate": {"p": 1, "degrees": [-9, 9]}, "perspective": {"p": 1, "strength": [0.15, 0.15]}},
}


def page(boxes: np.ndarray, mode: str = "RGB", paper: tuple[int, int, int] = PAPER) -> Image.Image:
    """A blank page with each box filled with ink (ImageDraw's rectangle corners are inclusive pixels)."""
    image = Image.new("RGB", SIZE, paper)
    draw = ImageDraw.Draw(image)
    for x0, y0, x1, y1 in boxes:
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=INK)
    return image.convert(mode)


def dark_pixels(image: Image.Image, threshold: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Column and row indices of pixels darker than ``threshold``."""
    ys, xs = np.nonzero(np.asarray(image.convert("L")) < threshold)
    return xs, ys


@pytest.mark.parametrize("spec", GEOMETRIC.values(), ids=GEOMETRIC.keys())
@pytest.mark.parametrize("seed", [0, 1])
def test_geometric_boxes_cover_and_fit_their_ink(spec: dict, seed: int) -> None:
    # One blob per image, so every dark pixel belongs to the box under test.
    for box in BOXES:
        out, boxes = augment(page(box[None]), box[None], spec, np.random.default_rng(seed))
        x0, y0, x1, y1 = boxes[0]
        xs, ys = dark_pixels(out)
        assert len(xs) > 0.5 * (box[2] - box[0]) * (box[3] - box[1])
        # Pixel (x, y) covers [x, x + 1); allow 1 px for bilinear spreading.
        inside = (xs + 1 >= x0 - 1) & (xs <= x1 + 1) & (ys + 1 >= y0 - 1) & (ys <= y1 + 1)
        assert inside.mean() >= 0.98, (box, boxes[0])
        # ... and the box is not looser than the ink: its edges sit on the extreme ink pixels.
        ink_box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        np.testing.assert_allclose(boxes[0], ink_box, atol=2.0)


@pytest.mark.parametrize(
    ("spec", "warp"),
    [
        (GEOMETRIC["rotate +15"], "warpAffine"),
        (GEOMETRIC["perspective"], "warpPerspective"),
        (GEOMETRIC["rotate+perspective"], "warpPerspective"),
        (STRONG, "warpPerspective"),
    ],
    ids=["rotate", "perspective", "rotate+perspective", "all"],
)
def test_geometric_steps_resample_once(monkeypatch: pytest.MonkeyPatch, spec: dict, warp: str) -> None:
    # Rotation and perspective compose into one matrix, so the page is resampled once (an affine warp for
    # rotation alone). This is the path test_geometric_boxes_cover_and_fit_their_ink checks for ink.
    calls = {"warpAffine": 0, "warpPerspective": 0}
    for name in calls:
        real = getattr(cv2, name)

        def counting(*args: object, _real=real, _name=name, **kwargs: object) -> np.ndarray:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(cv2, name, counting)
    augment(page(BOXES), BOXES, spec, np.random.default_rng(0))
    assert calls == {name: int(name == warp) for name in calls}


@pytest.mark.parametrize("spec", GEOMETRIC.values(), ids=GEOMETRIC.keys())
def test_geometry_is_independent_of_content_and_keeps_box_order(spec: dict) -> None:
    together = augment(page(BOXES), BOXES, spec, np.random.default_rng(5))[1]
    for i, box in enumerate(BOXES):
        alone = augment(page(box[None]), box[None], spec, np.random.default_rng(5))[1]
        np.testing.assert_allclose(together[i], alone[0])


@pytest.mark.parametrize("spec", GEOMETRIC.values(), ids=GEOMETRIC.keys())
def test_boxes_are_clipped_to_the_output_image(spec: dict) -> None:
    overhanging = np.array([[-30, -20, 100, 40], [550, 770, 650, 850]], dtype=float)
    out, boxes = augment(page(BOXES), overhanging, spec, np.random.default_rng(0))
    w, h = out.size
    assert (boxes >= 0).all()
    assert (boxes[:, [0, 2]] <= w).all() and (boxes[:, [1, 3]] <= h).all()


def test_input_boxes_are_not_modified() -> None:
    boxes = BOXES.copy()
    augment(page(BOXES), boxes, STRONG, np.random.default_rng(0))
    np.testing.assert_array_equal(boxes, BOXES)


def test_rotate_expands_canvas_and_fills_with_paper_colour() -> None:
    tinted = (245, 238, 220)
    image = page(BOXES, paper=tinted)
    out, _ = augment(image, BOXES, {"rotate": {"p": 1, "degrees": [10, 10]}}, np.random.default_rng(0))
    assert out.width > image.width and out.height > image.height
    for corner in [(0, 0), (out.width - 1, 0), (0, out.height - 1), (out.width - 1, out.height - 1)]:
        assert out.getpixel(corner) == tinted


def test_same_seed_is_byte_identical_and_another_seed_differs() -> None:
    image = page(BOXES)
    first = augment(image, BOXES, STRONG, np.random.default_rng(7))
    again = augment(image, BOXES, STRONG, np.random.default_rng(7))
    other = augment(image, BOXES, STRONG, np.random.default_rng(8))
    assert first[0].tobytes() == again[0].tobytes()
    np.testing.assert_array_equal(first[1], again[1])
    assert first[0].tobytes() != other[0].tobytes()


def test_order_is_canonical_not_spec_order() -> None:
    image = page(BOXES)
    forward = augment(image, BOXES, STRONG, np.random.default_rng(3))
    reverse = augment(image, BOXES, dict(reversed(STRONG.items())), np.random.default_rng(3))
    assert forward[0].tobytes() == reverse[0].tobytes()
    np.testing.assert_array_equal(forward[1], reverse[1])


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("name", list(AUGMENTATIONS))
def test_each_augmentation_changes_pixels_and_keeps_mode(name: str, mode: str) -> None:
    image = page(BOXES, mode)
    out, boxes = augment(image, BOXES, {name: STRONG[name]}, np.random.default_rng(0))
    assert out.mode == mode
    assert out.tobytes() != image.tobytes()
    if name == "rotate":
        assert out.width > image.width and out.height > image.height
    else:
        assert out.size == image.size
    if name not in ("rotate", "perspective"):
        np.testing.assert_array_equal(boxes, BOXES)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_probability_zero_is_identity(mode: str) -> None:
    image = page(BOXES, mode)
    off = {name: {**params, "p": 0} for name, params in STRONG.items()}
    out, boxes = augment(image, BOXES, off, np.random.default_rng(0))
    assert out.mode == image.mode and out.size == image.size
    assert out.tobytes() == image.tobytes()
    np.testing.assert_array_equal(boxes, BOXES)


def test_probability_half_applies_about_half_the_time() -> None:
    image = Image.new("L", (16, 16), 128)
    spec = {"noise": {"p": 0.5, "sigma": [10, 10]}}
    applied = sum(augment(image, np.zeros((0, 4)), spec, np.random.default_rng(s))[0].tobytes() != image.tobytes() for s in range(200))
    assert 70 < applied < 130


def test_noise_has_requested_sigma() -> None:
    image = Image.new("L", (400, 400), 128)
    out, _ = augment(image, np.zeros((0, 4)), {"noise": {"p": 1, "sigma": [6, 6]}}, np.random.default_rng(0))
    diff = np.asarray(out, dtype=float) - 128
    assert abs(diff.mean()) < 0.1
    assert diff.std() == pytest.approx(6, rel=0.05)


def test_jpeg_quality_controls_error() -> None:
    image = page(BOXES, "L")
    errors = []
    for quality in (5, 95):
        spec = {"jpeg": {"p": 1, "quality": [quality, quality]}}
        out, _ = augment(image, BOXES, spec, np.random.default_rng(0))
        errors.append(np.abs(np.asarray(out, dtype=float) - np.asarray(image, dtype=float)).mean())
    assert errors[0] > 3 * errors[1]


def test_jpeg_keeps_colours() -> None:
    # OpenCV's codec works in BGR: a swap on only one side of the round trip would turn red into blue.
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (245, 238, 220)]
    image = Image.new("RGB", (64 * len(colours), 64))
    for i, colour in enumerate(colours):
        image.paste(colour, (64 * i, 0, 64 * (i + 1), 64))
    out, _ = augment(image, np.zeros((0, 4)), {"jpeg": {"p": 1, "quality": [90, 90]}}, np.random.default_rng(0))
    for i, colour in enumerate(colours):
        np.testing.assert_allclose(out.getpixel((64 * i + 32, 32)), colour, atol=4)


def test_zero_blur_radius_leaves_pixels_alone() -> None:
    image = page(BOXES)
    out, _ = augment(image, BOXES, {"blur": {"p": 1, "radius": [0, 0]}}, np.random.default_rng(0))
    assert out.tobytes() == image.tobytes()


def test_paper_texture_darkens_paper_smoothly_within_strength() -> None:
    image = page(BOXES, "L")
    out, _ = augment(image, BOXES, {"paper_texture": {"p": 1, "strength": [0.1, 0.1]}}, np.random.default_rng(0))
    a = np.asarray(out, dtype=int)
    paper = a[np.asarray(image) == 255]
    assert paper.min() >= 255 * 0.9 - 1 and paper.max() <= 255
    assert paper.min() < 245  # it does darken somewhere
    assert np.abs(np.diff(a[:40], axis=1)).max() <= 1  # low-frequency: no jumps between neighbours on paper


def test_ink_fade_lightens_ink_unevenly_and_keeps_paper_white() -> None:
    image = page(BOXES, "L")
    out, _ = augment(image, BOXES, {"ink_fade": {"p": 1, "strength": [0.4, 0.4]}}, np.random.default_rng(0))
    before, after = np.asarray(image), np.asarray(out)
    assert (after[before == 255] == 255).all()
    ink = after[before == INK[0]]
    # Ink density 225 scaled by a factor in [0.6, 0.8]: values between 255 - 0.8 * 225 and 255 - 0.6 * 225.
    assert ink.min() >= 74 and ink.max() <= 121
    assert ink.max() - ink.min() >= 5


def test_brightness_contrast_darkens_white_page() -> None:
    image = Image.new("RGB", SIZE, PAPER)
    spec = {"brightness_contrast": {"p": 1, "brightness": [0.5, 0.5], "contrast": [1, 1]}}
    out, _ = augment(image, np.zeros((0, 4)), spec, np.random.default_rng(0))
    assert out.getpixel((10, 10)) in [(127, 127, 127), (128, 128, 128)]


def test_every_model_has_probability_default_half() -> None:
    assert list(AUGMENTATIONS) == [
        "ink_fade",
        "paper_texture",
        "rotate",
        "perspective",
        "blur",
        "brightness_contrast",
        "noise",
        "jpeg",
    ]
    for model in AUGMENTATIONS.values():
        assert model().p == 0.5


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("rotate", {"degrees": [3, -3]}, "range [3.0, -3.0] has low > high"),
        ("noise", {"sigma": [10, 2]}, "has low > high"),
        ("jpeg", {"quality": [0, 50]}, "is outside [1.0, 100.0]"),
        ("blur", {"radius": [1, 2], "sigma": [1, 2]}, "Extra inputs are not permitted"),
        ("ink_fade", {"p": 1.5}, "less than or equal to 1"),
        ("paper_texture", {"p": -0.1}, "greater than or equal to 0"),
    ],
)
def test_models_reject_bad_params(name: str, params: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        AUGMENTATIONS[name].model_validate(params)


def test_augment_rejects_unknown_name_and_mode() -> None:
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment(page(BOXES), BOXES, {"smudge": {}}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="RGB or L"):
        augment(page(BOXES).convert("RGBA"), BOXES, {}, np.random.default_rng(0))
