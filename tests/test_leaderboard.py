"""pip-bench leaderboard: rows from results files, order, Pareto front, validation, duplicates, outputs, determinism."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from benchmark.cli import main
from benchmark.leaderboard.collect import dedupe, leaderboard_order, load_runs, pareto_front, rows_from_run
from benchmark.leaderboard.commands import make_server
from benchmark.leaderboard.page import payload
from benchmark.leaderboard.view import COLUMNS, family_colours, sections
from benchmark.results import schema_errors

FINGERPRINT = "ab" * 32
OUTPUTS = ("README.md", "index.html", "pareto.png", "pareto.svg")


def results(
    model: str = "org/pip-ref",
    *,
    family: str = "qwen2_vl",
    modes: dict[str, tuple[float, float | None]] | None = None,
    dataset: str = "data/synth-kie",
    fingerprint: str = FINGERPRINT,
    hardware: str = "NVIDIA H100 80GB HBM3",
    created: str = "2026-11-20T10:00:00Z",
    version: str = "1.0",
) -> dict[str, Any]:
    """A valid results file; ``modes`` maps a mode to (F1, p50 ms or None for an untimed mode)."""
    modes = {"ar": (0.81, 820.0), "pip": (0.80, 95.0)} if modes is None else modes
    mode_results = {
        mode: {
            "metrics": {
                "f1": f1,
                "precision": f1,
                "recall": f1,
                "f1_strict": f1 * 0.95,
                "macro_f1": f1 * 0.98,
                "anls": min(1.0, f1 + 0.04),
                "anls_star": min(1.0, f1 + 0.03),
            },
            "timing": None
            if p50 is None
            else {
                "latency": {"p50_ms": p50, "p95_ms": p50 * 1.3, "n": 50},
                "throughput": {"1": 1000 / p50, "8": 5000 / p50},
                "tokens_per_doc": 60.0,
                "forward_passes_per_doc": 61.0 if mode == "ar" else 1.0,
            },
            "num_documents": 200,
            "parse_failures": 0,
        }
        for mode, (f1, p50) in modes.items()
    }
    ar, pip = modes.get("ar", (0, None))[1], modes.get("pip", (0, None))[1]
    data = {
        "schema_version": version,
        "created": created,
        "harness": {"name": "pip-bench", "version": "0.1.0", "git_hash": None, "command": f"pip-bench evaluate {model}"},
        "model": {
            "id": model,
            "revision": None,
            "sha": hashlib.sha256(model.encode()).hexdigest(),
            "adapter": family,
            "family": family,
            "dtype": "bfloat16",
            "num_parameters": 2_200_000_000,
        },
        "dataset": {
            "id": dataset,
            "fingerprint": fingerprint,
            "split": "test",
            "limit": None,
            "num_documents": 200,
            "doc_types": {"receipt": 200},
        },
        "environment": {
            "device": "cuda",
            "hardware": hardware,
            "cpu": "AMD EPYC",
            "cpu_cores": 16,
            "gpu": hardware,
            "python": "3.11.7",
            "torch": "2.13.0",
            "transformers": "4.57.0",
            "platform": "Linux",
        },
        "config": {
            "modes": sorted(modes),
            "batch_size": 8,
            "pip_attention": "causal",
            "max_new_tokens": 256,
            "timing_batch_sizes": [1, 8],
            "timing_docs": 50,
            "warmup": 3,
        },
        "modes": mode_results,
        "speedup": {"latency_p50": ar / pip, "throughput": {"1": ar / pip}} if ar and pip else None,
        "wall_time_s": 120.0,
    }
    if version.startswith("1."):
        assert schema_errors(data) == [], "the fixture no longer matches results.schema.json"
    return data


def write_runs(folder: Path, runs: dict[str, dict[str, Any] | str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in runs.items():
        (folder / name).write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return folder


def three_models() -> dict[str, dict[str, Any]]:
    return {
        "results_alpha.json": results("org/alpha", family="llama", modes={"ar": (0.90, 1200.0), "pip": (0.88, 80.0)}),
        "results_beta.json": results("org/beta", modes={"ar": (0.84, 600.0), "pip": (0.85, 150.0)}),
        "results_gamma.json": results("org/gamma", family="florence2", modes={"ar": (0.70, 300.0)}),
    }


def build(results_dir: Path, out: Path, *extra: str) -> int:
    return main(["leaderboard", "build", "--results", str(results_dir), "--out", str(out), *extra])


def table_lines(readme: str, title: str) -> list[str]:
    """The body rows of the table under the ``## title`` heading."""
    section = readme.split(f"\n## {title}\n")[1].split("\n## ")[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Model")]


# --- rows ---------------------------------------------------------------------------------------


def test_rows_from_run_one_row_per_mode_speedup_only_on_pip():
    ar, pip = rows_from_run("results_x.json", results(modes={"ar": (0.81, 820.0), "pip": (0.80, 95.0)}))
    assert (ar.mode, pip.mode) == ("ar", "pip")
    assert (ar.f1, ar.p50_ms, pip.p50_ms) == (0.81, 820.0, 95.0)
    assert ar.speedup is None and pip.speedup == pytest.approx(820 / 95)
    assert (pip.throughput, pip.throughput_batch) == (pytest.approx(5000 / 95), 8)  # the best batch size
    assert pip.date == "2026-11-20" and pip.hardware == "NVIDIA H100 80GB HBM3" and pip.file == "results_x.json"
    assert ar.row_id != pip.row_id and ar.row_id == rows_from_run("other.json", results())[0].row_id  # stable across files


def test_untimed_mode_has_no_latency():
    (row,) = rows_from_run("r.json", results(modes={"pip": (0.8, None)}))
    assert row.p50_ms is None and row.throughput is None and row.speedup is None


def test_leaderboard_order_by_f1_then_anls_then_name():
    rows = [row for name, data in three_models().items() for row in rows_from_run(name, data)]
    rows += rows_from_run("tie.json", results("org/aardvark", modes={"pip": (0.88, 50.0)}))
    ordered = [(r.model_id, r.mode) for r in leaderboard_order(rows)]
    assert ordered == [
        ("org/alpha", "ar"),
        ("org/aardvark", "pip"),  # F1 and ANLS tie with alpha PIP: the name decides
        ("org/alpha", "pip"),
        ("org/beta", "pip"),
        ("org/beta", "ar"),
        ("org/gamma", "ar"),
    ]


# --- Pareto front ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "front"),
    [
        ([], []),
        ([(10, 0.5)], [0]),
        ([(10, 0.5), (20, 0.6), (15, 0.4), (30, 0.6)], [0, 1]),  # (15, .4) is slower and worse; (30, .6) only slower
        ([(100, 0.9), (10, 0.5), (50, 0.8)], [1, 2, 0]),  # by increasing latency
        ([(10, 0.5), (10, 0.5)], [0, 1]),  # identical points: neither dominates
        ([(10, 0.5), (10, 0.7)], [1]),  # same latency: the more accurate one
        ([(20, 0.7), (10, 0.7)], [1]),  # same F1: the faster one
        ([(5, 0.2), (10, 0.9), (10, 0.9), (7, 0.95)], [0, 3]),
    ],
)
def test_pareto_front_hand_computed(points, front):
    assert pareto_front(points) == front


def test_pareto_front_matches_the_definition():
    """Against brute force on small grids, where ties are frequent."""
    rng = random.Random(5)
    for _ in range(200):
        points = [(rng.randint(1, 5), rng.randint(1, 5) / 5) for _ in range(rng.randint(1, 8))]
        dominated = {
            i
            for i, j in itertools.permutations(range(len(points)), 2)
            if points[j][0] <= points[i][0] and points[j][1] >= points[i][1] and points[j] != points[i]
        }
        assert sorted(pareto_front(points)) == sorted(set(range(len(points))) - dominated), points


# --- validation and duplicates ----------------------------------------------------------------------


def invalid_runs() -> dict[str, dict[str, Any] | str]:
    too_high = results("org/bad")
    too_high["modes"]["ar"]["metrics"]["f1"] = 1.5
    missing = results("org/missing")
    del missing["model"]["sha"]
    not_a_number = results("org/nan")
    not_a_number["modes"]["pip"]["metrics"]["f1"] = float("nan")  # json.dumps writes NaN; the schema alone would accept it
    odd_batch = results("org/odd")
    odd_batch["modes"]["ar"]["timing"]["throughput"] = {"eight": 3.0}
    return {
        "bad_batch.json": odd_batch,
        "broken.json": '{"schema_version": "1.0", ',
        "deep.json": '{"schema_version": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "nan.json": json.dumps(not_a_number),
        "f1_too_high.json": too_high,
        "future.json": results("org/future", version="2.0"),
        "missing_sha.json": missing,
        "good.json": results("org/good"),
    }


def test_invalid_files_fail_the_build_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "board"
    assert build(write_runs(tmp_path / "results", invalid_runs()), out) == 2
    assert not out.exists()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 8, err  # one line per bad file, then the error
    by_file = {line.split()[4].rstrip(":"): line for line in err[:7]}
    assert "modes/ar/timing/throughput: batch size 'eight' is not a whole number" in by_file["bad_batch.json"]
    assert "not valid JSON" in by_file["broken.json"]
    assert "not valid JSON: nested too deeply" in by_file["deep.json"]
    assert "not valid JSON: NaN is not a JSON number" in by_file["nan.json"]
    assert "modes/ar/metrics/f1: 1.5 is greater than the maximum of 1" in by_file["f1_too_high.json"]
    assert "unsupported schema_version '2.0'" in by_file["future.json"]
    assert "'sha' is a required property" in by_file["missing_sha.json"]
    assert "7 invalid results file(s)" in err[7] and "nothing written" in err[7] and "--skip-invalid" in err[7]


def test_skip_invalid_builds_from_the_rest(tmp_path, capsys):
    out = tmp_path / "board"
    assert build(write_runs(tmp_path / "results", invalid_runs()), out, "--skip-invalid") == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    captured = capsys.readouterr()
    assert captured.err.count("invalid results file") == 7 and "2 rows from 1 results files, 7 invalid skipped" in captured.out
    readme = (out / "README.md").read_text()
    assert "org/good" in readme and "org/bad" not in readme and "org/future" not in readme


def test_missing_results_folder_is_a_usage_error(tmp_path, capsys):
    assert build(tmp_path / "nope", tmp_path / "board") == 2
    assert "results folder" in capsys.readouterr().err and not (tmp_path / "board").exists()


def test_unwritable_output_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "board"
    blocker.write_text("a file where the output folder should be")
    assert build(write_runs(tmp_path / "results", {"r.json": results()}), blocker) == 2
    assert f"cannot write to {blocker}" in capsys.readouterr().err


def test_duplicates_keep_the_newest_and_say_which_file_was_dropped(tmp_path, capsys):
    folder = write_runs(
        tmp_path / "results",
        {
            "old.json": results(modes={"ar": (0.70, 900.0), "pip": (0.60, 100.0)}, created="2026-11-01T00:00:00Z"),
            # newer, PIP only: replaces the old PIP row; the old AR row stays
            "new.json": results(modes={"pip": (0.80, 90.0)}, created="2026-11-02T09:00:00+08:00"),
            "other_gpu.json": results(modes={"pip": (0.79, 70.0)}, hardware="NVIDIA H200", created="2026-10-01T00:00:00Z"),
        },
    )
    runs, problems = load_runs(folder)
    assert problems == []
    rows, dropped = dedupe([row for name, data in runs for row in rows_from_run(name, data)])
    assert sorted((r.file, r.mode) for r in rows) == [("new.json", "pip"), ("old.json", "ar"), ("other_gpu.json", "pip")]
    assert dropped == [
        "dropped old.json (pip): new.json has the same model sha, dataset fingerprint, mode, decoding and hardware and is newer"
    ]
    assert [r.speedup for r in rows if r.file == "new.json"] == [None]  # the old run's speedup is not carried over

    assert build(folder, tmp_path / "board") == 0
    assert "1 older duplicate rows left out" in capsys.readouterr().err  # a count by default
    assert build(folder, tmp_path / "board", "--verbose") == 0
    assert "dropped old.json (pip)" in capsys.readouterr().err


def test_constrained_ar_is_its_own_row_labelled_with_its_decoding():
    grounded = results(modes={"ar": (0.92, 800.0)}, created="2026-11-03T00:00:00Z")
    grounded["config"]["ar_constraint"] = "grounded"
    runs = [("free.json", results()), ("grounded.json", grounded)]
    rows, dropped = dedupe([row for name, data in runs for row in rows_from_run(name, data)])
    assert dropped == [] and sorted((r.file, r.mode, r.decoding) for r in rows) == [
        ("free.json", "ar", "none"),
        ("free.json", "pip", "none"),
        ("grounded.json", "ar", "grounded"),
    ]
    mode = next(c for c in COLUMNS if c.key == "mode")
    assert [mode.text(r) for r in rows if r.file == "grounded.json"] == ["AR (grounded)"]


def test_the_speedup_is_over_the_fastest_ar_mode_of_the_run_and_names_it():
    modes = {"ar": (0.81, 820.0), "ar-lookup": (0.81, 410.0), "ar-static": (0.81, 900.0), "pip": (0.80, 95.0)}
    data = results(modes=modes, version="1.2")
    over = {m: {"latency_p50": p50 / 95.0, "throughput": {"1": p50 / 95.0}} for m, (_, p50) in modes.items() if m != "pip"}
    data["speedup"] = over["ar-lookup"] | {"fastest_ar": {"latency_p50": "ar-lookup", "throughput": {"1": "ar-lookup"}}, "by_ar_mode": over}
    assert schema_errors(data) == []
    rows = rows_from_run("x.json", data)
    mode, speedup = (next(c for c in COLUMNS if c.key == key) for key in ("mode", "speedup"))
    assert [mode.text(r) for r in rows] == ["AR", "AR-LOOKUP", "AR-STATIC", "PIP"]
    assert [speedup.text(r) for r in rows] == ["—", "—", "—", "4.3× (AR-LOOKUP)"] and rows[-1].speedup == pytest.approx(410 / 95)
    constrained = results(modes={"ar-static": (0.9, 800.0), "pip": (0.8, 95.0)}, version="1.2")
    constrained["config"]["ar_constraint"] = "json"  # the one --ar-constraint applies to every AR mode
    assert [mode.text(r) for r in rows_from_run("c.json", constrained)] == ["AR-STATIC (json)", "PIP"]


def test_a_span_answer_models_pip_row_says_span():
    span = results("models/pip-ref")
    span["model"]["pip_answer"] = "span"
    rows = rows_from_run("span.json", span)
    mode = next(c for c in COLUMNS if c.key == "mode")
    assert sorted(mode.text(r) for r in rows) == ["AR", "PIP (span)"]


def test_the_same_documents_under_two_paths_are_one_section():
    """A copy of the test set on another machine scores the same benchmark; another fingerprint does not."""
    runs = [
        ("cpu.json", results(dataset="/work/data/kie", hardware="AMD EPYC (2 cores)")),
        ("gpu.json", results(dataset=".copy/kie", created="2026-11-03T00:00:00Z")),
        ("other.json", results(dataset=".copy/kie", fingerprint="cd" * 32)),
    ]
    found = sections([row for name, data in runs for row in rows_from_run(name, data)])
    assert [(s.title, sorted({r.file for r in s.rows})) for s in found] == [
        (".copy/kie = /work/data/kie · test", ["cpu.json", "gpu.json"]),
        (".copy/kie · test", ["other.json"]),
    ]


def test_real_documents_get_their_own_titled_section_ahead_of_generated_ones(tmp_path):
    """Transfer to real receipts is another question than accuracy on generated ones: its own table, first."""
    real = results("pip-ref", dataset="sroie:sroie-dev", fingerprint="ef" * 32)
    real["dataset"]["source"] = "sroie"
    runs = {"synthetic.json": results("pip-ref"), "real.json": real, "mixed.json": results("ar-ref", dataset="zz", fingerprint="12" * 32)}
    runs["mixed.json"]["dataset"]["doc_types"] = {"form": 100, "receipt": 100}
    runs["mixed.json"]["dataset"]["source"] = "funsd"
    assert build(write_runs(tmp_path / "results", runs), tmp_path / "board") == 0
    readme = (tmp_path / "board" / "README.md").read_text()
    titles = [line.removeprefix("## ") for line in readme.splitlines() if line.startswith("## ")]
    assert titles == ["Real documents: SROIE test (200 receipts)", "Real documents: FUNSD test (200 documents)", "data/synth-kie · test"]
    assert "sroie:sroie-dev: 200 documents, fingerprint efefefefefef." in readme  # the note names the dataset
    assert len(table_lines(readme, titles[0])) == 2


def test_a_model_retrained_into_the_same_folder_is_named_by_its_weights(tmp_path):
    """Same id, other sha: two models; with --all both rows keep their place and the tables say which weights each is."""
    retrained = results("models/pip-ref", modes={"pip": (0.95, 40.0)}, created="2026-11-03T00:00:00Z")
    retrained["model"]["sha"] = "9f" * 32
    folder = write_runs(
        tmp_path / "results",
        {"old.json": results("models/pip-ref", modes={"pip": (0.90, 50.0)}), "new.json": retrained, "other.json": results("org/other")},
    )
    assert build(folder, tmp_path / "board", "--all") == 0
    readme = (tmp_path / "board" / "README.md").read_text()
    old_sha = hashlib.sha256(b"models/pip-ref").hexdigest()[:8]
    names = [line.split(" | ")[0].removeprefix("| ") for line in table_lines(readme, "data/synth-kie · test")]
    assert names == ["models/pip-ref @9f9f9f9f", "models/pip-ref @" + old_sha, "org/other", "org/other"]


def test_the_board_shows_each_models_current_weights_and_all_shows_the_history(tmp_path, capsys):
    """A leaderboard of record: a model id stands for the weights of its newest run; earlier weights are history."""
    earlier = results("pip-ref", modes={"pip": (0.99, 40.0)}, created="2026-11-01T00:00:00Z")
    earlier["model"]["sha"] = "9f" * 32  # retired weights that scored better on a set the current ones never ran
    relabelled = results("pip-ref@0123abcd", dataset="data/old", fingerprint="01" * 32, created="2026-10-01T00:00:00Z")
    real = results("pip-ref", dataset="sroie:sroie-dev", fingerprint="ef" * 32, created="2026-11-02T00:00:00Z")
    real["model"]["sha"] = "9f" * 32
    folder = write_runs(
        tmp_path / "results",
        {
            "earlier.json": earlier,
            "real.json": real,
            "relabelled.json": relabelled,  # an older run named NAME@REVISION: a version of pip-ref, not a model of its own
            "current.json": results("pip-ref"),
            "other.json": results("ar-ref", created="2026-10-01T00:00:00Z"),
        },
    )
    assert build(folder, tmp_path / "board") == 0
    assert "5 rows of earlier weights left out (--all shows them)" in capsys.readouterr().err
    readme = (tmp_path / "board" / "README.md").read_text()
    assert (
        "sroie" not in readme and "data/old" not in readme and "@" not in readme
    )  # the retired weights' only section is gone, and names need no sha
    names = [line.split(" | ")[0].removeprefix("| ") for line in table_lines(readme, "data/synth-kie · test")]
    assert sorted(names) == ["ar-ref", "ar-ref", "pip-ref", "pip-ref"]
    assert build(folder, tmp_path / "all", "--all") == 0
    assert "left out" not in capsys.readouterr().err
    everything = (tmp_path / "all" / "README.md").read_text()
    assert "sroie" in everything and "pip-ref @9f9f9f9f" in everything


def test_a_span_read_at_any_length_is_its_own_row():
    bounded, unbounded = results("models/pip-ref", modes={"pip": (0.54, 20.0)}), results("models/pip-ref", modes={"pip": (0.50, 20.0)})
    for run in (bounded, unbounded):
        run["model"]["pip_answer"] = "span"
    unbounded["config"]["pip_span_length"] = "any"
    rows, dropped = dedupe(rows_from_run("a.json", bounded) + rows_from_run("b.json", unbounded))
    mode = next(c for c in COLUMNS if c.key == "mode")
    assert dropped == [] and sorted(mode.text(r) for r in rows) == ["PIP (span)", "PIP (span, any length)"]


def test_duplicate_created_times_compare_across_offsets(tmp_path):
    """01:00+02:00 is earlier than 00:30Z although the text sorts the other way."""
    runs = [("a.json", results(created="2026-11-02T01:00:00+02:00")), ("b.json", results(created="2026-11-01T23:30:00Z"))]
    rows, _ = dedupe([row for name, data in runs for row in rows_from_run(name, data)])
    assert {r.file for r in rows} == {"b.json"}


# --- outputs --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lb")
    runs = three_models()
    runs["results_other.json"] = results(
        "org/alpha", family="llama", dataset="data/other", fingerprint="cd" * 32, modes={"pip": (0.5, 40.0)}
    )
    runs["results_pipe.json"] = results("org/a|b*c", family="llama", modes={"pip": (0.6, None)})
    assert build(write_runs(root / "results", runs), root / "board") == 0
    return root


def test_readme_tables_sorted_best_bold_speedup_on_pip_only(board):
    readme = (board / "board" / "README.md").read_text()
    assert readme.startswith("# Leaderboard\n\n![") and "(pareto.png)" in readme
    assert "200 documents, fingerprint abababababab." in readme and "200 documents, fingerprint cdcdcdcdcdcd." in readme
    assert readme.index("## data/other · test") < readme.index("## data/synth-kie · test")
    lines = table_lines(readme, "data/synth-kie · test")
    assert [line.split(" | ")[0:2] for line in lines] == [
        ["| org/alpha", "AR"],
        ["| org/alpha", "PIP"],
        ["| org/beta", "PIP"],
        ["| org/beta", "AR"],
        ["| org/gamma", "AR"],
        ["| org/a\\|b\\*c", "PIP"],  # escaped: the pipe does not split the cell
    ]
    cells = [line.split(" | ") for line in lines]
    assert all(len(c) == 10 for c in cells)
    assert cells[0][2] == "**0.900**" and cells[1][2] == "0.880"  # best F1
    assert cells[1][4] == "**80.0**" and cells[0][4] == "1,200"  # best latency is the lowest
    assert cells[1][6] == "**15.0× (AR)**" and cells[2][6] == "4.0× (AR)"  # AR/PIP of the same file; an older file timed ar alone
    assert {c[6] for c in cells if c[1] == "AR"} == {"—"}
    assert cells[5][4] == "—" and cells[5][5] == "—"  # untimed
    assert cells[1][5] == "**62.5 (bs 8)**"
    assert len(table_lines(readme, "data/other · test")) == 1


def test_html_is_self_contained_and_embeds_the_rows(board):
    html = (board / "board" / "index.html").read_text()
    assert "<link" not in html and "@import" not in html and "@font-face" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the page must load nothing from the network"
    data = json.loads(re.search(r'<script type="application/json" id="leaderboard-data">(.*?)</script>', html, re.S).group(1))
    assert [s["title"] for s in data["sections"]] == ["data/other · test", "data/synth-kie · test"]
    rows = data["sections"][1]["rows"]
    assert [r["model"] for r in rows] == ["org/alpha", "org/alpha", "org/beta", "org/beta", "org/gamma", "org/a|b*c"]
    assert rows[1]["best"] == ["p50_ms", "throughput", "speedup"] and rows[1]["text"]["speedup"] == "15.0× (AR)"
    assert data["families"] == {"florence2": "#1f77b4", "llama": "#ff7f0e", "qwen2_vl": "#2ca02c"}


def test_a_model_name_cannot_close_the_script_element(tmp_path):
    rows = rows_from_run("x.json", results("</script><script>alert(1)</script>"))
    html_json = json.dumps(payload(sections(rows), family_colours(rows))).replace("<", "\\u003c")
    assert "</script>" not in html_json and json.loads(html_json)["sections"][0]["rows"][0]["model"].startswith("</script>")
    assert build(write_runs(tmp_path / "r", {"x.json": results("</script><b>")}), tmp_path / "b") == 0
    assert (tmp_path / "b" / "index.html").read_text().count("</script>") == 2  # the page's own two


def test_plot_files(board):
    out = board / "board"
    assert (out / "pareto.png").read_bytes().startswith(b"\x89PNG\r\n")
    svg = (out / "pareto.svg").read_text()
    assert svg.startswith("<?xml") and "<dc:date>" not in svg


def test_empty_results_folder_writes_no_results_yet(tmp_path, capsys):
    out = tmp_path / "board"
    assert build(write_runs(tmp_path / "results", {}), out) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    readme = (out / "README.md").read_text()
    assert "No results yet." in readme and "pip-bench evaluate" in readme and "pip-bench leaderboard build" in readme
    assert '"sections":[]' in (out / "index.html").read_text()
    assert "0 rows from 0 results files" in capsys.readouterr().out


def test_same_inputs_give_the_same_bytes(tmp_path, board):
    """Rebuilt from the same files, copied in the reverse order into another folder."""
    src = board / "results"
    copy = tmp_path / "results"
    copy.mkdir()
    for path in sorted(src.iterdir(), reverse=True):
        (copy / path.name).write_bytes(path.read_bytes())
    assert build(copy, tmp_path / "again") == 0
    for name in ("README.md", "index.html", "pareto.svg", "pareto.png"):
        assert (tmp_path / "again" / name).read_bytes() == (board / "board" / name).read_bytes(), name


# --- serve ------------------------------------------------------------------------------------------


def test_serve_serves_the_page(board):
    with make_server(board / "board", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/index.html", timeout=5) as response:
                assert response.read() == (board / "board" / "index.html").read_bytes()
        finally:
            server.shutdown()
            thread.join()


def test_serve_without_a_build_is_a_usage_error(tmp_path, capsys):
    assert main(["leaderboard", "serve", "--dir", str(tmp_path)]) == 2
    assert "run `pip-bench leaderboard build` first" in capsys.readouterr().err


def test_model_ids_with_mathtext_or_a_newline_build_a_readable_board(tmp_path):
    runs = {
        "results_math.json": results("org/$\\foo$", family="llama", modes={"ar": (0.7, 900.0), "pip": (0.72, 50.0)}),
        "results_newline.json": results("org/two\nlines", family="llama", modes={"pip": (0.6, 60.0)}),
    }
    assert build(write_runs(tmp_path / "r", runs), tmp_path / "b") == 0  # the plot would raise on "$\foo$" as mathtext
    lines = table_lines((tmp_path / "b" / "README.md").read_text(), "data/synth-kie · test")
    assert len(lines) == 3 and any(line.startswith("| org/two lines | PIP") for line in lines)
    assert all(len(line.split(" | ")) == 10 for line in lines)
