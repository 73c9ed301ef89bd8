"""End-to-end ``datagen build`` throughput, disk bytes per document and peak memory.

Each measurement runs the real command in a fresh process (``python -m datagen.cli build``), so start-up,
calibration of the mask budgets, worker spawn, parquet writing and the card are all included. Peak RSS is
the largest resident set of any process of that build (the parent or one worker), read with
``getrusage(RUSAGE_CHILDREN)`` in a wrapper process. Layout-only builds are also run at two sizes to show
that memory does not grow with ``--n``.

    python scripts/bench_build.py                  # ~15 minutes on a 2-core CPU
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
        "wall_s": round(wall, 1),
        "docs_per_s": round(n / wall, 1),
        "bytes_per_doc": round(data / n),
        "peak_rss_mb": round(peak_kb / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small builds (a smoke run, not for BENCHMARKS.md)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    sizes = {"none": int(12000 * scale), "jpeg": int(600 * scale)}
    calibration = 2000 if not args.quick else 200
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for image_format, n in sizes.items():
            for workers in (1, 2):
                out = Path(tmp) / f"{image_format}-{workers}"
                row = run_build(n, image_format, workers, out, calibration)
                rows.append({"image_format": image_format, **row})
                shutil.rmtree(out)
        small = run_build(sizes["none"] // 4, "none", 2, Path(tmp) / "small", calibration)
        rows.append({"image_format": "none", **small})
    print(f"{'format':<7} {'n':>6} {'workers':>7} {'wall s':>7} {'docs/s':>7} {'B/doc':>7} {'peak MB':>8} {'1e6 docs (h)':>12}")
    for r in rows:
        hours = 1e6 / r["docs_per_s"] / 3600
        print(
            f"{r['image_format']:<7} {r['n']:>6} {r['workers']:>7} {r['wall_s']:>7} {r['docs_per_s']:>7} {r['bytes_per_doc']:>7} {r['peak_rss_mb']:>8} {hours:>12.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
