"""``datagen build``: many documents into Hugging Face parquet shards, deterministically and resumably.

This module runs a build: it prepares the folder, hands the shards still to do to a pool of workers,
shows their progress, and finalizes the build when it is whole. What to build is ``build_plan``, one shard
is ``shard_writer``, and the folder's state, its locks and its checks are ``build_state``.

Slices. ``--shards K/N`` builds every N-th shard starting at K (0-based), so N machines can share a
build; ``datagen merge DIR`` (or any unsliced run) checks that every shard is there and writes the card.

Interruption. Ctrl-C stops every worker at its next document; each removes its temporary file, and the
build exits with one line. After ``kill -9`` of the parent alone, each worker abandons the shard in hand
likewise and exits; a rerun builds it again. A worker killed on its own (the OOM killer) ends the build
with one line instead of a hang; its temporary file is removed by the next run.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from tqdm import tqdm

from datagen.build_plan import BuildConfig, Shard, parse_slice, shard_plan
from datagen.build_state import check_shards, finalize_build, prepare_build, remove_dead_temps
from datagen.errors import DatagenError
from datagen.shard_writer import Stop, build_shard


def _worker(args: tuple[dict[str, Any], dict[str, dict[str, int]], Shard, str]) -> dict[str, Any]:
    config_json, budgets, shard, out = args
    with _IN_SHARD:
        return build_shard(BuildConfig.from_json(config_json), budgets, shard, Path(out), _PROGRESS, _STOP)


_PROGRESS: Any = None  # where a worker reports documents done: the parent's queue, or the bar itself
_STOP: Stop | None = None  # asked by the shard writer before each document (see _init_worker)
_IN_SHARD = threading.Lock()  # held while a worker writes a shard, so that an orphan exits between shards


def _set_progress(progress: Any) -> None:
    global _PROGRESS
    _PROGRESS = progress
    with contextlib.suppress(ImportError):
        import cv2

        cv2.setNumThreads(1)


def _init_worker(progress: Any, stop: Any, parent: int) -> None:
    """Set up a pool worker: the progress queue, and the two reasons to abandon the shard in hand.

    The parent stops a build by setting ``stop`` (Ctrl-C, or another worker's error): each worker leaves
    its shard at the next document boundary, removing its temporary file. No signal is sent to a worker;
    a worker that is killed anyway (OOM killer, ``kill -9``) breaks the pool, which the parent reports.
    A worker whose parent died (``kill -9`` of the parent alone) stops likewise and exits, so no orphan
    writes on; its shard is rebuilt by the next run. Ctrl-C reaches the whole process group: workers
    ignore it and let the parent decide.
    """
    global _STOP
    _set_progress(progress)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    orphaned = threading.Event()

    def stopped() -> bool:
        return orphaned.is_set() or stop.is_set()

    _STOP = stopped
    threading.Thread(target=_exit_when_orphaned, args=(parent, orphaned), daemon=True).start()


def _exit_when_orphaned(parent: int, orphaned: threading.Event) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    orphaned.set()
    with _IN_SHARD:  # the shard in hand is abandoned at its next document, its temporary file removed
        os._exit(0)  # nobody is left to send work, and the pool's queues would block forever


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
        _run_pool(jobs, workers, bar)
    except OSError as exc:
        raise DatagenError(f"cannot write to {out}: {exc.strerror or exc}") from None
    finally:
        bar.close()


def _run_pool(jobs: list[tuple[dict[str, Any], dict[str, dict[str, int]], Shard, str]], workers: int, bar: tqdm) -> None:
    """Run the jobs on a process pool; whatever ends the build early stops every worker cleanly first.

    Why ``ProcessPoolExecutor`` and a stop flag, not ``multiprocessing.Pool.terminate``: terminating a
    Pool whose workers are mid-write could deadlock on the pool's own queue locks (a CI run hung 90 min),
    and a Pool waits forever for the task of a worker that was killed. Here Ctrl-C only sets a flag in the
    parent (no exception lands inside a lock), the workers stop at their next document, and a killed
    worker breaks the pool, which becomes one line of error.
    """
    # fork where the platform has it: workers start in milliseconds with the templates, tokenizer and
    # the Faker pools the calibration warmed already loaded
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    progress, stop = ctx.Queue(), ctx.Event()
    done = threading.Event()
    pump = threading.Thread(target=_pump, args=(progress, bar, done), daemon=True)
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(progress, stop, os.getpid()))
    try:
        with _ctrl_c_sets() as interrupted:
            pending = {pool.submit(_worker, job) for job in jobs}
            pump.start()
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()  # a worker's error, raised here
                if interrupted.is_set():
                    raise KeyboardInterrupt
    except BrokenProcessPool:
        raise DatagenError("a build worker was killed (out of memory?); rerun the same command to resume") from None
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        done.set()
        if pump.is_alive():
            pump.join()


@contextlib.contextmanager
def _ctrl_c_sets() -> Iterator[threading.Event]:
    """Within the block, Ctrl-C sets the event it yields instead of raising wherever the main thread is."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield interrupted
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.set())
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


class _BarProgress:
    """The ``put`` of a progress queue, for a build that runs in this process."""

    def __init__(self, bar: tqdm):
        self.bar = bar

    def put(self, docs: int) -> None:
        self.bar.update(docs)


def _pump(progress: Any, bar: tqdm, done: threading.Event) -> None:
    """Move the workers' document counts onto the bar until the pool is done and the queue is empty."""
    while True:
        try:
            bar.update(progress.get(timeout=0.2))
        except queue.Empty:
            if done.is_set():
                return
