"""scripts/calibrate_ocr_noise.py: alignment counts, segment matching and the file it writes (no OCR engine needed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

from datagen.ocr_noise import NoiseModel, noise_model

SCRIPT = Path(__file__).parent.parent / "scripts" / "calibrate_ocr_noise.py"


def script():
    spec = importlib.util.spec_from_file_location("calibrate_ocr_noise", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_alignment_counts_confusions_and_spaces():
    counts = script().Counts()
    counts.align("SDN BHD 27, JALAN", "SDN BND 27,JALAN")
    counts.align("TOTAL 4.50", "TOTAL 4.50.")
    assert counts.replaced["H"]["N"] == 1 and counts.spaces_dropped == 1 and counts.spaces == 4
    assert counts.inserted["."] == 1 and counts.deleted == 0
    assert counts.chars["A"] == 3 and sum(counts.chars.values()) == len("SDNBHD27,JALANTOTAL4.50")


def test_segments_are_matched_to_the_words_they_cover_and_gaps_are_learned():
    module = script()
    record = {
        "words": ["TOTAL", "RM", "4.50", "CASH"],
        "boxes": [[10, 10, 60, 30], [70, 10, 90, 30], [200, 10, 240, 30], [10, 40, 50, 60]],
        "line_ids": [0, 0, 0, 1],
    }
    segments = [("TOTALRM", (5, 5, 95, 35)), ("4.5O", (195, 5, 245, 35)), ("CASH", (5, 38, 55, 62))]
    assert module.match(record["words"], record["boxes"], segments) == [[0, 1], [2], [3]]
    counts = module.Counts()
    module.count_page(counts, record, segments)
    assert counts.spaces_dropped == 1 and counts.replaced["0"]["O"] == 1 and counts.missed == 0
    assert counts.gaps == [(0.5, True), (5.5, False)]  # gaps in text heights, read as one segment or not
    assert 0.5 <= counts.rates()["segment_gap"] < 5.5


def test_main_writes_a_file_the_noise_model_loads_and_refuses_unknown_engines(tmp_path, monkeypatch, capsys):
    module = script()
    assert module.main(["--engine", "nope", "--pages", "1", "--out", str(tmp_path / "x.yaml")]) == 2
    assert "unknown OCR engine 'nope'" in capsys.readouterr().err and not (tmp_path / "x.yaml").exists()
    monkeypatch.setattr(module, "load_engine", lambda name: lambda image: [("??", (0.0, 0.0, 5.0, 5.0))])
    out = tmp_path / "noise.yaml"
    assert module.main(["--pages", "2", "--out", str(out)]) == 0
    data = yaml.safe_load(out.read_text())
    assert data["observed"]["segments"] == 2 and data["doc_types"] == ["receipt"]
    assert isinstance(noise_model(out), NoiseModel)
