"""``datagen build``: many documents into Hugging Face parquet shards, deterministically and resumably.

This module runs a build: it prepares the folder, hands the shards still to do to a pool of workers,
shows their progress, and finalizes the build when it is whole. What to build is ``build_plan``, one shard
is ``shard_writer``, and the folder's state, its locks and its checks are ``build_state``.

Slices. ``--shards K/N`` builds every N-th shard starting at K (0-based), so N machines can share a
build; ``datagen merge DIR`` (or any unsliced run) checks that every shard is there and writes the card.

Interruption. Ctrl-C terminates the pool; each worker removes its temporary file and exits quietly.
After ``kill -9`` of the parent alone, each pool worker finishes the shard in hand and exits (it cannot
report to a dead parent); a rerun started meanwhile waits for that shard's lock and then finds it finished.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tqdm import tqdm

from datagen.build_plan import BuildConfig, Shard, parse_slice, shard_plan
from datagen.build_state import check_shards, finalize_build, prepare_build, remove_dead_temps
from datagen.errors import DatagenError
from datagen.shard_writer import build_shard


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
    state = prepare_build(config, out, command)
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
