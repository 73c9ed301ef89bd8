"""End-to-end ``datagen build`` throughput, disk bytes per document and peak memory.

Each measurement runs the real command in a fresh process (``python -m datagen.cli build``), so start-up,
calibration of the mask budgets, worker spawn, parquet writing and the card are all included. Peak RSS is
the largest resident set of any process of that build (the parent or one worker), read with
``getrusage(RUSAGE_CHILDREN)`` in a wrapper process. Each format is also built at a quarter of its size
(2 workers): the two sizes give the steady per-document rate and the fixed cost, from which the time of a
1e6 build is extrapolated, and show that memory does not grow with ``--n``.

    python scripts/bench_build.py                  # ~5 minutes on a 2-core CPU
    python scripts/bench_build.py --quick          # smaller builds, for a smoke run
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def run_build(n: int, image_format: str, workers: int, out: Path, calibration: int) -> dict[str, float]:
    cmd = [sys.executable, "-m", "datagen.cli", "build", "--n", str(n), "--image-format", image_format, "--workers", str(workers)]
    cmd += ["--calibration-docs", str(calibration), "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    peak_kb = int(proc.stdout.strip().splitlines()[-1])
    data = sum(p.stat().st_size for p in (out / "data").glob("*.parquet"))
    return {
        "n": n,
        "workers": workers,
        "wall_s": round(wall, 2),
        "docs_per_s": round(n / wall, 1),
        "bytes_per_doc": round(data / n),
        "peak_rss_mb": round(peak_kb / 1024),
    }


def steady_state(big: dict[str, float], small: dict[str, float]) -> dict[str, float]:
    """Per-document rate and fixed cost from two sizes of the same build (same format and workers).

    A build pays a fixed cost (start-up, calibration of the mask budgets, worker start, the card) and then
    a cost per document; ``n / wall`` of a small build mixes the two, so the 1e6 extrapolation uses the
    marginal rate between the two sizes plus the fixed cost once.
    """
    rate = (big["n"] - small["n"]) / (big["wall_s"] - small["wall_s"])
    fixed = small["wall_s"] - small["n"] / rate
    return {"docs_per_s": round(rate, 1), "fixed_s": round(fixed, 1), "wall_1e6_h": round((fixed + 1e6 / rate) / 3600, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small builds (a smoke run, not for BENCHMARKS.md)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    sizes = {"none": int(24000 * scale), "jpeg": int(1200 * scale)}
    calibration = 2000 if not args.quick else 200
    rows, steady = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for image_format, n in sizes.items():
            runs = {}
            for workers, size in ((1, n), (2, n), (2, n // 4)):  # the quarter-size build: fixed cost, and memory vs --n
                out = Path(tmp) / f"{image_format}-{workers}-{size}"
                runs[workers, size] = row = {"image_format": image_format, **run_build(size, image_format, workers, out, calibration)}
                rows.append(row)
                shutil.rmtree(out)
            steady[image_format] = steady_state(runs[2, n], runs[2, n // 4])
    print(f"{'format':<7} {'n':>6} {'workers':>7} {'wall s':>7} {'docs/s':>7} {'B/doc':>7} {'peak MB':>8} {'1e6 at n/wall (h)':>17}")
    for r in rows:
        hours = 1e6 / r["docs_per_s"] / 3600
        print(
            f"{r['image_format']:<7} {r['n']:>6} {r['workers']:>7} {r['wall_s']:>7.1f} {r['docs_per_s']:>7} {r['bytes_per_doc']:>7} {r['peak_rss_mb']:>8} {hours:>17.2f}"
        )
    print("steady state, 2 workers (between the two sizes):")
    for image_format, st in steady.items():
        print(f"  {image_format:<5} {st['docs_per_s']:>7} docs/s, fixed cost {st['fixed_s']} s, 1e6 docs in {st['wall_1e6_h']} h")
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "steady_state_2_workers": steady}, indent=2))


if __name__ == "__main__":
    main()
