"""scripts/bench_real.py on a tiny SROIE-format folder of generated receipts and tiny random-weight models:
the modes each model supports, the results files, the table, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.helpers import SROIE_KEYS, sroie_receipts
from tests.tiny_models import tiny_llama

ROOT = Path(__file__).parent.parent
FAST = ["--max-new-tokens", "4", "--timing-docs", "2", "--timing-batch-sizes", "1", "--batch-size", "2"]


def _script():
    spec = importlib.util.spec_from_file_location("bench_real", ROOT / "scripts" / "bench_real.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_real = _script()


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A 2-receipt SROIE folder, an AR-only model and one trained (as its config says) for PIP too."""
    root = tmp_path_factory.mktemp("real")
    sroie_receipts(root / "SROIE2019", 2)
    ar = tiny_llama(root / "ar-model")
    pip = tiny_llama(root / "pip-model")
    config = json.loads((pip / "config.json").read_text())
    (pip / "config.json").write_text(json.dumps({**config, "pip_answer": "tokens"}))
    return root / "SROIE2019", ar, pip


def test_every_model_in_its_modes_one_results_file_each_and_a_table(setup, tmp_path, capsys):
    data, ar, pip = setup
    out = tmp_path / "results"
    args = [str(pip), str(ar), "--dataset", f"sroie:{data}", "--output-dir", str(out), *FAST]
    assert bench_real.main(args) == 0, capsys.readouterr().err
    stdout = capsys.readouterr().out
    runs = {json.loads(p.read_text())["model"]["id"].split("@")[0]: json.loads(p.read_text()) for p in out.glob("results_*.json")}
    assert sorted(runs) == ["ar-model", "pip-model"]
    assert sorted(runs["pip-model"]["modes"]) == ["ar", "pip"] and sorted(runs["ar-model"]["modes"]) == ["ar"]
    assert runs["pip-model"]["speedup"] is not None and runs["ar-model"]["speedup"] is None
    assert runs["ar-model"]["dataset"]["id"] == "sroie:SROIE2019" and runs["ar-model"]["dataset"]["source"] == "sroie"
    assert runs["pip-model"]["harness"]["command"].startswith("pip-bench evaluate pip-model --dataset sroie:SROIE2019 --split test")

    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    assert "**sroie:SROIE2019 · test** (2 documents)" in stdout
    assert (
        lines[0]
        == "| model | mode | F1 | ANLS | " + " | ".join(f"F1 {k}" for k in SROIE_KEYS) + " | docs | PIP speedup vs fastest AR (p50) |"
    )
    rows = [line.strip("| ").split(" | ") for line in lines[2:]]
    assert [(r[0].split("@")[0], r[1]) for r in rows] == [("pip-model", "AR"), ("pip-model", "PIP"), ("ar-model", "AR")]
    assert all(len(r) == 10 and r[8] == "2" for r in rows)
    pip_f1 = runs["pip-model"]["modes"]["pip"]["metrics"]["f1"]
    assert rows[1][2] == f"{pip_f1:.3f}" and rows[1][9].endswith("× (ar)") and rows[0][9] == rows[2][9] == "—"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-model"], "unknown model 'no-such-model'"),
        (["--dataset", "sroie:/no/such/folder"], "no such directory"),
        (["--modes", "fast"], "unknown mode 'fast'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(setup, tmp_path, capsys, args, message):
    data, ar, _ = setup
    defaults = [str(ar)] if args[0].startswith("--") else []
    dataset = [] if "--dataset" in args else ["--dataset", f"sroie:{data}"]
    assert bench_real.main([*defaults, *args, *dataset, "--output-dir", str(tmp_path / "out"), *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench_real: error:") and message in err[0], err
    assert not list((tmp_path / "out").glob("results_*.json")) if (tmp_path / "out").exists() else True


def test_a_model_that_supports_none_of_the_asked_modes_is_skipped(setup, tmp_path, capsys):
    data, ar, _ = setup
    assert bench_real.main([str(ar), "--modes", "pip", "--dataset", f"sroie:{data}", "--output-dir", str(tmp_path), *FAST]) == 0
    assert "ar-model runs ar, ar-lookup, ar-static only; skipped" in capsys.readouterr().err and not list(tmp_path.glob("results_*.json"))
