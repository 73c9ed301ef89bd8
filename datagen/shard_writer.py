"""Writing one shard: its documents into a parquet file, then the sidecar that describes it.

Why a module of its own: this is the one place where the plan becomes bytes. A shard is written under its
lock (``build_state.shard_lock``) into a temporary file named for its writer, fsynced and renamed over the
final name, then described by a sidecar (rows, SHA-256, ``ShardStats``) that ``build_state`` checks; a
shard another run finished meanwhile is kept as it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import Timeout

from datagen.build_plan import ROW_GROUP, BuildConfig, Shard, document_spec, load_tokenizer
from datagen.build_state import STATE_DIR, checked_json, finished_shard, shard_lock
from datagen.card import ShardStats
from datagen.features import dataset_features, record_to_row
from datagen.io import sha256_file, write_atomic
from datagen.ocr import load_engine, ocr_record
from datagen.ocr_noise import noise_model
from datagen.pipeline import encode_image, generate


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


class Stopped(Exception):
    """A shard abandoned because the build is stopping (Ctrl-C, a failed worker, a dead parent)."""


Stop = Callable[[], bool]


def build_shard(
    config: BuildConfig, budgets: dict[str, dict[str, int]], shard: Shard, out: Path, progress: Any = None, stop: Stop | None = None
) -> dict[str, Any]:
    """Build one shard under its lock and return its sidecar; a shard another run finished meanwhile is kept.

    Blocking on the lock is what makes concurrent runs of one build safe: a second run that reaches a
    shard the first is still writing waits, then finds it finished. ``stop`` is asked while waiting and
    before each document: when it says so the shard is abandoned (``Stopped``, no temporary file left),
    which is how a pool of workers stops within a document instead of being killed mid-write.
    """
    lock = shard_lock(out, shard.name)
    while True:
        if stop is not None and stop():
            raise Stopped(shard.name)
        try:
            lock.acquire(timeout=0.5 if stop is not None else -1)
            break
        except Timeout:
            continue
    try:
        done = finished_shard(out, shard)
        return done if done is not None else _write_shard(config, budgets, shard, out, progress, stop)
    finally:
        lock.release()


def _write_shard(
    config: BuildConfig, budgets: dict[str, dict[str, int]], shard: Shard, out: Path, progress: Any, stop: Stop | None
) -> dict[str, Any]:
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
                if stop is not None and stop():
                    raise Stopped(shard.name)
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
                    gen = dataclasses.replace(gen, record=ocr_record(gen.record, engine(gen.page_image)))
                image = encode_image(gen.page_image, config.image_format, config.quality) if eager else None
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
        "sha256": sha256_file(final),
        "stats": stats.to_json(),
    }
    write_atomic(out / STATE_DIR / "shards" / f"{shard.name}.json", checked_json(sidecar))
    return sidecar
