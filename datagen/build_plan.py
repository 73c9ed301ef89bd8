"""What a build makes: its configuration, the shard plan, every document's spec, and the mask budgets.

Plan. Document ``g`` (0 <= g < n) is a pure function of (config, g): its doc type, template, locale
and seed come from a generator seeded by (config seed, g). Splits take contiguous ranges of ``g``
and each split is cut into shards of ``shard_size`` documents, so shard k's bytes depend only on the
config and k, never on the number of workers or on which machine built it.

Why a module of its own: the shard writer, the build state and the runner all read the same plan, and
the plan depends on nothing but the configuration and the data files it names (templates, fonts,
tokenizer), which ``BuildConfig.digest`` hashes; how and where the shards get built is not its business.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tqdm import tqdm

from datagen import __version__
from datagen.doctypes import DOC_TYPES
from datagen.errors import DatagenError
from datagen.fonts import FONT_DIR
from datagen.io import sha256_file
from datagen.ocr import ENGINES, engine_version
from datagen.ocr_noise import NOISE_FILE
from datagen.pipeline import encode_image, generate
from datagen.prompts import compute_budgets, encode_all
from datagen.sample import derive_seed
from datagen.template import LABEL_DIR, Template, list_templates, load_template_cached

DEFAULT_TOKENIZER = str(Path(__file__).parent / "tokenizer")
# Documents per shard by image format: keeps shards well under the Hub's ~500 MB guidance
# (JPEG up to ~200 kB at 1024 px RGB, PNG ~ 1 MB, layout-only ~ 8 kB a document).
SHARD_SIZE = {"jpeg": 2000, "png": 400, "none": 20000}
ROW_GROUP = {"jpeg": 100, "png": 100, "none": 1000}
LAYOUT_BYTES_PER_DOC = 8_000  # an upper estimate of a row without its image (measured 2.7-3.4 kB), for the disk check
SIZE_SAMPLE = 32  # documents rendered to estimate an image build's bytes


@dataclass(frozen=True)
class BuildConfig:
    """Everything that determines the bytes of a build (and nothing that does not, like workers)."""

    n: int
    seed: int = 0
    doc_types: tuple[str, ...] = tuple(DOC_TYPES)
    locales: tuple[str, ...] | None = None  # None: every locale of every template
    templates: tuple[str, ...] | None = None  # None: every shipped template of the doc types
    splits: tuple[tuple[str, float], ...] = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
    image_format: str = "jpeg"
    width: int | None = None  # None: text-matched (datagen.resolution.raster_width)
    mode: str = "L"
    quality: int = 50
    pdf: bool = False
    augment: bool = True
    ocr_noise: bool = True  # receipts' words as an OCR engine reads them (datagen.ocr_noise)
    ocr: str | None = None  # every page read by this OCR engine (datagen.ocr): its words replace the generated ones
    tokenizer: str = "default"
    budget_percentile: float = 99.5
    calibration_docs: int = 2000  # documents measured to choose the mask budgets
    shard_size: int = 0  # 0: by image format
    version: str = __version__

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise DatagenError(f"--n must be a positive number of documents, not {self.n}")
        unknown = [t for t in self.doc_types if t not in DOC_TYPES]
        if unknown or not self.doc_types:
            raise DatagenError(f"unknown doc type(s) {', '.join(unknown) or '(none)'} (known: {', '.join(DOC_TYPES)})")
        total = sum(r for _, r in self.splits)
        if any(r < 0 for _, r in self.splits) or not math.isclose(total, 1.0, abs_tol=1e-6):
            raise DatagenError(f"split ratios must be non-negative and sum to 1, got {total:g}")
        if self.image_format not in SHARD_SIZE:
            raise DatagenError(f"--image-format must be one of {', '.join(SHARD_SIZE)}, not {self.image_format!r}")
        if self.ocr is not None and self.ocr not in ENGINES:
            raise DatagenError(f"unknown OCR engine {self.ocr!r} for --ocr (known: {', '.join(ENGINES)})")

    @property
    def docs_per_shard(self) -> int:
        """The format's size, but at least ~64 shards for smaller builds so that every core gets work."""
        return self.shard_size or min(SHARD_SIZE[self.image_format], max(50, math.ceil(self.n / 64)))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildConfig:
        data = dict(data)
        for key in ("doc_types", "locales", "templates"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        data["splits"] = tuple((name, ratio) for name, ratio in data["splits"])
        return cls(**data)

    def digest(self) -> str:
        """The configuration hash: the options and every data file the build reads (``input_digests``)."""
        data = {**self.to_json(), "inputs": input_digests(self)}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Shard:
    split: str
    index: int
    count: int
    start: int  # first global document index
    stop: int

    @property
    def name(self) -> str:
        return f"{self.split}-{self.index:05d}-of-{self.count:05d}"

    @property
    def path(self) -> str:
        return f"data/{self.name}.parquet"


def split_sizes(config: BuildConfig) -> list[tuple[str, int]]:
    """Documents per split by the largest-remainder method (sums to n exactly)."""
    sizes = [(name, int(config.n * ratio)) for name, ratio in config.splits]
    rest = config.n - sum(s for _, s in sizes)
    order = sorted(range(len(sizes)), key=lambda i: -(config.n * config.splits[i][1] - sizes[i][1]))
    for i in order[:rest]:
        sizes[i] = (sizes[i][0], sizes[i][1] + 1)
    return [(name, size) for name, size in sizes if size > 0]


def shard_plan(config: BuildConfig) -> list[Shard]:
    shards, start = [], 0
    per = config.docs_per_shard
    for split, size in split_sizes(config):
        count = math.ceil(size / per)
        for k in range(count):
            lo = start + k * per
            shards.append(Shard(split, k, count, lo, min(lo + per, start + size)))
        start += size
    return shards


@cache
def eligible(config: BuildConfig) -> dict[str, list[tuple[Template, tuple[str, ...]]]]:
    """doc type -> [(template, locales it may use)], after the doc-type/template/locale filters."""
    wanted = set(config.templates) if config.templates else None
    out: dict[str, list[tuple[Template, tuple[str, ...]]]] = {t: [] for t in config.doc_types}
    for path in list_templates():
        template = load_template_cached(str(path))
        if template.doc_type not in out or (wanted is not None and template.id not in wanted):
            continue
        locales = tuple(loc for loc in template.locales if config.locales is None or loc in config.locales)
        if locales:
            out[template.doc_type].append((template, locales))
    if wanted is not None:
        known = {t.id for pairs in out.values() for t, _ in pairs}
        missing = sorted(wanted - known)
        if missing:
            raise DatagenError(f"unknown template(s) or none of their locales selected: {', '.join(missing)}")
    empty = [t for t, pairs in out.items() if not pairs]
    if empty:
        raise DatagenError(f"no template supports doc type(s) {', '.join(empty)} with locales {', '.join(config.locales or [])}")
    return out


@cache
def input_digests(config: BuildConfig) -> dict[str, str]:
    """SHA-256 of every data file that shapes the documents besides the options: the templates the build
    may draw, the label catalogue they draw labels from, the fonts and the tokenizer files (for the mask budgets).

    Why: a template edited between two slices, or before a resume, would otherwise give one dataset
    whose shards were drawn from different templates, under one configuration hash.
    """
    files = {f"templates/{t.id}.yaml": Path(t.source) for pairs in eligible(config).values() for t, _ in pairs}
    files |= {f"templates/{LABEL_DIR.name}/{p.name}": p for p in sorted(LABEL_DIR.glob("*.yaml"))}  # the label catalogue
    files |= {f"fonts/{p.name}": p for p in sorted(FONT_DIR.glob("*.ttf"))}
    if config.ocr_noise and config.ocr is None:
        files[NOISE_FILE.name] = NOISE_FILE
    tokenizer = Path(DEFAULT_TOKENIZER if config.tokenizer == "default" else config.tokenizer)
    if tokenizer.is_dir():  # a Hub id is named in the options; its revision is the Hub's business
        files |= {f"tokenizer/{p.name}": p for p in sorted(tokenizer.iterdir()) if p.is_file()}
    digests = {name: sha256_file(path) for name, path in sorted(files.items())}
    if config.ocr is not None:  # the engine's package version decides what it reads
        digests["ocr_engine"] = engine_version(config.ocr)
    return digests


def document_spec(config: BuildConfig, g: int, stream: str = "doc") -> tuple[Template, str, int]:
    """(template, locale, seed) of global document ``g``: uniform over doc types, then templates, then locales."""
    rng = random.Random(derive_seed("build", config.seed, stream, g))
    pairs = eligible(config)[rng.choice(config.doc_types)]
    template, locales = pairs[rng.randrange(len(pairs))]
    return template, rng.choice(locales), rng.getrandbits(63)


# --------------------------------------------------------------------------- tokenizer and budgets


@cache
def load_tokenizer(name: str) -> Any:
    from transformers import AutoTokenizer

    path = DEFAULT_TOKENIZER if name == "default" else name
    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise DatagenError(f"cannot load tokenizer {name!r}: {str(exc).splitlines()[0]}") from None


def calibrate_budgets(config: BuildConfig) -> dict[str, dict[str, int]]:
    """Mask budgets per doc type and key from a calibration sample (its own seed stream, layout only)."""
    tokenizer = load_tokenizer(config.tokenizer)
    lengths: dict[str, dict[str, list[int]]] = {t: {k: [] for k in DOC_TYPES[t]} for t in config.doc_types}
    for g in tqdm(range(config.calibration_docs), desc="calibrating mask budgets", unit="doc", leave=False):
        template, locale, seed = document_spec(config, g, stream="calibration")
        record = generate(template, seed, locale, width=config.width, raster=False).record
        present = [f for f in record["fields"] if f["present"]]
        for f, ids in zip(present, encode_all(tokenizer, [f["value"] for f in present]), strict=True):
            lengths[template.doc_type][f["key"]].append(len(ids))
    unknown = len(tokenizer.encode("unknown", add_special_tokens=False))
    return {t: compute_budgets(per_key, unknown, config.budget_percentile) for t, per_key in lengths.items()}


def bytes_per_doc(config: BuildConfig) -> float:
    """An upper estimate of a document's bytes on disk: 1.25x the mean image of ``SIZE_SAMPLE`` documents spread
    over the build, rendered and encoded with its settings (image size varies 4x with resolution, mode and
    quality, so a constant would be wrong for most settings; a sample's mean came within 15% of a build's),
    plus the rest of the row."""
    if config.image_format == "none":
        return LAYOUT_BYTES_PER_DOC
    sample = range(0, config.n, max(1, config.n // SIZE_SAMPLE))[:SIZE_SAMPLE]
    total = 0
    for g in sample:
        template, locale, seed = document_spec(config, g)
        gen = generate(template, seed, locale, width=config.width, mode=config.mode, augmentations=config.augment)
        total += len(encode_image(gen.page_image, config.image_format, config.quality))
    return 1.25 * total / len(sample) + LAYOUT_BYTES_PER_DOC


# --------------------------------------------------------------------------- --n and --shards


def parse_count(text: str) -> int:
    """``1e6``, ``1_000_000`` and ``1000000`` are all one million; anything else is an error."""
    cleaned = text.strip().replace("_", "")
    try:
        value = float(cleaned) if re.fullmatch(r"\d+(\.\d+)?[eE]\d+", cleaned) else int(cleaned)
    except ValueError:
        raise DatagenError(f"--n must be a whole number of documents (e.g. 5000, 1e6, 1_000_000), not {text!r}") from None
    if value != int(value) or value <= 0:
        raise DatagenError(f"--n must be a positive whole number of documents, not {text!r}")
    return int(value)


def parse_slice(text: str | None) -> tuple[int, int]:
    if text is None:
        return 0, 1
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or int(match.group(2)) == 0 or int(match.group(1)) >= int(match.group(2)):
        raise DatagenError(f"--shards must be K/N with 0 <= K < N (e.g. 0/4), not {text!r}")
    return int(match.group(1)), int(match.group(2))
