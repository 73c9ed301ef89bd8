"""datagen build: Hub layout, determinism across workers, resume after kill -9, slices, lazy images."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from datasets import Image, load_dataset

from datagen.build import build
from datagen.build_plan import BuildConfig, parse_count
from datagen.card import read_card_yaml
from datagen.cli import main
from datagen.errors import DatagenError
from datagen.features import dataset_features
from datagen.lazy import load as lazy_load

WAIT = 300  # seconds: a build that hangs fails its test instead of the whole CI run

SMALL = {"n": 36, "seed": 3, "shard_size": 6, "calibration_docs": 60, "width": 256}


def config(**overrides) -> BuildConfig:
    return BuildConfig(**{**SMALL, "image_format": "none", **overrides})


def digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "data").glob("*.parquet"))}


@pytest.fixture(scope="module")
def layout_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "ds"
    build(config(), out, workers=1)
    return out


def test_the_card_records_the_command_that_made_the_build(layout_build, tmp_path):
    """A Python caller's build records what it was given (not the caller's own sys.argv); the command line its argv."""
    assert json.loads((layout_build / "build_config.json").read_text())["command"] == "datagen.build.build()"
    build(config(n=6, shard_size=6), tmp_path / "py", workers=1, command="python make_data.py --small")
    args = ["build", "--n", "6", "--image-format", "none", "--calibration-docs", "60", "--out", str(tmp_path / "cli")]
    assert main(args) == 0
    for out, command in ((tmp_path / "py", "python make_data.py --small"), (tmp_path / "cli", shlex.join(["datagen", *args]))):
        assert json.loads((out / "build_config.json").read_text())["command"] == command
        assert command in (out / "README.md").read_text()


def test_parse_count_accepts_the_spellings_of_a_million():
    assert parse_count("1e6") == parse_count("1_000_000") == parse_count("1000000") == 1_000_000
    for bad in ("0", "-5", "abc", "1.5", "1e-3", ""):
        with pytest.raises(DatagenError):
            parse_count(bad)


def test_hub_layout_card_and_load_dataset(layout_build):
    out = layout_build
    names = sorted(p.name for p in (out / "data").iterdir())
    assert names[0] == "test-00000-of-00001.parquet" and "train-00004-of-00005.parquet" in names
    assert all(not n.startswith(".") for n in names)
    ds = load_dataset(str(out))
    assert {k: len(v) for k, v in ds.items()} == {"train": 29, "validation": 4, "test": 3}
    assert ds["train"].features == dataset_features(image=False)
    row = ds["train"][0]
    assert [f["key"] for f in row["fields"]][:1] and row["pip_prompt"].count("[mask]") == sum(len(ids) for ids in row["pip_target_ids"])
    card = read_card_yaml(out / "README.md")
    assert {s["name"]: s["num_examples"] for s in card["dataset_info"]["splits"]} == {"train": 29, "validation": 4, "test": 3}
    assert card["configs"][0]["data_files"][0] == {"split": "train", "path": "data/train-*.parquet"}
    assert {f["name"] for f in card["dataset_info"]["features"]} == set(dataset_features(image=False))
    assert "2601.19613" in (out / "README.md").read_text()


def test_streaming_load(layout_build):
    stream = load_dataset(str(layout_build), streaming=True)
    first = next(iter(stream["validation"]))
    assert first["id"] == load_dataset(str(layout_build))["validation"][0]["id"]


def test_same_bytes_with_any_number_of_workers(layout_build, tmp_path):
    build(config(), tmp_path / "two", workers=2)
    assert digests(tmp_path / "two") == digests(layout_build)


def test_slices_then_merge_equal_the_full_build(layout_build, tmp_path, capsys):
    out = tmp_path / "sliced"
    assert build(config(), out, workers=1, shards="0/2") is None
    assert main(["merge", str(out)]) == 2  # half the shards are missing
    assert "missing" in capsys.readouterr().err
    build(config(), out, workers=1, shards="1/2")
    assert main(["merge", str(out)]) == 0
    assert digests(out) == digests(layout_build)
    assert (out / "README.md").read_text() == (layout_build / "README.md").read_text().replace(str(layout_build), str(out))


# A fault at a chosen point, not after a race with a poll: the build runs in a child process whose shard writer,
# at the FAULT_AT_DOCUMENT-th document it generates, SIGKILLs its process (FAULT=kill) or stalls there for an hour
# holding the shard's lock (FAULT=stall). FAULT_IN=worker spares the parent: only a pool worker is hit.
FAULT_AT_DOCUMENT = """
import os, signal, sys, time
import datagen.shard_writer as writer
from datagen.cli import main
parent, real, calls = os.getpid(), writer.generate, []
def generate(*args, **kwargs):
    calls.append(1)
    hit = len(calls) == int(os.environ["FAULT_AT_DOCUMENT"])
    if hit and (os.environ.get("FAULT_IN") != "worker" or os.getpid() != parent):
        if os.environ["FAULT"] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(3600)
    return real(*args, **kwargs)
writer.generate = generate
sys.exit(main(sys.argv[1:]))
"""


def with_fault(cmd: list[str], fault: str, at_document: int, only_in_a_worker: bool = False) -> tuple[list[str], dict[str, str]]:
    """``cmd`` (a ``build_command``) run through ``FAULT_AT_DOCUMENT``, and the environment that says what to do."""
    env = {**os.environ, "FAULT": fault, "FAULT_AT_DOCUMENT": str(at_document), "FAULT_IN": "worker" if only_in_a_worker else "any"}
    return [sys.executable, "-c", FAULT_AT_DOCUMENT, *cmd[3:]], env  # cmd[3:]: after "python -m datagen.cli"


def like_a_terminal(cmd: list[str]) -> subprocess.Popen[str]:
    """Start ``cmd`` in its own process group with SIGINT at its default (a background shell ignores it), as a
    terminal runs it, so that ``os.killpg(proc.pid, SIGINT)`` is Ctrl-C."""
    return subprocess.Popen(
        cmd, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )


def test_kill_9_then_rerun_gives_the_same_dataset(layout_build, tmp_path):
    out = tmp_path / "killed"
    faulty, env = with_fault(build_command(out, "--workers", "1"), "kill", 16)  # the 4th of the third shard's 6 documents
    proc = subprocess.run(faulty, env=env, capture_output=True, timeout=WAIT)
    assert proc.returncode == -signal.SIGKILL
    assert len(list((out / ".datagen" / "shards").glob("*.json"))) == 2  # two shards finished, the third cut off
    assert digests(out) != digests(layout_build)
    subprocess.run(build_command(out, "--workers", "1"), check=True, capture_output=True, timeout=WAIT)
    assert digests(out) == digests(layout_build)


def test_a_killed_worker_ends_the_build_with_one_line_and_a_rerun_finishes_it(layout_build, tmp_path):
    """A worker killed mid-shard used to leave the parent waiting forever for that shard."""
    out = tmp_path / "oom"
    faulty, env = with_fault(build_command(out, "--workers", "2"), "kill", 3, only_in_a_worker=True)  # a worker's 3rd document
    proc = subprocess.run(faulty, env=env, capture_output=True, text=True, timeout=WAIT)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.replace("\r", "\n").splitlines()[-1] == (
        "datagen: error: a build worker was killed (out of memory?); rerun the same command to resume"
    )
    subprocess.run(build_command(out, "--workers", "2"), check=True, capture_output=True, timeout=WAIT)
    assert digests(out) == digests(layout_build)
    assert not list((out / "data").glob(".*"))


def build_command(out: Path, *extra: str) -> list[str]:
    """The CLI spelling of ``config()`` (layout-only) into ``out``."""
    cmd = [sys.executable, "-m", "datagen.cli", "build", "--n", "36", "--seed", "3", "--image-format", "none", "--out", str(out)]
    return [*cmd, "--shard-size", "6", "--calibration-docs", "60", "--width", "256", *extra]


def test_concurrent_slices_into_one_new_folder_merge_to_the_full_build(layout_build, tmp_path):
    # what a Slurm array does: every slice starts at once on a folder that does not exist yet
    out = tmp_path / "array"
    procs = [
        subprocess.Popen(build_command(out, "--workers", "1", "--shards", f"{k}/3"), stderr=subprocess.PIPE, text=True) for k in range(3)
    ]
    errors = [p.communicate(timeout=WAIT)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert main(["merge", str(out)]) == 0
    assert digests(out) == digests(layout_build)
    assert not list((out / "data").glob(".*"))


def test_two_full_runs_at_once_share_the_work_and_agree(layout_build, tmp_path):
    out = tmp_path / "twice"
    procs = [subprocess.Popen(build_command(out, "--workers", "2"), stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=WAIT)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert digests(out) == digests(layout_build)


def children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker pids from Linux /proc")
def test_kill_9_of_the_parent_only_then_rerun_at_once(tmp_path):
    # many small JPEG shards; orphaned workers abandon the shard in hand, then exit
    reference = tmp_path / "reference"
    build(config(image_format="jpeg", shard_size=2), reference, workers=1)
    out = tmp_path / "orphans"
    cmd = build_command(out, "--workers", "2")
    cmd[cmd.index("none")] = "jpeg"
    cmd[cmd.index("--shard-size") + 1] = "2"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sidecars = out / ".datagen" / "shards"
    deadline = time.time() + 120
    while time.time() < deadline and not list(sidecars.glob("*.json")):
        time.sleep(0.01)
    workers = children(proc.pid)
    assert workers, "the build should run a pool of workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=WAIT)
    subprocess.run(cmd, check=True, capture_output=True, timeout=WAIT)  # at once, while the orphans may still be writing
    deadline = time.time() + 30
    while time.time() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.01)
    assert not any(Path(f"/proc/{w}").exists() for w in workers), "orphaned workers outlived their parent"
    assert digests(out) == digests(reference)
    assert main(["merge", str(out)]) == 0  # every sidecar agrees with its shard
    assert not list((out / "data").glob(".*"))


def test_ctrl_c_with_workers_is_one_line_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "interrupted"
    cmd = build_command(out, "--workers", "2")
    cmd[cmd.index("none")] = "jpeg"
    cmd[cmd.index("--shard-size") + 1] = "2"
    proc = like_a_terminal(cmd)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / ".datagen" / "shards").glob("*.json")):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the parent and every worker
    err = proc.communicate(timeout=WAIT)[1]
    assert proc.returncode == 130
    messages = [
        line for line in err.replace("\r", "\n").splitlines() if line.strip() and "building" not in line and "calibrating" not in line
    ]
    assert messages == ["datagen: interrupted; rerun the same command to resume"]
    assert not list((out / "data").glob(".*"))


def test_ctrl_c_reaches_a_worker_that_waits_for_another_runs_shard(tmp_path):
    """A worker blocked on a shard lock held by another run must still stop on Ctrl-C, not keep the build waiting."""
    out = tmp_path / "waiting"
    faulty, env = with_fault(build_command(out, "--workers", "1"), "stall", 1)  # another run, stalled holding shard 0's lock
    stalled = subprocess.Popen(faulty, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not list((out / "data").glob(".*.tmp")):
            time.sleep(0.01)
        assert list((out / "data").glob(".*.tmp")), "the stalled run should be writing shard 0"
        proc = like_a_terminal(build_command(out, "--workers", "2"))
        sidecars = out / ".datagen" / "shards"
        while time.time() < deadline and len(list(sidecars.glob("*.json"))) < 5:  # every shard but the locked one
            time.sleep(0.01)
        assert len(list(sidecars.glob("*.json"))) == 5
        os.killpg(proc.pid, signal.SIGINT)
        err = proc.communicate(timeout=WAIT)[1]
        assert proc.returncode == 130, err
        assert err.replace("\r", "\n").splitlines()[-1] == "datagen: interrupted; rerun the same command to resume"
    finally:
        stalled.kill()
        stalled.wait()


def test_only_temporary_files_of_dead_runs_are_removed(tmp_path):
    from datagen.build_state import remove_dead_temps, shard_lock

    (tmp_path / "data").mkdir()
    live = tmp_path / "data" / ".train-00000-of-00002.parquet.11-1.tmp"
    dead = tmp_path / "data" / ".train-00001-of-00002.parquet.12-1.tmp"
    live.write_bytes(b"in progress")
    dead.write_bytes(b"left by kill -9")
    with shard_lock(tmp_path, "train-00000-of-00002"):  # a live writer of shard 0
        remove_dead_temps(tmp_path)
    assert live.exists() and not dead.exists()


def test_different_config_refuses_and_touches_nothing(layout_build, capsys):
    before = {p: p.stat().st_mtime_ns for p in layout_build.rglob("*")}
    code = main(["build", "--n", "36", "--seed", "4", "--image-format", "none", "--out", str(layout_build)])
    assert code == 2
    assert "different configuration" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in layout_build.rglob("*")} == before


@pytest.fixture
def template_copy(tmp_path, monkeypatch) -> Iterator[Path]:
    """The shipped templates copied to a folder the test may edit, standing in for the shipped ones."""
    import datagen.build_plan as build_plan
    from datagen.template import TEMPLATE_DIR, list_templates

    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATE_DIR, copy)
    monkeypatch.setattr(build_plan, "list_templates", lambda: list_templates(copy))
    clear = (build_plan.eligible.cache_clear, build_plan.input_digests.cache_clear)
    for f in clear:
        f()
    yield copy
    for f in clear:
        f()


@pytest.mark.parametrize("when", ["between slices", "before a resume"])
def test_a_template_edited_mid_build_is_refused_by_name(template_copy, tmp_path, when):
    from datagen.build_plan import eligible, input_digests

    out = tmp_path / "edited"
    build(config(), out, workers=1, shards="0/2" if when == "between slices" else "0/1000")  # 0/1000: one shard of seven
    cafe = template_copy / "receipt" / "cafe.yaml"
    cafe.write_text(cafe.read_text() + "\n# tweaked\n")
    eligible.cache_clear()
    input_digests.cache_clear()
    with pytest.raises(DatagenError, match=r"other template, font or tokenizer files \(templates/receipt/cafe.yaml differ\)"):
        build(config(), out, workers=1, shards="1/2" if when == "between slices" else None)


def test_a_label_catalogue_edited_before_a_resume_is_refused_by_name(template_copy, tmp_path, monkeypatch):
    import datagen.build_plan as build_plan

    monkeypatch.setattr(build_plan, "LABEL_DIR", template_copy / "labels")
    out = tmp_path / "edited"
    build(config(), out, workers=1, shards="0/1000")
    german = template_copy / "labels" / "de.yaml"
    german.write_text(german.read_text() + "\n# tweaked\n")
    build_plan.input_digests.cache_clear()
    with pytest.raises(DatagenError, match=r"other template, font or tokenizer files \(templates/labels/de.yaml differ\)"):
        build(config(), out, workers=1)


def test_non_empty_foreign_folder_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["build", "--n", "10", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--n", "0"], "positive"),
        (["--n", "-3"], "positive"),
        (["--n", "ten"], "whole number"),
        (["--n", "10", "--split-ratios", "0.5,0.2,0.2"], "sum to 1"),
        (["--n", "10", "--doc-types", "letter"], "unknown doc type"),
        (["--n", "10", "--locales", "xx_XX"], "no template supports"),
        (["--n", "10", "--templates", "receipt/nope"], "unknown template"),
        (["--n", "10", "--shards", "2/2"], "K/N"),
        (["--n", "1e9"], "not enough disk space"),
        (["--n", "10", "--shard-size", "-1"], "--shard-size: must be from 0 to 1,000,000"),
        (["--n", "10", "--width", "100000000"], "--width: must be from 64 to 10,000"),
        (["--n", "10", "--calibration-docs", "1000000000"], "--calibration-docs: must be from 1 to 100,000"),
        (["--n", "10", "--quality", "101"], "--quality: must be from 1 to 100"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, args, needle):
    out = tmp_path / "o"
    proc = subprocess.run([sys.executable, "-m", "datagen.cli", "build", "--out", str(out), *args], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert not out.exists() or not any(out.rglob("*.parquet"))


def test_unwritable_output(capsys):
    assert main(["build", "--n", "10", "--out", "/proc/datagen-test/ds"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_lazy_images_equal_eager_images(layout_build, tmp_path):
    eager_out = tmp_path / "eager"
    build(config(image_format="jpeg"), eager_out, workers=1)
    eager = load_dataset(str(eager_out))["validation"].cast_column("image", Image(decode=False))
    lazy = lazy_load(layout_build, decode=False)["validation"]
    assert len(lazy) == len(eager) == 4
    for i in range(len(eager)):
        assert lazy[i]["id"] == eager[i]["id"]
        assert lazy[i]["image"]["bytes"] == eager[i]["image"]["bytes"]
    decoded = lazy_load(layout_build)["validation"][0]["image"]
    assert decoded.size[0] <= 280


def test_a_default_image_build_stores_grayscale_pages_with_their_text_at_text_px(tmp_path):
    from datagen.build_plan import document_spec
    from datagen.pipeline import make_layout
    from datagen.resolution import raster_width

    # without augmentations: a rotation grows the canvas
    cfg = config(n=6, image_format="jpeg", width=None, mode=BuildConfig.mode, quality=BuildConfig.quality, augment=False)
    assert (cfg.width, cfg.mode, cfg.quality) == (None, "L", 50)
    build(cfg, tmp_path / "ds", workers=1)
    rows = {r["id"]: r for split in load_dataset(str(tmp_path / "ds")).values() for r in split}
    assert len(rows) == 6
    for g in range(6):
        template, locale, seed = document_spec(cfg, g)
        image = next(r["image"] for r in rows.values() if r["seed"] == seed)
        assert image.mode == "L"
        assert image.size[0] == raster_width(make_layout(template, seed, locale)[1])


def test_publish_dry_run_checks_card_and_shards(layout_build, capsys, tmp_path):
    assert main(["publish", str(layout_build), "--repo-id", "org/synth-kie", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would upload" in out and "data/train-00000-of-00005.parquet" in out and "README.md" in out
    listed = [line for line in out.splitlines() if line.startswith("  ")]
    assert f"{len(listed)} files checked" in out  # one count: what is checked is what would be uploaded
    # a damaged copy is refused by name
    broken = tmp_path / "broken"
    shutil.copytree(layout_build, broken)
    (broken / "data" / "test-00000-of-00001.parquet").write_bytes(b"PAR1")
    assert main(["publish", str(broken), "--repo-id", "org/x", "--dry-run"]) == 2
    assert "data/test-00000-of-00001.parquet (size differs from its sidecar)" in capsys.readouterr().err


def flip_bit(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.fixture
def copy_of_build(layout_build, tmp_path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(layout_build, out)
    return out


def test_a_same_size_bit_flip_is_caught_by_verify_merge_evaluate_and_rebuilt_on_resume(layout_build, copy_of_build, capsys):
    from benchmark.data import load_eval_set
    from benchmark.errors import BenchError

    shard = copy_of_build / "data" / "test-00000-of-00001.parquet"
    flip_bit(shard, shard.stat().st_size // 2)
    assert main(["verify", str(copy_of_build)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "data/test-00000-of-00001.parquet (checksum differs from its sidecar)" in err
    assert main(["verify", str(copy_of_build), "--split", "train"]) == 0  # the damage is in test only
    assert main(["merge", str(copy_of_build)]) == 2
    assert "test-00000-of-00001 (checksum differs from its sidecar)" in capsys.readouterr().err
    with pytest.raises(BenchError, match=r"test-00000-of-00001.parquet \(checksum differs"):
        load_eval_set(str(copy_of_build), "test")
    build(config(), copy_of_build, workers=1)  # resume: hashes what is there, rebuilds the damaged shard
    err = capsys.readouterr().err
    assert "test-00000-of-00001.parquet: checksum differs from its sidecar; rebuilding it" in err
    assert "resuming" in err and "documents already built" in err  # a resumed build says so
    assert digests(copy_of_build) == digests(layout_build)
    assert main(["verify", str(copy_of_build)]) == 0
    assert "36 documents; every shard matches its SHA-256" in capsys.readouterr().out


def test_evaluate_names_a_shard_it_cannot_read_in_a_folder_without_sidecars(copy_of_build):
    from benchmark.data import load_eval_set
    from benchmark.errors import BenchError

    shutil.rmtree(copy_of_build / ".datagen")  # e.g. a copy of the published files only
    shard = copy_of_build / "data" / "test-00000-of-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:-100])  # truncated: no Parquet footer
    with pytest.raises(BenchError, match=r"cannot read data/test-00000-of-00001.parquet \("):
        load_eval_set(str(copy_of_build), "test")


@pytest.mark.parametrize("damage", ["truncated", "a count changed"])
def test_a_damaged_sidecar_is_named_and_its_shard_rebuilt(layout_build, copy_of_build, capsys, damage):
    sidecar = copy_of_build / ".datagen" / "shards" / "train-00002-of-00005.json"
    text = sidecar.read_text()
    # still valid JSON with the right keys, but the statistics the card reports would be wrong
    sidecar.write_text(text[:40] if damage == "truncated" else text.replace('"rows": 6', '"rows": 7'))
    assert main(["merge", str(copy_of_build)]) == 2
    assert "train-00002-of-00005 (sidecar .datagen/shards/train-00002-of-00005.json is damaged)" in capsys.readouterr().err
    assert main(["stats", str(copy_of_build)]) == 0
    assert "in 6/7 shards" in capsys.readouterr().out
    build(config(), copy_of_build, workers=1)
    assert "rebuilding it" in capsys.readouterr().err
    assert digests(copy_of_build) == digests(layout_build)
    assert main(["verify", str(copy_of_build)]) == 0


@pytest.mark.parametrize("command", ["build", "merge", "verify", "stats"])
def test_a_damaged_build_json_is_one_line_and_exit_2(copy_of_build, capsys, command):
    state = copy_of_build / ".datagen" / "build.json"
    flip_bit(state, 0)  # '{' becomes 'k': not JSON any more
    args = [*build_command(copy_of_build)[3:]] if command == "build" else [command, str(copy_of_build)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "build.json is damaged" in err


def test_a_full_disk_while_writing_the_card_is_one_line_and_merge_finishes_later(copy_of_build, monkeypatch, capsys):
    import errno

    import datagen.build_state as build_state

    real = build_state.write_card

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    (copy_of_build / "README.md").unlink()
    monkeypatch.setattr(build_state, "write_card", full_disk)
    assert main(["merge", str(copy_of_build)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot write the card" in err and "No space left on device" in err
    monkeypatch.setattr(build_state, "write_card", real)
    assert main(["merge", str(copy_of_build)]) == 0 and (copy_of_build / "README.md").exists()


def test_a_stray_parquet_file_is_refused_by_merge_and_verify(copy_of_build, capsys):
    shutil.copy(copy_of_build / "data" / "test-00000-of-00001.parquet", copy_of_build / "data" / "test-extra.parquet")
    for command in ("merge", "verify"):
        assert main([command, str(copy_of_build)]) == 2
        assert "test-extra.parquet" in capsys.readouterr().err


def test_stats_command(layout_build, capsys):
    assert main(["stats", str(layout_build)]) == 0
    out = capsys.readouterr().out
    assert "36 documents in 7/7 shards" in out and "| receipt | total |" in out


def test_rare_collection_restores_the_collector_thresholds_even_on_error() -> None:
    import gc

    from datagen.shard_writer import rare_collection

    before = gc.get_threshold()
    with pytest.raises(RuntimeError), rare_collection():
        assert gc.get_threshold()[0] > before[0]
        raise RuntimeError
    assert gc.get_threshold() == before


def test_a_large_build_says_how_much_disk_it_may_take_before_it_starts(tmp_path, capsys):
    from datagen.build_plan import bytes_per_doc
    from datagen.build_state import _check_disk

    big = config(n=200_000, image_format="jpeg")
    _check_disk(big, tmp_path)
    assert f"200,000 jpeg documents take up to {200_000 * bytes_per_doc(big) / 1e9:.1f} GB" in capsys.readouterr().err
    _check_disk(config(n=1000, image_format="none"), tmp_path)  # a small one stays quiet
    assert capsys.readouterr().err == ""


def test_the_disk_estimate_is_measured_with_the_builds_own_image_settings():
    from datagen.build_plan import LAYOUT_BYTES_PER_DOC, bytes_per_doc

    small = bytes_per_doc(config(n=100, image_format="jpeg", width=None, mode="L", quality=75))
    large = bytes_per_doc(config(n=100, image_format="jpeg", width=1024, mode="RGB", quality=95))
    assert large > 2 * small > 2 * LAYOUT_BYTES_PER_DOC
    assert bytes_per_doc(config(n=100, image_format="none")) == LAYOUT_BYTES_PER_DOC
