"""Seeded image augmentations that move word boxes together with the pixels.

A rendered page is too clean to train on: real receipts and invoices arrive skewed, blurred, noisy,
JPEG-compressed and faded. Each augmentation here degrades the raster the way one physical step does
(printing, paper, capture, sensor, compression), and they always run in the fixed order of
``AUGMENTATIONS`` -- that physical order -- whatever order a template lists them in, so a template's
output depends only on its parameters and the seed.

The pixel work is OpenCV and numpy on one uint8 array: ``augment`` converts the PIL image once on the
way in and once on the way out. Measured on a 1024x1448 RGB page, OpenCV's bilinear warp takes a third
or less of the time of Pillow's ``Image.transform``, its Gaussian blur (at the default radii) about a
fifteenth of Pillow's, and the photometric steps become single saturating passes (lookup tables,
``cv2.multiply``/``addWeighted``) instead of chains of ``ImageChops`` images: all augmentations on a page
went from ~270 ms to ~60 ms, which decides how many pages a build makes per core.

The boxes are the renderer's line-height word boxes ``[x0, y0, x1, y1]`` in continuous pixel
coordinates (pixel ``i`` covers ``[i, i + 1)``). Inside the pipeline each box travels as its four
corners. Photometric augmentations leave them alone. The geometric ones (``rotate``, ``perspective``)
only build a forward 3x3 homography in those coordinates; consecutive ones are composed and the page is
resampled once, through the composed matrix, when the next photometric step needs the pixels (or at the
end), and the box corners are pushed through that same matrix. Resampling once is twice as fast as
warping twice and blurs the text once instead of twice. Only at the end does each quad become the
axis-aligned bounding box of its corners: both transforms keep straight lines straight, so that box
encloses the whole transformed word box and therefore its ink, and taking it once (not after every
step) keeps a rotation followed by a perspective warp from compounding the looseness that an
axis-aligned box around rotated text always has.

All randomness comes from the ``numpy.random.Generator`` passed in, and every pixel operation is a
deterministic OpenCV or numpy routine run on one thread, so the same inputs and seed give byte-identical
images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from datagen.limits import within

# One OpenCV thread: a parallel build already runs one worker per core, so OpenCV's own thread pool would
# only contend with those workers, and the output must not depend on how OpenCV splits the work across a
# machine's cores.
cv2.setNumThreads(1)

Range = tuple[float, float]
Fill = int | tuple[int, ...]
Size = tuple[int, int]
# A geometric step maps the current canvas size to (forward homography input -> output, output size).
Geometric = Callable[[Size, Any, np.random.Generator], tuple[np.ndarray, Size]]
# A photometric step maps a uint8 page array ((H, W) or (H, W, 3)) to a new one of the same shape.
Photometric = Callable[[np.ndarray, Any, np.random.Generator], np.ndarray]

# ITU-R 601 luma weights, as in Pillow's "L" conversion (the grey that ImageEnhance.Contrast averages).
_LUMA = np.array([0.299, 0.587, 0.114])
# OpenCV's warps put pixel i's centre at coordinate i, the matrices here at i + 0.5: these convert.
_TO_CONTINUOUS = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
_TO_OPENCV = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])


class AugParams(BaseModel):
    """Common to all augmentations: the probability that it is applied to a given page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p: float = Field(0.5, ge=0.0, le=1.0)


class RotateParams(AugParams):
    degrees: Annotated[Range, within(-20.0, 20.0)] = (-3.0, 3.0)


class PerspectiveParams(AugParams):
    strength: Annotated[Range, within(0.0, 0.25)] = (0.0, 0.04)


class BlurParams(AugParams):
    radius: Annotated[Range, within(0.0, 10.0)] = (0.3, 1.2)


class NoiseParams(AugParams):
    sigma: Annotated[Range, within(0.0, 32.0)] = (2.0, 10.0)


class JpegParams(AugParams):
    quality: Annotated[Range, within(1.0, 100.0)] = (30.0, 85.0)


class BrightnessContrastParams(AugParams):
    brightness: Annotated[Range, within(0.0, 3.0)] = (0.85, 1.15)
    contrast: Annotated[Range, within(0.0, 3.0)] = (0.8, 1.2)


class PaperTextureParams(AugParams):
    strength: Annotated[Range, within(0.0, 1.0)] = (0.02, 0.08)


class InkFadeParams(AugParams):
    strength: Annotated[Range, within(0.0, 1.0)] = (0.1, 0.5)


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _paper_colour(pixels: np.ndarray) -> Fill:
    """The median colour of the outermost pixel ring: the page margin is paper, so this is what newly
    exposed canvas should look like (a tinted or textured page must not get a white frame)."""
    ring = np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]])
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


def _warp(pixels: np.ndarray, matrix: np.ndarray, size: Size) -> np.ndarray:
    """Resample ``pixels`` bilinearly through the forward homography ``matrix`` onto a ``size`` canvas,
    filling exposed canvas with the paper colour. An affine matrix (rotation alone) takes ``warpAffine``,
    which skips the per-pixel perspective division; its last row is exactly (0, 0, 1) because it is then
    a product of affine matrices only."""
    opencv = _TO_OPENCV @ matrix @ _TO_CONTINUOUS
    fill = _paper_colour(pixels)
    if np.array_equal(opencv[2], (0.0, 0.0, 1.0)):
        return cv2.warpAffine(pixels, opencv[:2], size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return cv2.warpPerspective(pixels, opencv, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def _per_channel(field: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """An (H, W) field repeated over the channels of ``pixels``, so OpenCV can combine the two."""
    return field if pixels.ndim == 2 else cv2.cvtColor(field, cv2.COLOR_GRAY2RGB)


def _smooth_field(rng: np.random.Generator, size: Size, low: float, high: float) -> np.ndarray:
    """An (H, W) uint8 array of slowly varying values in ``[255 * low, 255 * high]``: a coarse random grid
    (one cell per ~128 px) upscaled bilinearly, i.e. blotches the size of a few text lines, which is the
    scale of uneven paper and of patchy thermal fading. Cheap because only the tiny grid is random."""
    w, h = size
    grid = rng.uniform(low, high, size=(h // 128 + 2, w // 128 + 2))
    return cv2.resize(np.rint(grid * 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)


def rotate(size: Size, params: RotateParams, rng: np.random.Generator) -> tuple[np.ndarray, Size]:
    """Rotate about the centre, growing the canvas so no corner of the page is cut off (a skewed scan
    keeps the whole page). Returns the forward matrix and the grown canvas size."""
    theta = np.deg2rad(_uniform(rng, params.degrees))
    w, h = size
    cos, sin = np.cos(theta), np.sin(theta)
    # Round before ceil so that 0 degrees keeps the size instead of gaining a pixel from float error.
    out_w = int(np.ceil(round(abs(w * cos) + abs(h * sin), 6)))
    out_h = int(np.ceil(round(abs(w * sin) + abs(h * cos), 6)))
    # Forward map (input -> output): p' = R (p - c_in) + c_out, counter-clockwise on screen for theta > 0.
    rot = np.array([[cos, sin], [-sin, cos]])
    shift = np.array([out_w / 2, out_h / 2]) - rot @ np.array([w / 2, h / 2])
    forward = np.block([[rot, shift[:, None]], [np.zeros((1, 2)), np.ones((1, 1))]])
    return forward, (out_w, out_h)


def perspective(size: Size, params: PerspectiveParams, rng: np.random.Generator) -> tuple[np.ndarray, Size]:
    """A slightly off-axis photo of the page: each page corner moves inward by a random amount of up to
    ``strength * width`` in x and in y, keeping the canvas size. Moving corners only inward keeps every
    word on the canvas, so no box is lost; the exposed border is filled with the paper colour."""
    w, h = size
    reach = _uniform(rng, params.strength) * w
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=float)
    dst = src + inward * rng.uniform(0.0, reach, size=(4, 2))
    return cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32)), size


def blur(pixels: np.ndarray, params: BlurParams, rng: np.random.Generator) -> np.ndarray:
    """Defocus or a cheap scanner: Gaussian blur with a random radius as its standard deviation."""
    sigma = _uniform(rng, params.radius)
    # A zero radius is a valid parameter meaning no blur; OpenCV would reject its empty kernel.
    return cv2.GaussianBlur(pixels, (0, 0), sigmaX=sigma) if sigma > 0 else pixels


def noise(pixels: np.ndarray, params: NoiseParams, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: zero-mean Gaussian of a random sigma added to every pixel.

    Drawing a float Gaussian per pixel and channel dominated the cost of a whole page, so instead a pool
    of 65536 Gaussian samples is drawn, already rounded to integer offsets, and each pixel picks one with
    a cheap 16-bit random index -- the same distribution up to the pool's sampling error. One offset per
    pixel is shared by the colour channels (luminance noise, which dominates on scanners). Offsets are
    stored around 128 so they fit in uint8 (sigma is capped at 32, so clamping them to [0, 255] only
    trims beyond four sigma), and ``addWeighted`` computes ``pixel + offset - 128`` with one saturation.
    """
    sigma = _uniform(rng, params.sigma)
    pool = np.clip(np.rint(128 + sigma * rng.standard_normal(65536)), 0, 255).astype(np.uint8)
    h, w = pixels.shape[:2]
    offsets = pool.take(rng.integers(0, 65536, size=(h, w), dtype=np.uint16))
    return cv2.addWeighted(pixels, 1.0, _per_channel(offsets, pixels), 1.0, -128.0)


def jpeg(pixels: np.ndarray, params: JpegParams, rng: np.random.Generator) -> np.ndarray:
    """Compression artefacts (ringing around glyphs, 8x8 blocks) from a round trip through an in-memory
    JPEG at a random quality, as for documents that were emailed or uploaded as photos. OpenCV's codec
    expects BGR, so colour pages are swapped to BGR before encoding and back after decoding (the JPEG's
    luma and chroma then come from the right channels); grey pages stay one-channel JPEGs."""
    quality = round(_uniform(rng, params.quality))
    colour = pixels.ndim == 3
    source = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if colour else pixels
    ok, encoded = cv2.imencode(".jpg", source, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV failed to encode the page as JPEG")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE)
    if decoded is None:
        raise RuntimeError("OpenCV failed to decode the page's JPEG")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB) if colour else decoded


def brightness_contrast(pixels: np.ndarray, params: BrightnessContrastParams, rng: np.random.Generator) -> np.ndarray:
    """Exposure and scanner gamma differences: random brightness, then random contrast.

    The same maps as ``ImageEnhance.Brightness`` then ``ImageEnhance.Contrast`` (scale towards black,
    then towards the mean grey), folded into one lookup table: one pass over the page. The mean grey is
    the luma-weighted mean of the channel means, which equals the mean of the grey image without making it.
    """
    brightness, contrast = _uniform(rng, params.brightness), _uniform(rng, params.contrast)
    means = cv2.mean(pixels)
    grey = means[0] if pixels.ndim == 2 else float(_LUMA @ means[:3])
    mean = grey * brightness
    lut = np.clip(np.rint(mean + (np.arange(256) * brightness - mean) * contrast), 0, 255).astype(np.uint8)
    return cv2.LUT(pixels, lut)


def paper_texture(pixels: np.ndarray, params: PaperTextureParams, rng: np.random.Generator) -> np.ndarray:
    """Uneven paper: multiply by a smooth field that darkens by up to ``strength`` in places. Multiplying
    (rather than adding) keeps black ink black while tinting the paper, as real paper does."""
    strength = _uniform(rng, params.strength)
    h, w = pixels.shape[:2]
    field = _smooth_field(rng, (w, h), 1.0 - strength, 1.0)
    return cv2.multiply(pixels, _per_channel(field, pixels), scale=1 / 255)


def ink_fade(pixels: np.ndarray, params: InkFadeParams, rng: np.random.Generator) -> np.ndarray:
    """A fading thermal print: ink density (distance from white) is scaled down by a factor that varies
    smoothly over the page between ``1 - strength`` and ``1 - strength / 2``, so dark text turns patchy
    grey while white paper stays white."""
    strength = _uniform(rng, params.strength)
    h, w = pixels.shape[:2]
    keep = _smooth_field(rng, (w, h), 1.0 - strength, 1.0 - strength / 2)
    density = cv2.multiply(cv2.bitwise_not(pixels), _per_channel(keep, pixels), scale=1 / 255)
    return cv2.bitwise_not(density)


_GEOMETRIC: dict[str, tuple[type[AugParams], Geometric]] = {
    "rotate": (RotateParams, rotate),
    "perspective": (PerspectiveParams, perspective),
}
_PHOTOMETRIC: dict[str, tuple[type[AugParams], Photometric]] = {
    "ink_fade": (InkFadeParams, ink_fade),
    "paper_texture": (PaperTextureParams, paper_texture),
    "blur": (BlurParams, blur),
    "brightness_contrast": (BrightnessContrastParams, brightness_contrast),
    "noise": (NoiseParams, noise),
    "jpeg": (JpegParams, jpeg),
}
# Canonical order = physical order: what happens to the printed page, then its capture, then the
# sensor, then the file format. ``augment`` always runs them in this order. ink_fade comes first because
# it measures ink density from pure white, which holds only for the clean render.
_ORDER = ("ink_fade", "paper_texture", "rotate", "perspective", "blur", "brightness_contrast", "noise", "jpeg")

AUGMENTATIONS: dict[str, type[AugParams]] = {name: {**_GEOMETRIC, **_PHOTOMETRIC}[name][0] for name in _ORDER}


def augment(image: Image.Image, boxes: np.ndarray, spec: dict[str, dict], rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    """Apply the augmentations named in ``spec`` ({name: params}) to ``image`` and its word ``boxes``.

    Each named augmentation runs with its probability ``p``, in the canonical order of ``AUGMENTATIONS``
    (never the order of ``spec``), drawing only from ``rng``. ``image`` must be "RGB" or "L" and keeps
    its mode; it is returned as is when no augmentation fires. ``boxes`` is an (N, 4) array of
    ``[x0, y0, x1, y1]`` pixels and is not modified. Returns the new image and new (N, 4) float boxes
    clipped to its bounds.
    """
    if image.mode not in ("RGB", "L"):
        raise ValueError(f"augment needs an RGB or L image, got mode {image.mode!r}")
    unknown = set(spec) - set(_ORDER)
    if unknown:
        raise ValueError(f"unknown augmentation(s) {sorted(unknown)} (known: {', '.join(_ORDER)})")
    corners = _corners(np.asarray(boxes, dtype=float).reshape(-1, 4))
    pixels: np.ndarray | None = None  # the page as an array, made when the first augmentation fires
    pending: np.ndarray | None = None  # composed geometric steps not yet applied to ``pixels``
    size = image.size
    for name in _ORDER:
        if name not in spec:
            continue
        model = AUGMENTATIONS[name]
        params = model.model_validate(spec[name])
        if rng.random() >= params.p:
            continue
        if pixels is None:
            pixels = np.asarray(image)
        if name in _GEOMETRIC:
            matrix, size = _GEOMETRIC[name][1](size, params, rng)
            pending = matrix if pending is None else matrix @ pending
            continue
        if pending is not None:
            pixels, corners, pending = _warp(pixels, pending, size), _project(corners, pending), None
        pixels = _PHOTOMETRIC[name][1](pixels, params, rng)
    if pixels is not None and pending is not None:  # steps are pending only once the page is an array
        pixels, corners = _warp(pixels, pending, size), _project(corners, pending)
    w, h = size
    out = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    return (image if pixels is None else Image.fromarray(pixels)), np.clip(out, 0.0, [w, h, w, h])
