"""scripts/bench_pretrain.py: both arms fine-tune on N real documents and are scored on the test split."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from benchmark.train import TrainConfig, train
from tests.helpers import sroie_receipts

SCRIPT = Path(__file__).parent.parent / "scripts" / "bench_pretrain.py"
TINY = {"hidden_size": 32, "layers": 1, "heads": 2, "intermediate_size": 64, "batch_size": 2, "steps": 2}


def load_script():
    spec = importlib.util.spec_from_file_location("bench_pretrain", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_tiny_study_prints_both_arms_for_each_size(tmp_path, capsys):
    root = tmp_path / "sroie"
    sroie_receipts(root, 3, split="train")
    sroie_receipts(root, 2, split="test", first=3)
    dataset = f"sroie:{root}"
    ar = train(TrainConfig(mode="ar", dataset=dataset, **TINY), tmp_path / "ar", eval_docs=0)
    init = train(TrainConfig(mode="pip", pip_answer="span", dataset=dataset, init=str(ar), **TINY), tmp_path / "pip", eval_docs=0)
    study = load_script()
    args = ["--init", str(init), "--dataset", dataset, "--sizes", "1,3", "--steps", "2", "--batch-size", "2", "--work", str(tmp_path / "w")]
    assert study.main(args) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in table[1:]] == ["| 0 (zero-shot)", "| 1", "| 3"]
    assert table[1].endswith("| — |") and all(row.count("/") == 2 for row in table[2:])
    scratch = (tmp_path / "w" / "scratch-3" / "README.md").read_text()
    assert '"init": null' in scratch and '"train_docs": 3' in scratch and '"hidden_size": 32' in scratch
    assert study.main([*args, "--init", str(tmp_path / "nope")]) == 2  # a missing model: one line, exit 2
