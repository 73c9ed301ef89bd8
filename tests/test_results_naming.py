"""Results name models, datasets and commands without the paths of the machine that ran them
(``benchmark/naming.py``): the names, the one-off relabelling of old files, an evaluate run, and the
committed leaderboard itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmark.cli import main as bench
from benchmark.naming import dataset_label, model_label, portable_command, relabel_results
from benchmark.results import schema_errors
from benchmark.shipped import SHIPPED
from tests.helpers import sroie_receipts
from tests.tiny_models import tiny_llama

ROOT = Path(__file__).parent.parent
MACHINE_PATH = re.compile(rb"/work/|/root/|/home/|/tmp/")  # the grep of issue #22 item 7
SHA = "0123456789abcdef" * 4  # a sha256, as model_sha gives a local folder


def test_model_names():
    assert model_label(str(SHIPPED / "pip-ref"), None, SHA, local=True) == "pip-ref"
    assert model_label("/elsewhere/checkout/benchmark/models/ar-ref", None, SHA, local=True) == "ar-ref"  # another machine's
    assert model_label("/data/runs/my-model/", None, SHA, local=True) == "my-model@01234567"
    assert model_label("models/pip-ref", None, SHA, local=True) == "pip-ref@01234567"  # not the shipped folder
    assert model_label("org/model", None, "c0ffee" * 6, local=False) == "org/model@main"
    assert model_label("org/model", "v1.2", "c0ffee" * 6, local=False) == "org/model@v1.2"


def test_dataset_names(tmp_path, monkeypatch):
    (tmp_path / "data" / "synth-kie").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "data" / "synth-kie")
    assert dataset_label("sroie:/somewhere/real/sroie-dev") == "sroie:sroie-dev"
    assert dataset_label("sroie:../../x/sroie-dev/") == "sroie:sroie-dev"
    assert dataset_label("/work/data/synth-kie-test3300-v3") == "synth-kie-test3300-v3"
    assert dataset_label(".") == "synth-kie"
    assert dataset_label("ORG/synth-kie") == "ORG/synth-kie"  # a Hub id
    monkeypatch.chdir(tmp_path)
    assert dataset_label("data/synth-kie") == "synth-kie"  # a folder here


def test_commands_keep_their_arguments_but_not_the_machine_folders():
    command = "pip-bench evaluate /work/main/benchmark/models/pip-ref --dataset=sroie:/srv/real/sroie-dev --output-dir /root/out --limit 3"
    assert portable_command(command) == "pip-bench evaluate pip-ref --dataset=sroie:sroie-dev --output-dir out --limit 3"
    relative = "pip-bench evaluate pip-ref --dataset sroie:../shared/real/sroie-dev --output-dir leaderboard/results"
    assert portable_command(relative) == relative


def _old_results(model_id: str, sha: str, dataset_id: str, command: str) -> dict:
    return {
        "model": {"id": model_id, "revision": None, "sha": sha},
        "dataset": {"id": dataset_id},
        "harness": {"command": command},
        "modes": {"pip": {"metrics": {"f1": 0.5}}},
    }


@pytest.mark.parametrize(
    ("model_id", "sha", "dataset_id", "expected"),
    [
        ("/work/main/benchmark/models/pip-ref", SHA, "/work/data/synth-kie-test3300-v3", ("pip-ref", "synth-kie-test3300-v3")),
        ("benchmark/models/ar-ref", SHA, ".devdata/synth-kie-test3300-v3", ("ar-ref", "synth-kie-test3300-v3")),
        ("models/pip-ref", SHA, "data/synth-kie", ("pip-ref@01234567", "data/synth-kie")),  # could be a Hub dataset: kept
        ("org/model", "c0ffee" * 6 + "beef", "sroie:/srv/SROIE2019", ("org/model@main", "sroie:SROIE2019")),
    ],
)
def test_relabel_old_results_and_again_changes_nothing(model_id, sha, dataset_id, expected):
    old = _old_results(model_id, sha, dataset_id, f"pip-bench evaluate {model_id} --dataset {dataset_id} --output-dir /tmp/x")
    new = relabel_results(old)
    assert (new["model"]["id"], new["dataset"]["id"]) == expected
    assert new["modes"] == old["modes"] and new["model"]["sha"] == sha and old["model"]["id"] == model_id  # a copy
    assert not MACHINE_PATH.search(json.dumps(new).encode())
    assert relabel_results(new) == new
    assert ("source" in new["dataset"]) == dataset_id.startswith("sroie:")


def test_an_evaluate_run_records_no_machine_path(tmp_path, capsys):
    model = tiny_llama(tmp_path / "models" / "tiny-llama")
    sroie_receipts(tmp_path / "SROIE2019", 2)
    out = tmp_path / "results"
    args = ["evaluate", str(model), "--dataset", f"sroie:{tmp_path / 'SROIE2019'}", "--output-dir", str(out), "--max-new-tokens", "4"]
    assert bench([*args, "--timing-docs", "1", "--timing-batch-sizes", "1", "--warmup", "0"]) == 0, capsys.readouterr().err
    (path,) = out.glob("results_*.json")
    raw = path.read_bytes()
    data = json.loads(raw)
    assert schema_errors(data) == []
    assert data["model"]["id"] == f"tiny-llama@{data['model']['sha'][:8]}" and data["dataset"]["id"] == "sroie:SROIE2019"
    assert data["harness"]["command"].startswith("pip-bench evaluate tiny-llama --dataset sroie:SROIE2019 --output-dir results")
    assert str(tmp_path).encode() not in raw and not MACHINE_PATH.search(raw), raw.decode()
    assert path.name.startswith("results_tiny-llama_") and "sroie_SROIE2019" in path.name


def test_the_committed_leaderboard_names_no_machine_path():
    files = [p for p in (ROOT / "leaderboard").rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in files) and (ROOT / "leaderboard" / "README.md") in files
    found = [f"{p.relative_to(ROOT)}: {m.group().decode()}" for p in files for m in [MACHINE_PATH.search(p.read_bytes())] if m]
    assert found == [], "rebuild with scripts/relabel_results.py leaderboard/results && pip-bench leaderboard build"
