"""scripts/gpu_check.sh, the device check a GPU session runs once, smoke-run on the CPU at tiny sizes so that
it still runs when a device is lent (a script only run on a rare machine rots unseen)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_check_runs_every_step_on_a_cpu(tmp_path):
    tiny = {"DEVICE": "cpu", "DTYPE": "float32", "DOCS": "40", "STEPS": "2", "HIDDEN": "64", "LAYERS": "1"}
    tiny |= {"TIMING_DOCS": "1", "TIMING_BATCH_SIZES": "1", "WORK": str(tmp_path)}
    done = subprocess.run(["bash", "scripts/gpu_check.sh"], cwd=ROOT, env=os.environ | tiny, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    steps = re.findall(r"^== (\d)\.", out, flags=re.M)
    assert steps == ["1", "2", "3", "4", "5"] and out.rstrip().endswith("== gpu_check done")
    assert "memory plan (dry run" in out and re.search(r"- memory: peak resident memory", out)
    assert len(list((tmp_path / "results").glob("results_*.json"))) == 3
    assert re.search(r"ar-lookup: .*same answer as ar: (\d+)/\1", out)  # pip-ref's lookup decoding stays lossless
