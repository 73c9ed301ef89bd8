"""End-to-end ``datagen build`` throughput, disk bytes per document and peak memory.

Each measurement runs the real command in a fresh process (``python -m datagen.cli build``), so start-up,
calibration of the mask budgets, worker spawn, parquet writing and the card are all included. Peak RSS is
the largest resident set of any process of that build (the parent or one worker), read with
``getrusage(RUSAGE_CHILDREN)`` in a wrapper process. Each build is also made at a quarter of its size, with 1
and with 2 workers: the two sizes give the steady per-document rate and the fixed cost (start-up, calibration,
card), from which the time of a 1e6 build is extrapolated and the scaling from 1 to 2 workers is read (``n /
wall`` of a small build mixes in the fixed cost, which does not shrink with workers), and show that memory does
not grow with ``--n``. JPEG builds run with today's defaults and with the settings before datagen 0.11.0
(1024 px, RGB, quality 90) side by side, and their image bytes are reported per doc type.

    python scripts/bench_build.py                  # ~10 minutes on a 2-core CPU
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
from typing import Any

import pyarrow.parquet as pq

WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def run_build(n: int, options: list[str], workers: int, out: Path, calibration: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "datagen.cli", "build", "--n", str(n), *options, "--workers", str(workers)]
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
        "image_bytes_by_doc_type": image_bytes_by_doc_type(out),
        "peak_rss_mb": round(peak_kb / 1024),
    }


def image_bytes_by_doc_type(out: Path) -> dict[str, int]:
    """Mean encoded image bytes a document, per doc type (empty for a layout-only build)."""
    sizes: dict[str, list[int]] = {}
    for shard in sorted((out / "data").glob("*.parquet")):
        if "image" not in pq.read_schema(shard).names:
            return {}
        table = pq.read_table(shard, columns=["doc_type", "image"])
        for doc_type, image in zip(table.column("doc_type").to_pylist(), table.column("image").to_pylist(), strict=True):
            sizes.setdefault(doc_type, []).append(len(image["bytes"]))
    return {k: round(sum(v) / len(v)) for k, v in sorted(sizes.items())}


def steady_state(big: dict[str, Any], small: dict[str, Any]) -> dict[str, float]:
    """Per-document rate and fixed cost from two sizes of the same build (same format and workers).

    A build pays a fixed cost (start-up, calibration of the mask budgets, worker start, the card) and then
    a cost per document; ``n / wall`` of a small build mixes the two, so the 1e6 extrapolation uses the
    marginal rate between the two sizes plus the fixed cost once.
    """
    rate = (big["n"] - small["n"]) / (big["wall_s"] - small["wall_s"])
    fixed = small["wall_s"] - small["n"] / rate
    return {"docs_per_s": round(rate, 1), "fixed_s": round(fixed, 1), "wall_1e6_h": round((fixed + 1e6 / rate) / 3600, 2)}


# name -> (datagen build options, documents at full size): the settings before datagen 0.11.0 run beside
# today's defaults, so the change is measured side by side on one machine in one run.
VARIANTS = {
    "none": (["--image-format", "none"], 24000),
    "jpeg": (["--image-format", "jpeg"], 1200),
    "jpeg 1024 RGB q90": (["--image-format", "jpeg", "--width", "1024", "--mode", "RGB", "--quality", "90"], 1200),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small builds (a smoke run, not for BENCHMARKS.md)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    calibration = 2000 if not args.quick else 200
    rows: list[dict[str, Any]] = []
    steady: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (options, size_full) in VARIANTS.items():
            n = int(size_full * scale)
            runs = {}
            for workers, size in ((1, n), (1, n // 4), (2, n), (2, n // 4)):  # quarter size: fixed cost, memory vs --n
                out = Path(tmp) / f"{len(rows)}"
                runs[workers, size] = row = {"variant": name, **run_build(size, options, workers, out, calibration)}
                rows.append(row)
                shutil.rmtree(out)
            one = steady_state(runs[1, n], runs[1, n // 4])
            steady[name] = steady_state(runs[2, n], runs[2, n // 4])
            steady[name]["docs_per_s_1_worker"] = one["docs_per_s"]
            steady[name]["scaling_1_to_2_workers"] = round(steady[name]["docs_per_s"] / one["docs_per_s"], 2)
    print("| variant | n | workers | wall s | docs/s (n / wall) | bytes / doc | image bytes / doc by doc type | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for r in rows:
        by_type = ", ".join(f"{k} {v / 1000:.1f} kB" for k, v in r["image_bytes_by_doc_type"].items()) or "–"
        print(
            f"| {r['variant']} | {r['n']:,} | {r['workers']} | {r['wall_s']:.1f} | {r['docs_per_s']} | {r['bytes_per_doc']:,} | {by_type} | {r['peak_rss_mb']} |"
        )
    print(
        "\n| variant | steady docs/s, 1 worker | steady docs/s, 2 workers | 1 → 2 workers | fixed cost s | 1e6 documents (h) | 1e6 documents (GB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, st in steady.items():
        full = next(r for r in rows if r["variant"] == name and r["workers"] == 2)
        print(
            f"| {name} | {st['docs_per_s_1_worker']} | {st['docs_per_s']} | {st['scaling_1_to_2_workers']}x | {st['fixed_s']} | {st['wall_1e6_h']} | {full['bytes_per_doc'] * 1e6 / 1e9:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "steady_state_2_workers": steady}, indent=2))


if __name__ == "__main__":
    main()
