"""The datagen command line as a user runs it: outputs, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from datagen.cli import main


def test_templates_list(capsys):
    assert main(["templates", "list"]) == 0
    out = capsys.readouterr().out
    assert "receipt/thermal-basic" in out and "en_US" in out
    assert main(["templates", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["doc_type"] for r in rows} == {"invoice", "receipt", "form"}


def test_render_writes_png_pdf_json(tmp_path, capsys):
    assert main(["render", "--template", "receipt/thermal-basic", "--seed", "7", "--out", str(tmp_path), "--width", "400"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["receipt_thermal-basic_7.json", "receipt_thermal-basic_7.pdf", "receipt_thermal-basic_7.png"]
    record = json.loads((tmp_path / "receipt_thermal-basic_7.json").read_text())
    assert record["seed"] == 7 and record["template_id"] == "receipt/thermal-basic"
    assert record["image_size"][0] <= 420  # rotation may widen the canvas a little
    assert (tmp_path / "receipt_thermal-basic_7.pdf").read_bytes().startswith(b"%PDF")


def test_render_jpeg_without_pdf(tmp_path):
    assert (
        main(["render", "--template", "receipt/thermal-basic", "--out", str(tmp_path), "--image-format", "jpeg", "--no-pdf", "--mode", "L"])
        == 0
    )
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".jpg", ".json"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["render", "--template", "receipt/nope"], "no template 'receipt/nope'"),
        (["render", "--template", "receipt/thermal-basic", "--seed", "-1"], "seed must be a non-negative integer"),
        (["render", "--template", "receipt/thermal-basic", "--seed", "abc"], "seed must be a non-negative integer"),
        (["render", "--template", "receipt/thermal-basic", "--locale", "ja_JP"], "does not support locale 'ja_JP'"),
        (["render", "--template", "receipt/thermal-basic", "--width", "0"], "--width: must be from 64 to 10,000"),
        (["templates", "validate", "/nonexistent/t.yaml"], "cannot read"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, argv, needle):
    proc = subprocess.run(
        [sys.executable, "-m", "datagen.cli", *argv, *(["--out", str(tmp_path / "o")] if argv[0] == "render" else [])],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_unwritable_output_dir(capsys):
    # /proc refuses new directories even to root, so this runs in CI (as root) too.
    assert main(["render", "--template", "receipt/thermal-basic", "--out", "/proc/datagen-test/out"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot create output directory /proc/datagen-test/out" in err


def test_output_path_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["render", "--template", "receipt/thermal-basic", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot create output directory" in err


def test_render_at_dpi_without_augmentation(tmp_path):
    assert main(["render", "--template", "invoice/classic", "--out", str(tmp_path), "--dpi", "72", "--no-augment", "--no-pdf"]) == 0
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert record["image_size"][0] == round(record["page_size_pt"][0])  # 72 dpi: one pixel per point
