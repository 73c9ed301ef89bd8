"""Reliability under abuse: random bit flips and random ``kill -9`` points against ``datagen``.

Two experiments, each on real commands and real files (no mocks):

``flips``  builds a small dataset, then N times flips one random bit of one random finished shard (a
           random byte of the file, so row data, page headers and the Parquet footer are all hit), and
           asks the three checks that guard against it: ``datagen verify``, ``datagen merge`` and the
           resume check of a rerun (``check_shards``). Each flip is undone before the next. Flips in
           sidecars and ``build.json`` are tried too: those must be detected or leave the parsed content
           unchanged (``\\u00e9`` vs ``\\u00E9``).
``kills``  runs N commands, each killed with SIGKILL at a random moment, in turn: a whole 2-worker build,
           the parent of a 2-worker build only (its workers orphaned), one worker of a 2-worker build (as the
           OOM killer would), Ctrl-C (SIGINT to the process group), one of two concurrent slices,
           ``datagen merge``, and ``pip-bench evaluate`` of the shipped ``pip-ref``. The same command(s)
           are then rerun: every dataset must equal an uninterrupted build byte for byte and pass
           ``datagen verify``, every results file must parse and hold the uninterrupted run's metrics; a run
           still going two minutes after its signal counts as hung.

    python scripts/chaos.py flips --n 300
    python scripts/chaos.py kills --n 20
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from datagen.build import build
from datagen.build_plan import BuildConfig, shard_plan
from datagen.build_state import STATE_DIR, check_shards, finalize_build, verify_build
from datagen.errors import DatagenError

BUILD = ["--seed", "7", "--image-format", "none", "--shard-size", "200", "--calibration-docs", "200", "--width", "256"]


def build_command(out: Path, n: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "datagen.cli", "build", "--n", str(n), *BUILD, "--out", str(out), *extra]


def config(n: int) -> BuildConfig:
    return BuildConfig(n=n, seed=7, image_format="none", shard_size=200, calibration_docs=200, width=256)


def digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "data").glob("*.parquet"))}


def flip(path: Path, rng: random.Random) -> tuple[int, int]:
    data = bytearray(path.read_bytes())
    offset, bit = rng.randrange(len(data)), rng.randrange(8)
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))
    return offset, bit


def detected(check: object) -> bool:
    try:
        check()  # type: ignore[operator]
    except DatagenError:
        return True
    return False


def run_flips(n: int, docs: int, seed: int, work: Path) -> dict[str, object]:
    out = work / "flips"
    build(config(docs), out, workers=2)
    plan = shard_plan(config(docs))
    shards = [out / s.path for s in plan]
    rng = random.Random(seed)
    counts = {"verify": 0, "merge": 0, "resume": 0}
    for _ in range(n):
        target = rng.choice(shards)
        original = target.read_bytes()
        flip(target, rng)
        counts["verify"] += detected(lambda: verify_build(out))
        counts["merge"] += detected(lambda: finalize_build(out))
        counts["resume"] += any(problem for _, _, problem in check_shards(out, plan))
        target.write_bytes(original)
    # the state files: a flip must be refused, or leave the parsed JSON as it was
    meta = [out / STATE_DIR / "build.json", *sorted((out / STATE_DIR / "shards").glob("*.json"))]
    meta_caught = meta_harmless = 0
    for _ in range(n):
        target = rng.choice(meta)
        original = target.read_bytes()
        flip(target, rng)
        if detected(lambda: verify_build(out)):
            meta_caught += 1
        else:
            meta_harmless += _same_json(original, target.read_bytes())
        target.write_bytes(original)
    verify_build(out)  # everything restored
    return {
        "shard_flips": n,
        "detected": counts,
        "state_file_flips": n,
        "state_detected": meta_caught,
        "state_undetected_but_same_content": meta_harmless,
        "state_missed": n - meta_caught - meta_harmless,
    }


def _same_json(a: bytes, b: bytes) -> bool:
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return False


STUCK_S = 120  # a signalled run still going after this long is reported as hung


def _kill_at(
    cmds: list[list[str]], victim: int, delay: float, target: str = "group", sig: int = signal.SIGKILL
) -> tuple[str | None, int | None]:
    """Start ``cmds`` together; after ``delay`` send ``sig`` to process ``victim``'s group, its parent alone, or one
    of its workers (``target``: group | parent | worker). Returns a problem if a run then hangs (None: all ended)
    and the victim's exit status (negative: the signal that ended it; 0: it finished before the signal)."""
    procs = [
        # SIGINT at its default in each run, as in a terminal (a background shell starts children ignoring it)
        subprocess.Popen(
            c,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        for c in cmds
    ]
    if target != "worker":
        time.sleep(delay)
    pid = procs[victim].pid
    with contextlib.suppress(ProcessLookupError, FileNotFoundError):
        if target == "group":
            os.killpg(pid, sig)
        elif target == "parent":
            os.kill(pid, sig)
        else:  # a worker: ``delay`` counts from the moment the parent has started its workers
            workers = _workers_of(procs[victim])
            time.sleep(delay)
            if workers:
                os.kill(workers[0], sig)
    for p in procs:
        try:
            p.wait(timeout=STUCK_S)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return f"still running {STUCK_S} s after the signal", None
    return None, procs[victim].returncode


def _workers_of(proc: subprocess.Popen[bytes]) -> list[int]:
    """The pids of ``proc``'s children once it has any (Linux /proc); none if it ends first."""
    while proc.poll() is None:
        with contextlib.suppress(FileNotFoundError):
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            if children:
                return [int(c) for c in children]
        time.sleep(0.01)
    return []


def _rerun(cmds: list[list[str]]) -> str | None:
    """Run ``cmds`` one after the other; the error of the first that fails, None if all succeed."""
    for c in cmds:
        proc = subprocess.run(c, capture_output=True, text=True)
        if proc.returncode != 0:
            return proc.stderr.strip()[-300:]
    return None


Outcome = tuple[float, int | None, str | None]  # the signal's delay, the victim's exit status, what is wrong (None: nothing)


class Kills:
    """The kill scenarios against one uninterrupted reference build (and evaluation)."""

    def __init__(self, docs: int, work: Path):
        self.docs, self.work = docs, work
        reference = work / "reference"
        start = time.perf_counter()
        subprocess.run(build_command(reference, docs, "--workers", "2"), check=True, capture_output=True)
        self.build_s = time.perf_counter() - start
        self.expected = digests(reference)
        self.reference = reference
        start = time.perf_counter()
        subprocess.run(self.evaluate_command(work / "reference-results"), check=True, capture_output=True)
        self.evaluate_s = time.perf_counter() - start
        self.metrics = _metrics(work / "reference-results")

    def evaluate_command(self, out: Path) -> list[str]:
        cmd = [sys.executable, "-m", "benchmark.cli", "evaluate", "pip-ref", "--dataset", str(self.reference), "--split", "train"]
        return [*cmd, "--limit", str(EVAL_DOCS), "--modes", "pip", "--timing-docs", "0", "--batch-size", "8", "--output-dir", str(out)]

    def build_problem(self, out: Path) -> str | None:
        """What is wrong with the dataset in ``out`` compared with the uninterrupted build (None: nothing)."""
        try:
            verify_build(out)
        except DatagenError as exc:
            return f"verify: {exc}"
        leftovers = sorted(p.name for p in (out / "data").glob(".*"))
        if leftovers:
            return f"temporary files left: {', '.join(leftovers)}"
        differ = sorted(name for name, digest in digests(out).items() if self.expected.get(name) != digest)
        return f"shards differ from the uninterrupted build: {', '.join(differ)}" if differ else None

    def whole_build(self, out: Path, rng: random.Random) -> Outcome:
        cmds, delay = [build_command(out, self.docs, "--workers", "2")], rng.uniform(0.0, self.build_s)
        hung, status = _kill_at(cmds, 0, delay)
        return delay, status, hung or _rerun(cmds) or self.build_problem(out)

    def parent_only(self, out: Path, rng: random.Random) -> Outcome:
        cmds, delay = [build_command(out, self.docs, "--workers", "2")], rng.uniform(0.0, self.build_s)
        hung, status = _kill_at(cmds, 0, delay, target="parent")
        return delay, status, hung or _rerun(cmds) or self.build_problem(out)

    def one_worker(self, out: Path, rng: random.Random) -> Outcome:
        """One worker killed, as the OOM killer would: the build must end (not wait forever), the rerun finish it.
        The moment is drawn from the first half of the run's length, counted from the start of its workers."""
        cmds, delay = [build_command(out, self.docs, "--workers", "2")], rng.uniform(0.0, self.build_s / 2)
        hung, status = _kill_at(cmds, 0, delay, target="worker")
        return delay, status, hung or _rerun(cmds) or self.build_problem(out)

    def ctrl_c(self, out: Path, rng: random.Random) -> Outcome:
        """SIGINT to the whole process group, as Ctrl-C sends it: the build must stop, the rerun finish it."""
        cmds, delay = [build_command(out, self.docs, "--workers", "2")], rng.uniform(0.0, self.build_s)
        hung, status = _kill_at(cmds, 0, delay, sig=signal.SIGINT)
        return delay, status, hung or _rerun(cmds) or self.build_problem(out)

    def concurrent_slices(self, out: Path, rng: random.Random) -> Outcome:
        cmds = [build_command(out, self.docs, "--workers", "1", "--shards", f"{k}/2") for k in range(2)]
        delay = rng.uniform(0.0, self.build_s)
        hung, status = _kill_at(cmds, rng.randrange(2), delay)
        return delay, status, hung or _rerun([*cmds, [sys.executable, "-m", "datagen.cli", "merge", str(out)]]) or self.build_problem(out)

    def merge(self, out: Path, rng: random.Random) -> Outcome:
        assert _rerun([build_command(out, self.docs, "--workers", "1", "--shards", f"{k}/2") for k in range(2)]) is None
        merge, delay = [sys.executable, "-m", "datagen.cli", "merge", str(out)], rng.uniform(0.0, 3.0)  # mostly start-up
        hung, status = _kill_at([merge], 0, delay)
        return delay, status, hung or _rerun([merge]) or self.build_problem(out)

    def evaluate(self, out: Path, rng: random.Random) -> Outcome:
        cmd, delay = self.evaluate_command(out), rng.uniform(0.0, self.evaluate_s)
        hung, status = _kill_at([cmd], 0, delay)
        return (
            delay,
            status,
            hung or _rerun([cmd]) or (None if _metrics(out) == self.metrics else "results differ from the uninterrupted run"),
        )


EVAL_DOCS = 200
SCENARIOS = ("whole_build", "parent_only", "one_worker", "ctrl_c", "concurrent_slices", "merge", "evaluate")


def _metrics(results_dir: Path) -> list[object]:
    """The metrics of every results file in ``results_dir`` (a killed run may have finished one; each must parse)."""
    return sorted({json.dumps(json.loads(p.read_text())["modes"], sort_keys=True) for p in results_dir.glob("results_*.json")})


def run_kills(n: int, docs: int, seed: int, work: Path, only: str | None = None) -> dict[str, object]:
    kills = Kills(docs, work)
    scenarios = [getattr(kills, name) for name in SCENARIOS if only in (None, name)]
    rng = random.Random(seed)
    outcome = []
    for i in range(n):
        scenario = scenarios[i % len(scenarios)]
        out = work / f"kill-{i}"
        delay, status, problem = scenario(out, rng)
        outcome.append(
            {
                "scenario": scenario.__name__,
                "delay_s": round(delay, 2),
                "exit": status,
                "ok": problem is None,
                **({"problem": problem} if problem else {}),
            }
        )
        shutil.rmtree(out, ignore_errors=True)
        print(json.dumps(outcome[-1]), flush=True)
    return {
        "kills": n,
        "uninterrupted_build_s": round(kills.build_s, 1),
        "uninterrupted_evaluate_s": round(kills.evaluate_s, 1),
        "ok": sum(o["ok"] for o in outcome),
        "runs": outcome,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", choices=["flips", "kills"])
    parser.add_argument("--n", type=int, default=None, help="flips (default 300) or kill points (default 20)")
    parser.add_argument("--docs", type=int, default=2000, help="documents per build (layout only)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random flips and kill moments")
    parser.add_argument("--scenario", choices=SCENARIOS, default=None, help="kills: only this scenario (default: all in turn)")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")  # hundreds of checks: their progress bars would bury the results
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        if args.experiment == "flips":
            result = run_flips(args.n or 300, args.docs, args.seed, Path(tmp))
        else:
            result = run_kills(args.n or 20, args.docs, args.seed, Path(tmp), args.scenario)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
