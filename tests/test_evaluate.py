"""pip-bench evaluate, offline: tiny random-weight models saved with save_pretrained, a small generated dataset.

Random weights score ~0, so these tests check the machinery (both modes end to end, the 4D masks, the
mask-token handling, resume, the results schema, bad input), not accuracy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import transformers
from datasets import Dataset

from benchmark.adapters import load_adapter
from benchmark.adapters.base import Batch, ModelSpec
from benchmark.adapters.qwen2_vl import Qwen2VLAdapter
from benchmark.cli import _timing, build_parser, main
from benchmark.data import load_eval_set
from benchmark.errors import BenchError
from benchmark.evaluate import (
    CACHE_DIR,
    ARRunner,
    EvalConfig,
    Prediction,
    PredictionCache,
    _speedup,
    bucketed_batches,
    harness_info,
    predict,
    stratified,
    time_modes,
)
from benchmark.parallel import Processes
from benchmark.pip import attention_mask_4d, derive_budgets, position_ids, slot_positions
from benchmark.results import schema_errors
from datagen.build import build
from datagen.build_plan import BuildConfig
from datagen.prompts import ar_instruction
from tests.tiny_models import CHAT_TEMPLATE, bare_tokenizer, tiny_donut, tiny_florence2, tiny_idefics3, tiny_llama, tiny_qwen2_vl

FAST = ["--max-new-tokens", "6", "--timing-docs", "3", "--timing-batch-sizes", "1,2", "--warmup", "1", "--batch-size", "4"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A layout-only build (images rendered on access): 18 test documents of all three types."""
    out = tmp_path_factory.mktemp("eval") / "ds"
    splits = (("train", 0.2), ("validation", 0.1), ("test", 0.7))
    build(BuildConfig(n=26, seed=5, splits=splits, image_format="none", width=256, calibration_docs=40, shard_size=13), out, workers=1)
    return out


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="module")
def draft(llama, tmp_path_factory) -> Path:
    """The tiny Llama with its weights nudged: a draft that proposes mostly the model's tokens, not always."""
    model = transformers.AutoModelForCausalLM.from_pretrained(llama)
    torch.manual_seed(1)
    with torch.no_grad():
        for weight in model.parameters():
            weight.add_(torch.randn_like(weight) * 0.02)
    out = tmp_path_factory.mktemp("models") / "tiny-draft"
    model.save_pretrained(out)
    transformers.AutoTokenizer.from_pretrained(llama).save_pretrained(out)
    return out


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def results_of(folder: Path) -> dict:
    (path,) = folder.glob("results_*.json")
    return json.loads(path.read_text())


def test_causal_lm_both_modes_end_to_end(dataset, llama, tmp_path, capsys):
    out = tmp_path / "results"
    code, stdout, err = run(
        ["evaluate", str(llama), "--dataset", str(dataset), "--limit", "8", "--output-dir", str(out), "--log-samples", *FAST], capsys
    )
    assert code == 0, err
    data = results_of(out)
    assert schema_errors(data) == []
    assert data["model"]["adapter"] == "causal-lm" and data["model"]["family"] == "llama" and not data["model"]["mask_token_added"]
    assert data["dataset"]["num_documents"] == 8 and sum(data["dataset"]["doc_types"].values()) == 8
    ar, pip = data["modes"]["ar"], data["modes"]["pip"]
    assert pip["timing"]["forward_passes_per_doc"] == 1.0
    assert 1 <= ar["timing"]["tokens_per_doc"] <= 6  # capped by --max-new-tokens
    budgets = data["config"]["pip_budgets"]
    assert pip["timing"]["tokens_per_doc"] == pytest.approx(
        sum(sum(budgets[t].values()) * n for t, n in data["dataset"]["doc_types"].items()) / 8
    )
    assert set(ar["timing"]["throughput"]) == {"1", "2"} and set(data["speedup"]["throughput"]) == {"1", "2"}
    assert data["speedup"]["latency_p50"] == pytest.approx(ar["timing"]["latency"]["p50_ms"] / pip["timing"]["latency"]["p50_ms"])
    assert "speedup" in stdout and "results:" in stdout
    (samples,) = out.glob("samples_*.jsonl")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(rows) == 16 and {r["mode"] for r in rows} == {"ar", "pip"}
    pip_row = next(r for r in rows if r["mode"] == "pip")
    assert pip_row["prompt"].count("[mask]") == sum(budgets[pip_row["doc_type"]].values())
    assert set(pip_row["scores"]) >= {k for k, v in pip_row["gold"].items() if v is not None}


def test_every_ar_mode_answers_as_greedy_ar_and_pip_is_timed_against_each(dataset, llama, tmp_path, capsys):
    out = tmp_path / "results"
    modes = ["ar", "ar-lookup", "ar-static", "pip"]
    args = ["evaluate", str(llama), "--dataset", str(dataset), "--limit", "8", "--output-dir", str(out), "--log-samples"]
    code, stdout, err = run([*args, "--modes", ",".join(modes), *FAST], capsys)
    assert code == 0, err
    data = results_of(out)
    assert schema_errors(data) == [] and list(data["modes"]) == modes and data["config"]["lookup_tokens"] == 5
    (samples,) = out.glob("samples_*.jsonl")
    answers: dict[str, list[str]] = {}
    for row in map(json.loads, samples.read_text().splitlines()):
        answers.setdefault(row["mode"], []).append(row["output"])
    assert answers["ar-lookup"] == answers["ar-static"] == answers["ar"] and len(answers["ar"]) == 8
    assert data["modes"]["ar-lookup"]["metrics"] == data["modes"]["ar-static"]["metrics"] == data["modes"]["ar"]["metrics"]
    assert data["modes"]["ar-lookup"]["same_output_as_ar"] == data["modes"]["ar-static"]["same_output_as_ar"] == 8
    assert "same_output_as_ar" not in data["modes"]["ar"] and "same_output_as_ar" not in data["modes"]["pip"]
    assert "same answer as ar: 8/8" in stdout
    assert data["modes"]["ar"]["generate"] == {"cache": "dynamic", "compiled": False}
    assert data["modes"]["ar-lookup"]["generate"]["prompt_lookup_num_tokens"] == 5
    static = data["modes"]["ar-static"]["generate"]
    assert static["cache"] == "static" and not static["compiled"] and "CUDA only" in static["note"]  # no compile on the CPU
    lookup = data["modes"]["ar-lookup"]["timing"]
    assert lookup["forward_passes_per_doc"] <= lookup["tokens_per_doc"] == data["modes"]["ar"]["timing"]["tokens_per_doc"]
    speedup, pip = data["speedup"], data["modes"]["pip"]["timing"]
    assert list(speedup["by_ar_mode"]) == modes[:3]
    for mode, ratios in speedup["by_ar_mode"].items():
        timing = data["modes"][mode]["timing"]
        assert ratios["latency_p50"] == pytest.approx(timing["latency"]["p50_ms"] / pip["latency"]["p50_ms"])
        assert ratios["throughput"]["2"] == pytest.approx(pip["throughput"]["2"] / timing["throughput"]["2"])
    fastest = speedup["fastest_ar"]
    assert speedup["latency_p50"] == min(r["latency_p50"] for r in speedup["by_ar_mode"].values())
    assert speedup["latency_p50"] == speedup["by_ar_mode"][fastest["latency_p50"]]["latency_p50"]
    for size, mode in fastest["throughput"].items():
        assert speedup["throughput"][size] == min(r["throughput"][size] for r in speedup["by_ar_mode"].values())
        assert speedup["throughput"][size] == speedup["by_ar_mode"][mode]["throughput"][size]
    assert set(fastest["by_doc_type"]) == set(speedup["by_doc_type"]) == set(data["dataset"]["doc_types"])
    assert "speedup vs ar-lookup" in stdout and "speedup vs the fastest AR" in stdout


def test_speedup_names_the_fastest_ar_mode_per_batch_size_and_doc_type():
    def timing(p50: float, invoice_p50: float, docs_per_s: dict[str, float]) -> dict:
        by_type = {"invoice": {"p50_ms": invoice_p50}, "receipt": {"p50_ms": p50}}
        return {"timing": {"latency": {"p50_ms": p50}, "latency_by_doc_type": by_type, "throughput": docs_per_s}}

    modes = {
        "ar": timing(1000.0, 1200.0, {"1": 1.0, "8": 5.0}),
        "ar-lookup": timing(400.0, 1500.0, {"1": 2.5, "8": 2.5}),  # fast alone, slow in batches and on invoices
        "pip": timing(50.0, 60.0, {"1": 20.0, "8": 100.0}),
    }
    speedup = _speedup(modes)
    assert speedup["fastest_ar"] == {
        "latency_p50": "ar-lookup",
        "throughput": {"1": "ar-lookup", "8": "ar"},
        "by_doc_type": {"invoice": "ar", "receipt": "ar-lookup"},
    }
    assert speedup["latency_p50"] == 8.0 and speedup["throughput"] == {"1": 8.0, "8": 20.0}
    assert speedup["by_doc_type"] == {"invoice": 20.0, "receipt": 8.0} and speedup["by_ar_mode"]["ar"]["latency_p50"] == 20.0
    assert _speedup({"ar-static": modes["ar"]}) is None and _speedup({"pip": modes["pip"]}) is None


def test_a_decode_step_torch_compile_fails_on_runs_eager_and_the_results_say_so(dataset, llama, monkeypatch):
    adapter = load_adapter(ModelSpec(str(llama)))
    docs = load_eval_set(str(dataset), limit=2).documents
    runner = ARRunner(adapter, "ar-static", EvalConfig(max_new_tokens=4))
    eager = runner(docs)
    runner.decoding = replace(runner.decoding, compile=True)  # as on CUDA
    real = adapter.ar

    def ar(docs, max_new_tokens, decoding, constraint):
        if decoding.compile:
            raise torch._dynamo.exc.TorchDynamoException("no C++ compiler")
        return real(docs, max_new_tokens, decoding, constraint)

    monkeypatch.setattr(adapter, "ar", ar)
    assert [p.output for p in runner(docs)] == [p.output for p in eager]
    assert runner.record() == {
        "cache": "static",
        "compiled": False,
        "note": "decode step not compiled: torch.compile failed (no C++ compiler)",
    }


@pytest.mark.parametrize(
    ("build", "mode", "needle"),
    [(tiny_idefics3, "ar-lookup", "an image model's prompt holds the instruction"), (tiny_donut, "ar-static", "static cache")],
)
def test_a_model_that_cannot_run_an_ar_mode_says_why_before_any_work(build, mode, needle, dataset, tmp_path, capsys):
    out = tmp_path / "r"
    code, _, err = run(
        ["evaluate", str(build(tmp_path / "m")), "--dataset", str(dataset), "--modes", f"ar,{mode}", "--output-dir", str(out)], capsys
    )
    errors = [line for line in err.splitlines() if line.startswith("pip-bench: error:")]
    assert code == 2 and len(errors) == 1 and f"cannot run {mode} mode" in errors[0] and needle in errors[0], err
    assert not (out / CACHE_DIR).exists()


def _pip_batch(adapter, docs):
    budgets = derive_budgets(adapter.tokenizer, docs)
    return adapter.pip_batch(docs, budgets)


def test_pip_with_causal_mask_reproduces_a_plain_forward_pass(dataset, llama):
    adapter = load_adapter(ModelSpec(str(llama)))
    docs = load_eval_set(str(dataset), limit=3).documents  # different lengths: left padding is exercised
    batch = _pip_batch(adapter, docs)
    with torch.inference_mode():
        pip_rows = adapter.pip_forward(batch, "causal")
        padding = batch.inputs["attention_mask"]
        plain = adapter.model(input_ids=batch.inputs["input_ids"], attention_mask=padding, position_ids=position_ids(padding)).logits
        bidirectional = adapter.pip_forward(batch, "bidirectional")
    for row, positions, logits in zip(plain, batch.positions, pip_rows, strict=True):
        torch.testing.assert_close(logits, row[[p - 1 for p in positions]], rtol=1e-4, atol=1e-4)
    # the bidirectional span lets earlier masks see later tokens, so their logits change
    assert not torch.allclose(pip_rows[0][:5], bidirectional[0][:5], atol=1e-4)


def test_flash_attention_cannot_run_pip_and_says_why(llama):
    adapter = load_adapter(ModelSpec(str(llama)))
    assert adapter.unsupported("pip") is None
    adapter.model.config._attn_implementation = "flash_attention_2"
    assert "4D attention mask" in adapter.unsupported("pip") and adapter.unsupported("ar") is None


def test_attention_mask_4d_by_hand():
    padding = torch.tensor([[1, 1, 1, 1], [0, 1, 1, 1]])  # row 2 is left-padded by one
    mask = attention_mask_4d(padding, [2, 2], "bidirectional", torch.float32)
    allowed = (mask == 0).int()[:, 0].tolist()
    assert allowed[0] == [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]]
    # the pad key is never attended; the pad query attends only to itself (no fully masked row)
    assert allowed[1] == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 1, 1], [0, 1, 1, 1]]
    right = (attention_mask_4d(torch.tensor([[1, 1, 0]]), [1], "causal", torch.float32) == 0).int()[0, 0].tolist()
    assert right == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert mask.dtype == torch.float32 and mask.min() == torch.finfo(torch.float32).min


def test_tokenizer_without_mask_token_gets_one_and_says_so(dataset, tmp_path, capsys):
    model = tiny_llama(tmp_path / "bare", tokenizer=bare_tokenizer(), chat_template=CHAT_TEMPLATE)
    out = tmp_path / "r"
    code, _, err = run(
        ["evaluate", str(model), "--dataset", str(dataset), "--limit", "3", "--output-dir", str(out), "--modes", "pip", *FAST], capsys
    )
    assert code == 0, err
    assert "had no [mask] token; added one" in err
    data = results_of(out)
    assert data["model"]["mask_token_added"] and list(data["modes"]) == ["pip"] and data["speedup"] is None


def test_chat_template_wraps_the_prompt(dataset, tmp_path):
    model = tiny_llama(tmp_path / "chat", chat_template=CHAT_TEMPLATE)
    adapter = load_adapter(ModelSpec(str(model)))
    docs = load_eval_set(str(dataset), limit=2).documents
    _, prompts = adapter.ar_inputs(docs)
    assert prompts[0].startswith("<|user|><document>") and prompts[0].endswith("<|assistant|>")
    pip_prompt = _pip_batch(adapter, docs).prompts[0]
    assert "<|assistant|>" + next(iter(docs[0].gold)) + ": [mask]" in pip_prompt


def test_resume_skips_finished_documents(dataset, tmp_path):
    docs = load_eval_set(str(dataset), limit=6).documents
    cache = PredictionCache(tmp_path, {"mode": "ar", "model": "m"})
    seen: list[str] = []

    def answer(batch, fail_after: int | None = None):
        seen.extend(d.id for d in batch)
        if fail_after is not None and len(seen) > fail_after:
            raise KeyboardInterrupt
        return [Prediction(d.id, "p", "{}", dict.fromkeys(d.gold), 1) for d in batch]

    with pytest.raises(KeyboardInterrupt):
        predict(lambda b: answer(b, fail_after=4), docs, 2, cache, "ar")  # interrupted in the third batch
    finished = seen[:4]  # the two batches answered before the interrupt
    with cache.path.open("a") as fh:
        fh.write('{"id": "half-writ')  # a line cut by a crash is ignored
    seen.clear()
    predict(answer, docs, 2, cache, "ar")
    assert sorted(seen) == sorted({d.id for d in docs} - set(finished)) and len(seen) == 2
    preds = cache.collect(docs)
    assert [p.id for p in preds] == [d.id for d in docs]  # in the caller's order, whatever order the batches ran in


def test_processes_share_the_documents_left_and_any_process_count_resumes(dataset, tmp_path):
    """Each process predicts every count-th document still to do into a file of its own; reading takes all the
    files of the key, so a run of two processes resumes one of one process and the other way round."""
    docs = load_eval_set(str(dataset), limit=7).documents
    key = {"mode": "ar", "model": "m"}
    seen: dict[int, list[str]] = {0: [], 1: []}

    def answer(index: int):
        def run(batch):
            seen[index].extend(d.id for d in batch)
            return [Prediction(d.id, "p", "{}", dict.fromkeys(d.gold), 1) for d in batch]

        return run

    predict(answer(0), docs[:2], 2, PredictionCache(tmp_path, key), "ar")  # a one-process run stopped after 2
    seen[0].clear()
    barrier = threading.Barrier(2)  # two threads stand in for the processes, with the barrier they would share
    state = SimpleNamespace(wait_for_everyone=lambda: barrier.wait(timeout=60))
    threads = [
        threading.Thread(
            target=predict, args=(answer(i), docs, 2, PredictionCache(tmp_path, key, part=i), "ar", Processes(i, 2, state=state))
        )
        for i in (0, 1)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    left = [d.id for d in docs[2:]]
    assert sorted(seen[0] + seen[1]) == sorted(left) and abs(len(seen[0]) - len(seen[1])) <= 1
    assert not set(seen[0]) & set(seen[1])
    assert len(list((tmp_path / CACHE_DIR).glob("*.jsonl"))) == 3
    assert [p.id for p in PredictionCache(tmp_path, key).collect(docs)] == [d.id for d in docs]
    with pytest.raises(BenchError, match="no prediction for 1 documents"):
        PredictionCache(tmp_path, {"mode": "ar", "model": "other"}).collect(docs[:1])


def test_two_processes_give_the_results_of_one(dataset, llama, tmp_path):
    """A data-parallel run on CPU (torchrun, gloo): the same predictions and scores as one process, one results
    file written by the first process, which says how many processes shared the work."""
    args = ["--dataset", str(dataset), "--modes", "ar,pip", "--limit", "8", "--max-new-tokens", "6", "--timing-docs", "0", "--log-samples"]
    assert main(["evaluate", str(llama), *args, "--output-dir", str(tmp_path / "one")]) == 0
    cmd = ["torchrun", "--standalone", "--nproc_per_node", "2", "-m", "benchmark.cli", "evaluate", str(llama), *args]
    done = subprocess.run([*cmd, "--output-dir", str(tmp_path / "two")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (one,), (two,) = (list((tmp_path / d).glob("results_*.json")) for d in ("one", "two"))
    r1, r2 = json.loads(one.read_text()), json.loads(two.read_text())
    assert r1["environment"]["processes"] == 1 and r2["environment"]["processes"] == 2
    assert not schema_errors(r2)
    for mode in ("ar", "pip"):
        assert r1["modes"][mode]["metrics"] == r2["modes"][mode]["metrics"]
    parts = {p.name: len(p.read_text().splitlines()) for p in (tmp_path / "two" / CACHE_DIR).glob("*.jsonl")}
    assert sorted(name.split(".", 1)[1] for name in parts) == ["p0.jsonl", "p0.jsonl", "p1.jsonl", "p1.jsonl"]
    assert sorted(parts.values()) == [4, 4, 4, 4]  # each process predicted its half of the 8 documents, in both modes

    def outputs(folder: str) -> list[tuple[str, str, str]]:
        (samples,) = (tmp_path / folder).glob("samples_*.jsonl")
        return sorted((r["mode"], r["id"], r["output"]) for r in map(json.loads, samples.read_text().splitlines()))

    assert outputs("one") == outputs("two")


def test_batches_bucket_documents_by_doc_type_and_length(dataset):
    """Left padding to the longest row and PIP slots that only line up within a doc type: batches are bucketed."""
    docs = load_eval_set(str(dataset), limit=12).documents
    assert len({d.doc_type for d in docs}) > 1
    batches = bucketed_batches(docs, 5)
    flat = [d for batch in batches for d in batch]
    assert [len(b) for b in batches] == [5, 5, 2] and sorted(d.id for d in flat) == sorted(d.id for d in docs)
    assert [(d.doc_type, len(d.text)) for d in flat] == sorted((d.doc_type, len(d.text)) for d in docs)


def test_rerun_resumes_from_the_cache_of_the_same_harness_version(dataset, llama, tmp_path, capsys, monkeypatch):
    args = [
        "evaluate",
        str(llama),
        "--dataset",
        str(dataset),
        "--limit",
        "4",
        "--output-dir",
        str(tmp_path),
        "--timing-docs",
        "0",
        "--max-new-tokens",
        "4",
    ]
    assert run(args, capsys)[0] == 0
    first = [json.loads(p.read_text()) for p in tmp_path.glob("results_*.json")]
    for p in tmp_path.glob("results_*.json"):
        p.unlink()
    code, _, err = run(args, capsys)
    assert code == 0 and "4 of 4 documents already done" in err
    second = results_of(tmp_path)
    assert second["modes"]["ar"]["metrics"] == first[0]["modes"]["ar"]["metrics"] and second["modes"]["pip"]["timing"] is None
    for p in tmp_path.glob("results_*.json"):
        p.unlink()
    monkeypatch.setattr("benchmark.evaluate.__version__", "999.0.0")  # a new harness may read answers otherwise
    code, _, err = run(args, capsys)
    assert code == 0 and "already done" not in err


def test_modes_are_timed_interleaved(dataset):
    """Each document (and batch) runs in every mode before the next, so machine drift hits both modes alike."""
    calls: list[tuple[str, int]] = []
    runs = {mode: (lambda batch, mode=mode: calls.append((mode, len(batch)))) for mode in ("ar", "pip")}
    docs = load_eval_set(str(dataset)).documents
    timings = time_modes(runs, docs, EvalConfig(timing_docs=4, warmup=1, timing_batch_sizes=[1, 2]), torch.device("cpu"))
    assert calls[:2] == [("ar", 1), ("pip", 1)]  # warm-up
    timed = calls[2:10]
    assert timed == [("ar", 1), ("pip", 1)] * 4
    assert calls[10:] == [("ar", 2), ("pip", 2)] * 3  # warm-up at batch 2, then two batches of 2
    for mode in runs:
        assert timings[mode]["latency"]["n"] == 4 and set(timings[mode]["throughput"]) == {"1", "2"}
        assert sum(t["n"] for t in timings[mode]["latency_by_doc_type"].values()) == 4


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], {"timing_docs": 50, "timing_batch_sizes": [1, 8, 32], "warmup": 3}),
        (["--quick"], {"timing_docs": 10, "timing_batch_sizes": [1], "warmup": 1}),
        (["--quick", "--timing-docs", "3", "--timing-batch-sizes", "1,4"], {"timing_docs": 3, "timing_batch_sizes": [1, 4], "warmup": 1}),
        (["--warmup", "0"], {"timing_docs": 50, "timing_batch_sizes": [1, 8, 32], "warmup": 0}),
    ],
)
def test_quick_times_less_and_given_options_win(extra, expected):
    args = build_parser().parse_args(["evaluate", "m", "--dataset", "d", *extra])
    assert _timing(args) == expected
    assert EvalConfig(**_timing(build_parser().parse_args(["evaluate", "m", "--dataset", "d"]))) == EvalConfig()  # one source


def test_the_run_says_what_it_will_time(dataset, capsys):
    runs = {mode: (lambda batch: None) for mode in ("ar", "pip")}
    docs = load_eval_set(str(dataset)).documents
    time_modes(runs, docs, EvalConfig(timing_docs=2, warmup=0, timing_batch_sizes=[1, 2]), torch.device("cpu"))
    assert "timing ar + pip: 2 documents at batch 1, then batches of 2" in capsys.readouterr().err


def test_results_flag_uncommitted_code(tmp_path):
    """A result from a checkout whose code differs from its commit says so; docs or data do not count."""

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "benchmark").mkdir()
    (tmp_path / "benchmark" / "x.py").write_text("A = 1\n")
    (tmp_path / "README.md").write_text("r\n")
    assert "git_dirty" not in harness_info("c", tmp_path) and harness_info("c", tmp_path)["git_hash"] is None
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "c")
    clean = harness_info("pip-bench evaluate m", tmp_path)
    assert clean["git_dirty"] is False and len(clean["git_hash"]) == 40 and clean["command"] == "pip-bench evaluate m"
    (tmp_path / "README.md").write_text("edited\n")
    (tmp_path / "notes.txt").write_text("untracked\n")
    assert harness_info("c", tmp_path)["git_dirty"] is False
    (tmp_path / "benchmark" / "x.py").write_text("A = 2\n")
    assert harness_info("c", tmp_path)["git_dirty"] is True


def test_stratified_timing_sample_covers_every_doc_type(dataset):
    docs = load_eval_set(str(dataset)).documents
    sample = stratified(docs, 3)
    assert len(sample) == 3 and {d.doc_type for d in sample} == {d.doc_type for d in docs}


def test_vision_language_model_end_to_end_on_lazy_images(dataset, tmp_path, capsys):
    model = tiny_idefics3(tmp_path / "tiny-idefics3")
    out = tmp_path / "r"
    code, _, err = run(["evaluate", str(model), "--dataset", str(dataset), "--limit", "3", "--output-dir", str(out), *FAST], capsys)
    assert code == 0, err
    data = results_of(out)
    assert schema_errors(data) == [] and data["model"]["adapter"] == "vlm" and data["model"]["family"] == "idefics3"
    assert data["modes"]["pip"]["num_documents"] == 3


def test_builds_that_differ_only_in_images_do_not_share_cached_predictions(dataset, tmp_path, capsys):
    clean = tmp_path / "clean"  # the same documents and gold as ``dataset``, rendered without augmentations
    splits = (("train", 0.2), ("validation", 0.1), ("test", 0.7))
    build(
        BuildConfig(n=26, seed=5, splits=splits, image_format="none", width=256, calibration_docs=40, shard_size=13, augment=False),
        clean,
        workers=1,
    )
    model = tiny_idefics3(tmp_path / "tiny-idefics3")
    out = tmp_path / "r"
    args = ["--limit", "2", "--modes", "pip", "--output-dir", str(out), "--timing-docs", "0"]
    for ds in (dataset, clean):
        code, _, err = run(["evaluate", str(model), "--dataset", str(ds), *args], capsys)
        assert code == 0, err
        assert "already done" not in err  # the second build's images are new to the model
    fingerprints = {json.loads(p.read_text())["dataset"]["fingerprint"] for p in out.glob("results_*.json")}
    assert len(fingerprints) == 1  # same gold: the fingerprint alone cannot tell the two apart
    assert len(list((out / CACHE_DIR).glob("pip-*.jsonl"))) == 2


NATIVE_FLORENCE2 = pytest.mark.skipif(
    not hasattr(transformers, "Florence2ForConditionalGeneration"), reason="this transformers has no native Florence-2"
)


@pytest.mark.parametrize(
    ("build", "adapter"), [(tiny_donut, "vision-encoder-decoder"), pytest.param(tiny_florence2, "florence2", marks=NATIVE_FLORENCE2)]
)
def test_encoder_decoder_end_to_end(build, adapter, dataset, tmp_path, capsys):
    model = build(tmp_path / "tiny")
    out = tmp_path / "r"
    code, _, err = run(["evaluate", str(model), "--dataset", str(dataset), "--limit", "5", "--output-dir", str(out), *FAST], capsys)
    assert code == 0, err
    data = results_of(out)
    assert schema_errors(data) == [] and data["model"]["adapter"] == adapter and data["model"]["mask_token_added"] is False
    assert data["modes"]["pip"]["num_documents"] == 5 and data["modes"]["pip"]["timing"]["forward_passes_per_doc"] == 1.0
    assert len(data["dataset"]["doc_types"]) > 1  # mixed doc types in one batch: run per type, put back in order


@pytest.mark.parametrize("build", [tiny_donut, pytest.param(tiny_florence2, marks=NATIVE_FLORENCE2)])
def test_encoder_decoder_pip_with_causal_mask_reproduces_a_plain_decoder_pass(build, dataset, tmp_path):
    adapter = load_adapter(ModelSpec(str(build(tmp_path / "tiny"))))
    docs = [d for d in load_eval_set(str(dataset), images=True).documents if d.doc_type == "receipt"][:2]
    batch = _pip_batch(adapter, docs)
    with torch.inference_mode():
        rows = adapter.pip_forward(batch, "causal")
        plain = adapter.model(**batch.inputs).logits
        bidirectional = adapter.pip_forward(batch, "bidirectional")
    for row, positions, logits in zip(plain, batch.positions, rows, strict=True):
        torch.testing.assert_close(logits, row[[p - 1 for p in positions]], rtol=1e-4, atol=1e-4)
    assert not torch.allclose(rows[0][:5], bidirectional[0][:5], atol=1e-4)
    mixed = load_eval_set(str(dataset), limit=6, images=True).documents
    assert len({d.doc_type for d in mixed}) > 1
    for doc, result in zip(mixed, adapter.ar(mixed, max_new_tokens=2), strict=True):  # one generate per doc type
        assert result.prompt.startswith(ar_instruction(doc.doc_type)) and 1 <= result.new_tokens <= 2


def test_qwen2_vl_pip_passes_rope_positions_with_the_4d_mask(dataset):
    """Qwen2-VL's 3D rotary positions come from the 2D mask; with a 4D mask the adapter must supply them."""
    model, tokenizer, images = tiny_qwen2_vl()
    tokenizer.add_special_tokens({"additional_special_tokens": ["[mask]"]}, replace_additional_special_tokens=False)
    docs = load_eval_set(str(dataset), limit=2, images=True).documents
    pixels = images(images=[d.image.convert("RGB") for d in docs], return_tensors="pt")
    merge = model.config.vision_config.spatial_merge_size**2
    texts = [
        "<|vision_start|>" + "<|image_pad|>" * int(thw.prod() // merge) + "<|vision_end|>" + "total: " + "[mask]" * (3 + i)
        for i, thw in enumerate(pixels["image_grid_thw"])
    ]
    tokenizer.padding_side = "right"
    encoded = tokenizer(texts, return_tensors="pt", padding=True)
    inputs = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"], **pixels}
    adapter = Qwen2VLAdapter(ModelSpec("tiny"), model.config, model, tokenizer, False, processor=None)
    batch = Batch(inputs, slot_positions(inputs["input_ids"], adapter.mask_id), texts)
    with torch.inference_mode():
        rows = adapter.pip_forward(batch, "causal")
        plain = model(**inputs).logits
    for row, positions, logits in zip(plain, batch.positions, rows, strict=True):
        torch.testing.assert_close(logits, row[[p - 1 for p in positions]], rtol=1e-4, atol=1e-4)


def _missing_columns_dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    (folder / "data").mkdir(parents=True)
    Dataset.from_dict({"id": ["a"], "doc_type": ["receipt"], "words": [["x"]]}).to_parquet(folder / "data" / "test-00000-of-00001.parquet")
    return folder


def test_ar_draft_answers_as_greedy_ar_with_the_draft_named_in_the_results(dataset, llama, draft, tmp_path, capsys):
    out = tmp_path / "results"
    args = ["evaluate", str(llama), "--dataset", str(dataset), "--limit", "6", "--output-dir", str(out), "--log-samples"]
    code, _stdout, err = run([*args, "--modes", "ar,ar-draft,pip", "--draft-model", str(draft), *FAST, "--max-new-tokens", "24"], capsys)
    assert code == 0, err
    data = results_of(out)
    assert schema_errors(data) == [] and data["config"]["draft_model"].startswith("tiny-draft@")
    answers: dict[str, list[str]] = {}
    for row in map(json.loads, next(out.glob("samples_*.jsonl")).read_text().splitlines()):
        answers.setdefault(row["mode"], []).append(row["output"])
    assert answers["ar-draft"] == answers["ar"] and data["modes"]["ar-draft"]["same_output_as_ar"] == 6
    used = data["modes"]["ar-draft"]["generate"]["assistant_model"]
    assert used["id"] == data["config"]["draft_model"] and used["num_parameters"] > 0 and used["dtype"] == "float32"
    timing = data["modes"]["ar-draft"]["timing"]
    assert timing["forward_passes_per_doc"] < timing["tokens_per_doc"]  # the nudged draft's proposals are mostly taken
    assert "ar-draft" in data["speedup"]["by_ar_mode"]


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("no-draft", "--modes ar-draft needs --draft-model"),
        ("draft-unused", "--draft-model is used by the ar-draft mode only"),
        ("constrained-draft", "--ar-constraint grounded cannot run with ar-draft"),
        ("other-vocabulary", "its tokenizer differs from"),
    ],
)
def test_ar_draft_refuses_what_it_cannot_run(case, needle, dataset, llama, tmp_path, capsys):
    extra = {
        "no-draft": ["--modes", "ar,ar-draft"],
        "draft-unused": ["--modes", "ar", "--draft-model", str(llama)],
        "constrained-draft": ["--modes", "ar-draft", "--draft-model", str(llama), "--ar-constraint", "grounded"],
        "other-vocabulary": ["--modes", "ar-draft", "--draft-model", str(tmp_path / "other")],
    }[case]
    if case == "other-vocabulary":
        tiny_llama(tmp_path / "other", tokenizer=bare_tokenizer())
    code, _, err = run(
        ["evaluate", str(llama), "--dataset", str(dataset), "--limit", "2", "--output-dir", str(tmp_path / "out"), *extra], capsys
    )
    errors = [line for line in err.splitlines() if line.startswith("pip-bench: error:")]
    assert code == 2 and len(errors) == 1 and needle in errors[0], err


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("missing-model", "no such directory"),
        ("unknown-hub-model", "cannot load its config"),
        ("missing-columns", "missing required columns: line_ids, fields"),
        ("limit-0", "--limit must be at least 1"),
        ("unwritable", "not writable"),
        ("bad-mode", "unknown mode 'beam'"),
        ("missing-dataset", "no such directory"),
        ("repeated-mode", "--modes: pip given twice"),
        ("constrained-lookup", "--ar-constraint json cannot run with ar-lookup"),
        ("lookup-tokens-0", "--lookup-tokens must be at least 1"),
        ("truncated-weights", "cannot load the weights: Error while deserializing header"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, needle, dataset, llama, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, data, extra = str(llama), str(dataset), ["--output-dir", str(tmp_path / "out")]
    if case == "missing-model":
        model = str(tmp_path / "no-such-model")
    elif case == "unknown-hub-model":
        model = "no-such-org/no-such-model"
    elif case == "missing-columns":
        data = str(_missing_columns_dataset(tmp_path))
    elif case == "limit-0":
        extra += ["--limit", "0"]
    elif case == "unwritable":
        extra = ["--output-dir", "/proc/pip-bench-test"]
    elif case == "bad-mode":
        extra += ["--modes", "ar,beam"]
    elif case == "missing-dataset":
        data = str(tmp_path / "nope")
    elif case == "repeated-mode":
        extra += ["--modes", "pip,ar,pip"]
    elif case == "constrained-lookup":
        extra += ["--modes", "ar,ar-lookup", "--ar-constraint", "json"]
    elif case == "lookup-tokens-0":
        extra += ["--modes", "ar-lookup", "--lookup-tokens", "0"]
    elif case == "truncated-weights":
        model = str(tmp_path / "truncated")
        shutil.copytree(llama, model)
        weights = Path(model) / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a download cut short
    code, _, err = run(["evaluate", model, "--dataset", data, *extra], capsys)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("pip-bench: error:")]  # besides progress bars
    assert len(errors) == 1 and needle in errors[0] and "Traceback" not in err, err
    assert not list((tmp_path / "out").glob("results_*.json")) if (tmp_path / "out").exists() else True


def test_an_exception_without_a_message_is_named_by_its_type():
    from benchmark.errors import first_line

    assert first_line(ValueError()) == "ValueError" and first_line(OSError("disk\nfull")) == "disk"
