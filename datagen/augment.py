"""Seeded image augmentations that move word boxes together with the pixels.

A rendered page is too clean to train on: real receipts and invoices arrive skewed, blurred, noisy,
JPEG-compressed and faded. Each augmentation here degrades the raster the way one physical step does
(printing, paper, capture, sensor, compression), and they always run in the fixed order of
``AUGMENTATIONS`` -- that physical order -- whatever order a template lists them in, so a template's
output depends only on its parameters and the seed.

The boxes are the renderer's line-height word boxes ``[x0, y0, x1, y1]`` in continuous pixel
coordinates (pixel ``i`` covers ``[i, i + 1)``, which is also how Pillow's transforms sample). Inside the
pipeline each box travels as its four corners. Photometric augmentations leave them alone; the geometric
ones (``rotate``, ``perspective``) push the corners through the very transform used for the pixels.
Only at the end does each quad become the axis-aligned bounding box of its corners: both transforms keep
straight lines straight, so that box encloses the whole transformed word box and therefore its ink, and
taking it once (not after every step) keeps a rotation followed by a perspective warp from compounding
the looseness that an axis-aligned box around rotated text always has.

All randomness comes from the ``numpy.random.Generator`` passed in, and every pixel operation is a
deterministic Pillow or numpy routine, so the same inputs and seed give byte-identical images.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
from PIL import Image, ImageChops, ImageFilter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Range = tuple[float, float]
Fill = int | tuple[int, ...]
Result = tuple[Image.Image, np.ndarray]


def _within(lowest: float, highest: float) -> AfterValidator:
    """Validator for a ``[lo, hi]`` parameter: ordered, and inside ``[lowest, highest]`` so that a typo in
    a template (quality 850, a 30-degree "small" rotation) fails at load time, not as garbage pages."""

    def check(value: Range) -> Range:
        lo, hi = value
        if lo > hi:
            raise ValueError(f"range [{lo}, {hi}] has low > high")
        if lo < lowest or hi > highest:
            raise ValueError(f"range [{lo}, {hi}] is outside [{lowest}, {highest}]")
        return value

    return AfterValidator(check)


class AugParams(BaseModel):
    """Common to all augmentations: the probability that it is applied to a given page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p: float = Field(0.5, ge=0.0, le=1.0)


class RotateParams(AugParams):
    degrees: Annotated[Range, _within(-20.0, 20.0)] = (-3.0, 3.0)


class PerspectiveParams(AugParams):
    strength: Annotated[Range, _within(0.0, 0.25)] = (0.0, 0.04)


class BlurParams(AugParams):
    radius: Annotated[Range, _within(0.0, 10.0)] = (0.3, 1.2)


class NoiseParams(AugParams):
    sigma: Annotated[Range, _within(0.0, 32.0)] = (2.0, 10.0)


class JpegParams(AugParams):
    quality: Annotated[Range, _within(1.0, 100.0)] = (30.0, 85.0)


class BrightnessContrastParams(AugParams):
    brightness: Annotated[Range, _within(0.0, 3.0)] = (0.85, 1.15)
    contrast: Annotated[Range, _within(0.0, 3.0)] = (0.8, 1.2)


class PaperTextureParams(AugParams):
    strength: Annotated[Range, _within(0.0, 1.0)] = (0.02, 0.08)


class InkFadeParams(AugParams):
    strength: Annotated[Range, _within(0.0, 1.0)] = (0.1, 0.5)


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _paper_colour(image: Image.Image) -> Fill:
    """The median colour of the outermost pixel ring: the page margin is paper, so this is what newly
    exposed canvas should look like (a tinted or textured page must not get a white frame)."""
    a = np.asarray(image)
    ring = np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])
    median = np.median(ring, axis=0)
    return int(median) if median.ndim == 0 else tuple(int(v) for v in median)


def _corners(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) boxes -> (N, 4, 2) corners, clockwise from the top-left."""
    x0, y0, x1, y1 = boxes.T
    return np.stack([np.stack(corner, axis=-1) for corner in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))], axis=1)


def _project(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map (..., 2) points through the 3x3 homogeneous ``matrix`` (input -> output pixels)."""
    mapped = points @ matrix[:, :2].T + matrix[:, 2]
    return mapped[..., :2] / mapped[..., 2:]


def _smooth_field(rng: np.random.Generator, size: tuple[int, int], low: float, high: float) -> Image.Image:
    """An "L" image of slowly varying values in ``[255 * low, 255 * high]``: a coarse random grid (one
    cell per ~128 px) upscaled bilinearly, i.e. blotches the size of a few text lines, which is the scale
    of uneven paper and of patchy thermal fading. Cheap because only the tiny grid is random."""
    w, h = size
    grid = rng.uniform(low, high, size=(h // 128 + 2, w // 128 + 2))
    small = Image.fromarray(np.rint(grid * 255).astype(np.uint8), "L")
    return small.resize(size, Image.Resampling.BILINEAR)


def _as_mode(field: Image.Image, mode: str) -> Image.Image:
    return field if mode == "L" else Image.merge(mode, [field] * len(mode))


def rotate(image: Image.Image, corners: np.ndarray, params: RotateParams, rng: np.random.Generator) -> Result:
    """Rotate about the centre, growing the canvas so no corner of the page is cut off (a skewed scan
    keeps the whole page). The affine matrix is built here rather than via ``Image.rotate`` so that the
    box corners go through exactly the matrix the pixels do."""
    theta = np.deg2rad(_uniform(rng, params.degrees))
    w, h = image.size
    cos, sin = np.cos(theta), np.sin(theta)
    # Round before ceil so that 0 degrees keeps the size instead of gaining a pixel from float error.
    out_w = int(np.ceil(round(abs(w * cos) + abs(h * sin), 6)))
    out_h = int(np.ceil(round(abs(w * sin) + abs(h * cos), 6)))
    # Forward map (input -> output): p' = R (p - c_in) + c_out, counter-clockwise on screen for theta > 0.
    rot = np.array([[cos, sin], [-sin, cos]])
    shift = np.array([out_w / 2, out_h / 2]) - rot @ np.array([w / 2, h / 2])
    forward = np.block([[rot, shift[:, None]], [np.zeros((1, 2)), np.ones((1, 1))]])
    inverse = np.linalg.inv(forward)  # Pillow wants output -> input coefficients
    out = image.transform(
        (out_w, out_h),
        Image.Transform.AFFINE,
        tuple(inverse[:2].ravel()),
        resample=Image.Resampling.BILINEAR,
        fillcolor=_paper_colour(image),
    )
    return out, _project(corners, forward)


def perspective(image: Image.Image, corners: np.ndarray, params: PerspectiveParams, rng: np.random.Generator) -> Result:
    """A slightly off-axis photo of the page: each page corner moves inward by a random amount of up to
    ``strength * width`` in x and in y, keeping the output size. Moving corners only inward keeps every
    word on the canvas, so no box is lost; the exposed border is filled with the paper colour."""
    w, h = image.size
    reach = _uniform(rng, params.strength) * w
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=float)
    dst = src + inward * rng.uniform(0.0, reach, size=(4, 2))
    # Solve for the homography taking output (dst) points to input (src) points, the direction Pillow
    # samples in: u = (a x + b y + c) / (g x + h y + 1), v = (d x + e y + f) / (g x + h y + 1).
    system = np.zeros((8, 8))
    for i, ((x, y), (u, v)) in enumerate(zip(dst, src, strict=True)):
        system[2 * i] = [x, y, 1, 0, 0, 0, -x * u, -y * u]
        system[2 * i + 1] = [0, 0, 0, x, y, 1, -x * v, -y * v]
    coeffs = np.linalg.solve(system, src.ravel())
    out = image.transform(
        image.size,
        Image.Transform.PERSPECTIVE,
        tuple(coeffs),
        resample=Image.Resampling.BILINEAR,
        fillcolor=_paper_colour(image),
    )
    backward = np.append(coeffs, 1.0).reshape(3, 3)
    return out, _project(corners, np.linalg.inv(backward))


def blur(image: Image.Image, corners: np.ndarray, params: BlurParams, rng: np.random.Generator) -> Result:
    """Defocus or a cheap scanner: Gaussian blur of a random radius."""
    return image.filter(ImageFilter.GaussianBlur(_uniform(rng, params.radius))), corners


def noise(image: Image.Image, corners: np.ndarray, params: NoiseParams, rng: np.random.Generator) -> Result:
    """Sensor noise: zero-mean Gaussian of a random sigma added to every pixel.

    Drawing a float Gaussian per pixel and channel dominated the cost of a whole page, so instead a pool
    of 65536 Gaussian samples is drawn, already rounded to integer offsets, and each pixel picks one with
    a cheap 16-bit random index -- the same distribution up to the pool's sampling error. One offset per
    pixel is shared by the colour channels (luminance noise, which dominates on scanners), and Pillow
    adds it with saturation. Offsets are stored around 128 so they fit in an "L" image; sigma is capped
    at 32 so that clamping them to [0, 255] only trims beyond four sigma.
    """
    sigma = _uniform(rng, params.sigma)
    pool = np.clip(np.rint(128 + sigma * rng.standard_normal(65536)), 0, 255).astype(np.uint8)
    w, h = image.size
    offsets = Image.fromarray(pool[rng.integers(0, 65536, size=(h, w), dtype=np.uint16)], "L")
    return ImageChops.add(image, _as_mode(offsets, image.mode), 1.0, -128), corners


def jpeg(image: Image.Image, corners: np.ndarray, params: JpegParams, rng: np.random.Generator) -> Result:
    """Compression artefacts (ringing around glyphs, 8x8 blocks) from a round trip through an in-memory
    JPEG at a random quality, as for documents that were emailed or uploaded as photos."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=round(_uniform(rng, params.quality)))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert(image.mode), corners


def brightness_contrast(image: Image.Image, corners: np.ndarray, params: BrightnessContrastParams, rng: np.random.Generator) -> Result:
    """Exposure and scanner gamma differences: random brightness, then random contrast.

    The same maps as ``ImageEnhance.Brightness`` then ``ImageEnhance.Contrast`` (scale towards black,
    then towards the mean grey), folded into one lookup table: one pass over the page instead of four.
    """
    brightness, contrast = _uniform(rng, params.brightness), _uniform(rng, params.contrast)
    grey = image.convert("L") if image.mode != "L" else image
    mean = float(np.asarray(grey.reduce(4)).mean()) * brightness
    lut = np.clip(np.rint(mean + (np.arange(256) * brightness - mean) * contrast), 0, 255).astype(np.uint8)
    return image.point(lut.tolist() * len(image.getbands())), corners


def paper_texture(image: Image.Image, corners: np.ndarray, params: PaperTextureParams, rng: np.random.Generator) -> Result:
    """Uneven paper: multiply by a smooth field that darkens by up to ``strength`` in places. Multiplying
    (rather than adding) keeps black ink black while tinting the paper, as real paper does."""
    strength = _uniform(rng, params.strength)
    field = _smooth_field(rng, image.size, 1.0 - strength, 1.0)
    return ImageChops.multiply(image, _as_mode(field, image.mode)), corners


def ink_fade(image: Image.Image, corners: np.ndarray, params: InkFadeParams, rng: np.random.Generator) -> Result:
    """A fading thermal print: ink density (distance from white) is scaled down by a factor that varies
    smoothly over the page between ``1 - strength`` and ``1 - strength / 2``, so dark text turns patchy
    grey while white paper stays white."""
    strength = _uniform(rng, params.strength)
    keep = _smooth_field(rng, image.size, 1.0 - strength, 1.0 - strength / 2)
    density = ImageChops.multiply(ImageChops.invert(image), _as_mode(keep, image.mode))
    return ImageChops.invert(density), corners


Augmentation = Callable[[Image.Image, np.ndarray, Any, np.random.Generator], Result]

# Canonical order = physical order: what happens to the printed page, then its capture, then the
# sensor, then the file format. ``augment`` always runs them in this order. ink_fade comes first because
# it measures ink density from pure white, which holds only for the clean render.
_PIPELINE: dict[str, tuple[type[AugParams], Augmentation]] = {
    "ink_fade": (InkFadeParams, ink_fade),
    "paper_texture": (PaperTextureParams, paper_texture),
    "rotate": (RotateParams, rotate),
    "perspective": (PerspectiveParams, perspective),
    "blur": (BlurParams, blur),
    "brightness_contrast": (BrightnessContrastParams, brightness_contrast),
    "noise": (NoiseParams, noise),
    "jpeg": (JpegParams, jpeg),
}

AUGMENTATIONS: dict[str, type[BaseModel]] = {name: model for name, (model, _) in _PIPELINE.items()}


def augment(image: Image.Image, boxes: np.ndarray, spec: dict[str, dict], rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    """Apply the augmentations named in ``spec`` ({name: params}) to ``image`` and its word ``boxes``.

    Each named augmentation runs with its probability ``p``, in the canonical order of ``AUGMENTATIONS``
    (never the order of ``spec``), drawing only from ``rng``. ``image`` must be "RGB" or "L" and keeps
    its mode; ``boxes`` is an (N, 4) array of ``[x0, y0, x1, y1]`` pixels and is not modified. Returns
    the new image and new (N, 4) float boxes clipped to its bounds.
    """
    if image.mode not in ("RGB", "L"):
        raise ValueError(f"augment needs an RGB or L image, got mode {image.mode!r}")
    unknown = set(spec) - set(_PIPELINE)
    if unknown:
        raise ValueError(f"unknown augmentation(s) {sorted(unknown)} (known: {', '.join(_PIPELINE)})")
    corners = _corners(np.asarray(boxes, dtype=float).reshape(-1, 4))
    for name, (model, apply) in _PIPELINE.items():
        if name not in spec:
            continue
        params = model.model_validate(spec[name])
        if rng.random() < params.p:
            image, corners = apply(image, corners, params, rng)
    w, h = image.size
    out = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    return image, np.clip(out, 0.0, [w, h, w, h])
