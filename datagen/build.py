"""``datagen build``: many documents into Hugging Face parquet shards, deterministically and resumably.

Plan. Document ``g`` (0 <= g < n) is a pure function of (config, g): its doc type, template, locale
and seed come from a generator seeded by (config seed, g). Splits take contiguous ranges of ``g``
and each split is cut into shards of ``shard_size`` documents, so shard k's bytes depend only on the
config and k, never on the number of workers or on which machine built it.

Resuming. ``.datagen/build.json`` holds the config, its hash and the PIP mask budgets; every finished
shard is written to a temporary file and renamed, then described by a sidecar
``.datagen/shards/NAME.json`` (rows, sha256, statistics). Rerunning the same command skips shards
whose file matches its sidecar and builds the rest; a different config refuses to touch the folder.

Slices. ``--shards K/N`` builds every N-th shard starting at K (0-based), so N machines can share a
build; ``datagen merge DIR`` (or any unsliced run) checks that every shard is there and writes the card.

Concurrency. Slices (or whole runs) may write into one folder at the same time, as a Slurm array does.
Preparing the folder (calibration, ``build.json``) happens under ``.datagen/build.lock``; a shard is built
only under its own lock ``.datagen/locks/NAME.lock`` and into a temporary file named for its writer, so
no run touches another's unfinished work. The locks are OS file locks (``filelock``): the kernel drops
them when their process dies, so a temporary file whose shard lock can be taken belongs to a dead run
and is removed. After ``kill -9`` of the parent alone, each pool worker finishes the shard in hand and
exits (it cannot report to a dead parent); a rerun started meanwhile waits for that shard's lock and
then finds it finished.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import math
import multiprocessing as mp
import os
import queue
import random
import re
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout
from tqdm import tqdm

from datagen import __version__
from datagen.doctypes import DOC_TYPES
from datagen.errors import DatagenError
from datagen.features import dataset_features, record_to_row
from datagen.fonts import FONT_DIR
from datagen.io import CONFIG_FILE, write_atomic
from datagen.ocr import ENGINES, engine_version, load_engine, ocr_record
from datagen.ocr_noise import NOISE_FILE, noise_model
from datagen.pipeline import encode_image, generate
from datagen.prompts import compute_budgets, encode_all
from datagen.sample import derive_seed
from datagen.template import Template, list_templates, load_template_cached

STATE_DIR = ".datagen"
DEFAULT_TOKENIZER = str(Path(__file__).parent / "tokenizer")
# Documents per shard by image format: keeps shards well under the Hub's ~500 MB guidance
# (JPEG 1024 px ~ 150 kB, PNG ~ 1 MB, layout-only ~ 8 kB a document).
SHARD_SIZE = {"jpeg": 2000, "png": 400, "none": 20000}
ROW_GROUP = {"jpeg": 100, "png": 100, "none": 1000}
BYTES_PER_DOC = {"jpeg": 200_000, "png": 1_300_000, "none": 12_000}  # upper estimates, for the disk check


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
    width: int = 1024
    mode: str = "RGB"
    quality: int = 90
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
    may draw, the fonts and the tokenizer files (for the mask budgets).

    Why: a template edited between two slices, or before a resume, would otherwise give one dataset
    whose shards were drawn from different templates, under one configuration hash.
    """
    files = {f"templates/{t.id}.yaml": Path(t.source) for pairs in eligible(config).values() for t, _ in pairs}
    files |= {f"fonts/{p.name}": p for p in sorted(FONT_DIR.glob("*.ttf"))}
    if config.ocr_noise and config.ocr is None:
        files[NOISE_FILE.name] = NOISE_FILE
    tokenizer = Path(DEFAULT_TOKENIZER if config.tokenizer == "default" else config.tokenizer)
    if tokenizer.is_dir():  # a Hub id is named in the options; its revision is the Hub's business
        files |= {f"tokenizer/{p.name}": p for p in sorted(tokenizer.iterdir()) if p.is_file()}
    digests = {name: _sha256(path) for name, path in sorted(files.items())}
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


# --------------------------------------------------------------------------- one shard


@dataclass
class ShardStats:
    """What ``datagen stats`` and the card report, summed over shards."""

    rows: int = 0
    doc_types: Counter = field(default_factory=Counter)
    templates: Counter = field(default_factory=Counter)
    locales: Counter = field(default_factory=Counter)
    present: Counter = field(default_factory=Counter)  # "doc_type/key" -> documents with the key present
    overflow: Counter = field(default_factory=Counter)  # "doc_type/key" -> values longer than the budget
    unread: Counter = field(default_factory=Counter)  # "doc_type/key" -> present values no word is linked to (--ocr)
    words_hist: Counter = field(default_factory=Counter)  # words per document, in bins of 25
    value_len_hist: Counter = field(default_factory=Counter)  # characters per present value, bins of 5

    def add(self, row: dict[str, Any]) -> None:
        t = row["doc_type"]
        self.rows += 1
        self.doc_types[t] += 1
        self.templates[row["template_id"]] += 1
        self.locales[row["locale"]] += 1
        self.words_hist[str(len(row["words"]) // 25 * 25)] += 1
        for f in row["fields"]:
            if f["present"]:
                self.present[f"{t}/{f['key']}"] += 1
                self.value_len_hist[str(len(f["value"]) // 5 * 5)] += 1
                if not f["word_ids"]:
                    self.unread[f"{t}/{f['key']}"] += 1
        for key in row["pip_overflow"]:
            self.overflow[f"{t}/{key}"] += 1

    def merge(self, other: dict[str, Any]) -> None:
        self.rows += other["rows"]
        for name in ("doc_types", "templates", "locales", "present", "overflow", "unread", "words_hist", "value_len_hist"):
            getattr(self, name).update(other[name])

    def to_json(self) -> dict[str, Any]:
        # not dataclasses.asdict: it rebuilds a Counter from (key, count) pairs, counting the pairs
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: dict(sorted(v.items())) if isinstance(v, Counter) else v for k, v in values.items()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def rare_collection() -> Iterator[None]:
    """Run the garbage collector's young generations less often, for the length of the block.

    Why: a shard buffers a row group (up to 1,000 rows, each a few hundred lists, dicts and tuples) before
    writing it, and CPython's default thresholds (700, 10, 10) rescan that growing heap every few thousand
    allocations: a fifth of a layout-only build's time. Collections still happen (every 50,000
    allocations), so memory stays bounded, which ``scripts/bench_build.py`` checks (peak RSS).
    """
    old = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def shard_lock(out: Path, name: str) -> FileLock:
    """The lock a run holds while it builds shard ``name`` of ``out`` (see the module docstring)."""
    path = out / STATE_DIR / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path)


def build_shard(config: BuildConfig, budgets: dict[str, dict[str, int]], shard: Shard, out: Path, progress: Any = None) -> dict[str, Any]:
    """Build one shard under its lock and return its sidecar; a shard another run finished meanwhile is kept.

    Blocking on the lock is what makes concurrent runs of one build safe: a second run that reaches a
    shard the first is still writing waits, then finds it finished.
    """
    with shard_lock(out, shard.name):
        done = finished_shard(out, shard)
        return done if done is not None else _write_shard(config, budgets, shard, out, progress)


def _write_shard(config: BuildConfig, budgets: dict[str, dict[str, int]], shard: Shard, out: Path, progress: Any) -> dict[str, Any]:
    """Write one shard (temp file + rename) and its sidecar; return the sidecar. Call with the shard's lock held."""
    eager = config.image_format != "none"
    features = dataset_features(image=eager, pdf=config.pdf)
    schema = features.arrow_schema
    tokenizer = load_tokenizer(config.tokenizer)
    engine = load_engine(config.ocr) if config.ocr else None
    noise = noise_model() if config.ocr_noise and engine is None else None  # a real engine's words need no noise model
    final = out / shard.path
    tmp = final.with_name(f".{final.name}.{os.getpid()}-{time.time_ns()}.tmp")  # this writer's own
    stats = ShardStats()
    rows: list[dict[str, Any]] = []
    group = ROW_GROUP[config.image_format]
    try:
        with rare_collection(), pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for g in range(shard.start, shard.stop):
                template, locale, seed = document_spec(config, g)
                gen = generate(
                    template,
                    seed,
                    locale,
                    width=config.width,
                    mode=config.mode,
                    raster=eager or engine is not None,
                    pdf=config.pdf,
                    augmentations=config.augment,
                    ocr_noise=noise,
                )
                if engine is not None:
                    gen = dataclasses.replace(gen, record=ocr_record(gen.record, engine(gen.image)))
                image = encode_image(gen.image, config.image_format, config.quality) if eager else None
                row = record_to_row(gen.record, budgets[template.doc_type], tokenizer, image=image, pdf=gen.pdf)
                stats.add(row)
                rows.append(row)
                if len(rows) == group:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    rows.clear()
                    if progress is not None:
                        progress.put(group)
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                if progress is not None:
                    progress.put(len(rows))
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sidecar = {
        "name": shard.name,
        "path": shard.path,
        "split": shard.split,
        "rows": shard.stop - shard.start,
        "bytes": final.stat().st_size,
        "sha256": _sha256(final),
        "stats": stats.to_json(),
    }
    write_atomic(out / STATE_DIR / "shards" / f"{shard.name}.json", _checked_json(sidecar))
    return sidecar


# --------------------------------------------------------------------------- the build


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


def _state_path(out: Path) -> Path:
    return out / STATE_DIR / "build.json"


STATE_KEYS = ("config", "config_hash", "generator_version", "command", "budgets", "shards")
SIDECAR_KEYS = ("name", "path", "split", "rows", "bytes", "sha256", "stats")


def _json_digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _checked_json(data: dict[str, Any]) -> bytes:
    """``data`` as JSON with a ``checksum`` of its content, so that any change to the file is noticed."""
    return json.dumps({**data, "checksum": _json_digest(data)}, indent=1).encode()


def _read_json(path: Path, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The object ``_checked_json`` wrote to ``path``, or None if the file was changed since (bit flip,
    truncation, edit). Files written before checksums (no ``checksum`` key, no ``optional`` keys) are
    read by their keys alone, so older builds stay readable."""
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    checksum = data.pop("checksum", None)
    if not set(keys) <= set(data) <= {*keys, *optional} or (checksum is not None and checksum != _json_digest(data)):
        return None
    return data


def read_state(out: Path) -> dict[str, Any]:
    """The build state of ``out`` (config, hash, budgets, plan); a folder without one is an error."""
    state_file = _state_path(out)
    if not state_file.exists():
        raise DatagenError(f"{out} holds no datagen build (no {STATE_DIR}/build.json)")
    state = _read_json(state_file, STATE_KEYS, optional=("inputs",))
    if state is None:
        raise DatagenError(
            f"{state_file} is damaged (not the JSON a build writes); the configuration it held is lost: rebuild into a new --out"
        )
    return state


def _matching_state(config: BuildConfig, out: Path) -> dict[str, Any] | None:
    """The state of the build in ``out`` if there is one; one with another configuration is an error."""
    if not _state_path(out).exists():
        return None
    state = read_state(out)
    if state["config_hash"] != config.digest():
        if BuildConfig.from_json(state["config"]) == config:  # same options: a template, font or tokenizer file changed
            then, now = state.get("inputs", {}), input_digests(config)
            changed = sorted(name for name in then.keys() | now.keys() if then.get(name) != now.get(name))
            raise DatagenError(
                f"{out} was started with other template, font or tokenizer files ({describe_problems(changed)} differ); "
                "restore them to finish this build, or use another --out"
            )
        raise DatagenError(
            f"{out} holds a build with a different configuration (hash {state['config_hash']}, this one {config.digest()}); use another --out or the same options"
        )
    return state


def _prepare(config: BuildConfig, out: Path, command: str) -> dict[str, Any]:
    """Create or reuse the output folder; refuse a folder that holds anything else.

    Slices started together on a new folder all land here: the first to take ``build.lock`` calibrates
    and writes the state, the others wait and reuse it (an empty ``.datagen`` is a build being prepared).
    """
    eligible(config)  # unknown templates or locales fail before anything is written
    state = _matching_state(config, out)
    if state is not None:
        return state
    if out.exists() and any(p.name != STATE_DIR for p in out.iterdir()):
        raise DatagenError(f"{out} is not empty and holds no datagen build; choose an empty or new --out")
    created = not out.exists()
    try:
        (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatagenError(f"cannot write to {out}: {exc.strerror}") from None
    with FileLock(out / STATE_DIR / "build.lock"):
        state = _matching_state(config, out)  # prepared by another slice while this one waited
        if state is not None:
            return state
        try:
            _check_disk(config, out)
            budgets = calibrate_budgets(config)
            state = {
                "config": config.to_json(),
                "config_hash": config.digest(),
                "inputs": input_digests(config),
                "generator_version": __version__,
                "command": command,
                "budgets": budgets,
                "shards": [s.path for s in shard_plan(config)],
            }
            try:
                write_atomic(_state_path(out), _checked_json(state))
            except OSError as exc:
                raise DatagenError(f"cannot write to {out}: {exc.strerror}") from None
        except BaseException:
            if created:  # leave nothing behind; no state exists, so no other run has work in the folder
                shutil.rmtree(out, ignore_errors=True)
            raise
    return state


def _check_disk(config: BuildConfig, out: Path) -> None:
    free = shutil.disk_usage(out).free
    need = config.n * BYTES_PER_DOC[config.image_format]
    if need > free:
        raise DatagenError(f"not enough disk space in {out}: the build needs up to {need / 1e9:.1f} GB, {free / 1e9:.1f} GB free")
    if need >= 1e9:  # say so before hours of work, not when the disk fills
        print(
            f"datagen: {config.n:,} {config.image_format} documents take up to {need / 1e9:.1f} GB ({free / 1e9:.1f} GB free)",
            file=sys.stderr,
        )


def check_shard(out: Path, shard: Shard, verify: bool = True) -> tuple[dict[str, Any] | None, str | None]:
    """``(sidecar, None)`` for a finished shard, ``(None, why)`` otherwise.

    ``verify`` hashes the file against the sidecar's SHA-256: a same-size bit flip passes a size check,
    and a dataset scored against changed gold is silently wrong. Only a shard this process has just
    written or hashed may be checked by size alone.
    """
    sidecar = out / STATE_DIR / "shards" / f"{shard.name}.json"
    path = out / shard.path
    if not path.exists():
        return None, "missing"
    if not sidecar.exists():
        return None, "has no sidecar"
    info = _read_json(sidecar, SIDECAR_KEYS)
    if info is None:
        return None, f"sidecar {STATE_DIR}/shards/{sidecar.name} is damaged"
    if info["bytes"] != path.stat().st_size:
        return None, "size differs from its sidecar"
    if verify and info["sha256"] != _sha256(path):
        return None, "checksum differs from its sidecar"
    return info, None


def finished_shard(out: Path, shard: Shard, verify: bool = True) -> dict[str, Any] | None:
    """The sidecar of a finished, intact shard; None if it is missing or damaged (see ``check_shard``)."""
    return check_shard(out, shard, verify)[0]


def check_shards(
    out: Path, shards: list[Shard], trusted: frozenset[str] = frozenset()
) -> list[tuple[Shard, dict[str, Any] | None, str | None]]:
    """``check_shard`` for many shards, hashing on every core (hashlib releases the GIL); ``trusted``
    names shards this process has just written or hashed, checked by size only."""
    from concurrent.futures import ThreadPoolExecutor

    hashed = sum(1 for s in shards if s.name not in trusted and (out / s.path).exists())
    bar = tqdm(total=len(shards), desc="verifying shard checksums", unit="shard", leave=False, disable=hashed < 8)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = []
        for shard, (info, problem) in zip(
            shards, pool.map(lambda s: check_shard(out, s, verify=s.name not in trusted), shards), strict=True
        ):
            results.append((shard, info, problem))
            bar.update()
    bar.close()
    return results


def stray_shards(out: Path, plan: list[Shard]) -> list[str]:
    """Parquet files in ``data/`` that are not shards of the plan: ``load_dataset`` would read them too."""
    planned = {s.path for s in plan}
    return sorted(p.name for p in (out / "data").glob("*.parquet") if f"data/{p.name}" not in planned)


def describe_problems(problems: list[str]) -> str:
    """``a (why), b (why), … and N more``: the first few of a list, for a one-line error."""
    shown = ", ".join(problems[:3])
    return shown + (f" and {len(problems) - 3} more" if len(problems) > 3 else "")


def _worker(args: tuple[dict[str, Any], dict[str, dict[str, int]], Shard, str]) -> dict[str, Any]:
    config_json, budgets, shard, out = args
    return build_shard(BuildConfig.from_json(config_json), budgets, shard, Path(out), _PROGRESS)


_PROGRESS: Any = None


def _set_progress(progress: Any) -> None:
    global _PROGRESS
    _PROGRESS = progress
    with contextlib.suppress(ImportError):
        import cv2

        cv2.setNumThreads(1)


def _init_worker(progress: Any) -> None:
    """Set up a pool worker: the progress queue, and a quiet, clean exit on Ctrl-C.

    Ctrl-C reaches the whole process group; the parent answers it by terminating the pool (SIGTERM), which
    a worker turns into ``SystemExit`` so that its temporary file is removed and no traceback is printed.
    """
    _set_progress(progress)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def build(
    config: BuildConfig, out: Path, workers: int | None = None, shards: str | None = None, command: str = "datagen.build.build()"
) -> Path | None:
    """Build (or resume) ``out``; returns the card path when the dataset is complete. ``command`` is what the card
    and ``build_config.json`` record as the way it was made (the command line gives its own; a Python caller may
    pass theirs): the configuration itself is recorded in full either way."""
    k, n = parse_slice(shards)
    state = _prepare(config, out, command)
    budgets = state["budgets"]
    (out / "data").mkdir(parents=True, exist_ok=True)
    remove_dead_temps(out)
    plan = shard_plan(config)
    mine = plan[k::n]
    todo = []
    for shard, info, problem in check_shards(out, mine):
        if info is None:
            todo.append(shard)
            if problem not in ("missing", "has no sidecar"):  # those two are what an interrupted run leaves
                print(f"datagen: {out / shard.path}: {problem}; rebuilding it", file=sys.stderr)
    total_docs = sum(s.stop - s.start for s in todo)
    done = sum(s.stop - s.start for s in mine) - total_docs
    if done and todo:
        print(f"datagen: resuming {out}: {done:,} documents already built, {total_docs:,} to go", file=sys.stderr)
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    if todo:
        _run(config, budgets, todo, out, workers, total_docs, already=done)
    if shards is not None and n > 1:
        return None
    return finalize_build(out, trusted=frozenset(s.name for s in mine))  # each hashed above or just written


def remove_dead_temps(out: Path) -> None:
    """Remove the temporary shard files of dead runs: those whose shard lock nobody holds.

    A live writer holds its shard's lock for as long as its temporary file exists, so a file whose lock
    can be taken was left by a run that was killed (another slice's work in progress is never touched).
    """
    for tmp in (out / "data").glob(".*.tmp"):
        name = tmp.name[1:].split(".parquet.", 1)[0]
        try:
            with shard_lock(out, name).acquire(timeout=0):
                tmp.unlink(missing_ok=True)
        except Timeout:
            continue


def _run(config: BuildConfig, budgets: dict[str, Any], todo: list[Shard], out: Path, workers: int, total_docs: int, already: int) -> None:
    bar = tqdm(total=total_docs + already, initial=already, unit="doc", desc=f"building {out}", smoothing=0.05, dynamic_ncols=True)
    jobs = [(config.to_json(), budgets, s, str(out)) for s in todo]
    try:
        if workers == 1:  # in this process: the bar itself receives the progress
            _set_progress(_BarProgress(bar))
            for job in jobs:
                _worker(job)
            return
        # fork where the platform has it: workers start in milliseconds with the templates, tokenizer and
        # the Faker pools the calibration warmed already loaded; the pool exists before any thread starts.
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        progress = ctx.Queue()
        stop = threading.Event()
        pump = threading.Thread(target=_pump, args=(progress, bar, stop), daemon=True)
        with ctx.Pool(workers, initializer=_init_worker, initargs=(progress,)) as pool:
            pump.start()
            try:
                for _ in pool.imap_unordered(_worker, jobs):
                    pass
            except BaseException:
                pool.terminate()
                raise
        stop.set()
        pump.join()
    except OSError as exc:
        raise DatagenError(f"cannot write to {out}: {exc.strerror or exc}") from None
    finally:
        bar.close()


class _BarProgress:
    """The ``put`` of a progress queue, for a build that runs in this process."""

    def __init__(self, bar: tqdm):
        self.bar = bar

    def put(self, docs: int) -> None:
        self.bar.update(docs)


def _pump(progress: Any, bar: tqdm, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            bar.update(progress.get(timeout=0.2))
        except queue.Empty:
            continue


def finalize_build(out: Path, trusted: frozenset[str] = frozenset()) -> Path:
    """Check every shard of the plan against its sidecar's checksum, then write the statistics and the card.

    ``trusted``: shards this process has just written or hashed (see ``check_shards``).
    """
    from datagen.card import write_card  # the card imports this module's ShardStats

    state = read_state(out)
    plan = shard_plan(BuildConfig.from_json(state["config"]))
    if (out / "data").is_dir():
        remove_dead_temps(out)
    checked = check_shards(out, plan, trusted)
    problems = [f"{shard.name} ({problem})" for shard, _, problem in checked if problem is not None]
    if problems:
        raise DatagenError(
            f"{out}: {len(problems)} shard(s) missing or damaged: {describe_problems(problems)}; rerun the build (or its slices) to rebuild them"
        )
    stray = stray_shards(out, plan)
    if stray:
        raise DatagenError(f"{out}/data holds files that are not shards of this build: {describe_problems(stray)}; move them out")
    public = {k: state[k] for k in ("config", "config_hash", "inputs", "generator_version", "command", "budgets") if k in state}
    try:
        write_atomic(out / CONFIG_FILE, json.dumps(public, indent=1).encode())  # read by datagen.lazy
        return write_card(out, state, [info for _, info, _ in checked])
    except OSError as exc:  # a full disk: every shard is safe, only the card is missing; merge writes it
        raise DatagenError(
            f"cannot write the card of {out}: {exc.strerror or exc}; free some space and run 'datagen merge {out}'"
        ) from None


def verify_build(out: Path, splits: tuple[str, ...] | None = None) -> int:
    """Check ``out`` (or only ``splits`` of it) for every way a build can be incomplete or damaged.

    Raises DatagenError naming what is wrong (state, missing or damaged shards, stray files); returns
    the number of documents checked.
    """
    state = read_state(out)
    plan = [s for s in shard_plan(BuildConfig.from_json(state["config"])) if splits is None or s.split in splits]
    problems = [f"{shard.path} ({problem})" for shard, _, problem in check_shards(out, plan) if problem is not None]
    problems += [
        f"data/{name} (not a shard of this build)" for name in stray_shards(out, plan) if splits is None or name.split("-")[0] in splits
    ]
    if problems:
        raise DatagenError(
            f"{out}: {len(problems)} problem(s): {describe_problems(problems)}; rerun the build command to rebuild damaged shards"
        )
    return sum(s.stop - s.start for s in plan)
